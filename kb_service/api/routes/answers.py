"""The answer API: one canonical answer, rendered per channel, recorded in the ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from indexer import timing
from kb_service.api.deps import (
    Asker,
    CommitterDep,
    CurrentKey,
    IndexDep,
    RateableAnswer,
    SessionDep,
    SettingsDep,
    VisibleAnswer,
)
from kb_service.api.problems import ERRORS
from kb_service.api.responses import timed_json
from kb_service.schemas.answers import (
    REQUEST_EXAMPLES,
    AnswerRequest,
    AnswerResponse,
    FeedbackPublic,
    FeedbackRequest,
    LearnedPhrasing,
)
from kb_service.services import answering, ledger, phrasings

router = APIRouter(prefix="/v1/answers", tags=["answers"])


@router.post(
    "",
    summary="Answer a question for a channel",
    status_code=status.HTTP_200_OK,
    response_model=AnswerResponse,
    responses=ERRORS,
)
def create_answer(
    request: Annotated[AnswerRequest, Body(openapi_examples=REQUEST_EXAMPLES)],
    session: SessionDep,
    index: IndexDep,
    settings: SettingsDep,
    viewer: Asker,
    committer: CommitterDep,
) -> Response:
    """The canonical answer (same for every channel), this channel's rendering, and what the
    customer was told before on any channel. Below the channel's confidence threshold the
    status is `no_answer` with a handoff suggestion. Recorded before the response leaves.

    Any key but `widget` keys' origins are checked. For a public key (`bot`, `widget`) or on a
    public channel (`social`) the answer names no internal article anywhere: not as the
    answer, an alternative, nor in `previously_told` (which a public key never gets).
    A `widget` key works only from its listed web origins and within its rate limit (429).

    For staff keys (not `bot`, `widget`) the `Server-Timing` header says where the answer's
    time went, in ms: `queue` (waiting for the model), `encode`, `search`, `render`, `record`
    (the ledger, commit included) and `app` (the whole handler)."""
    with timing.collecting() as timings, timing.timed("app"):
        _, body = answering.answer(session, index, settings, request, viewer, committer)
    return timed_json(body, viewer, timings)


@router.get(
    "/{answer_id}",
    summary="Replay an answer",
    response_model=AnswerResponse,
    responses=ERRORS,
)
def get_answer(answer_id: str, row: VisibleAnswer) -> Response:
    """Exactly the JSON that was sent, even after newer versions were published.

    Any reading key but `widget`; to a `bot` key an answer that names an internal article is
    404."""
    return Response(content=row.response_json, media_type="application/json")


@router.post(
    "/{answer_id}/feedback",
    summary="Rate an answer",
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
def feedback(
    answer_id: str,
    body: FeedbackRequest,
    session: SessionDep,
    index: IndexDep,
    answer: RateableAnswer,
    key: CurrentKey,
) -> FeedbackPublic:
    """Helpful or not, from any channel; shows on the article and feeds the gap report.

    Every rating is also a lesson: with `helpful: true` the question becomes a learned
    *phrasing* of the answered section; with `helpful: false` and `correct_article_id` (and
    optionally `correct_section_id`), of the article that should have answered. The next
    customer who asks it another way, in any language, gets that section within seconds. The
    stored question keeps no customer id, and e-mail addresses and digits are masked. From
    staff keys a phrasing takes effect at once; from `bot` and `widget` keys it waits as a
    suggestion until an editor accepts it (`/v1/phrasings`).

    Any key that may ask (`widget` included), on an answer naming only what it may see (else
    404); a public key may name only a public article as the correction (else 422)."""
    correction = (
        phrasings.Correction(body.correct_article_id, body.correct_section_id)
        if body.correct_article_id is not None
        else None
    )
    learned = phrasings.learn(
        session,
        index.embedder,
        index.current,
        answer,
        role=key.role,
        helpful=body.helpful,
        correction=correction,
    )
    row = ledger.add_feedback(
        session, answer, helpful=body.helpful, reason=body.reason, channel=body.channel
    )
    if learned is not None:
        index.refresh_phrasings()
    result = FeedbackPublic.model_validate(row, from_attributes=True)
    if learned is not None:
        assert learned.id is not None
        result.phrasing = LearnedPhrasing(
            id=learned.id, status=learned.status.value, article_id=learned.article_id
        )
    return result
