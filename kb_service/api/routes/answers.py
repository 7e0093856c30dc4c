"""The answer API: one canonical answer, rendered per channel, recorded in the ledger."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from kb_service.api.deps import (
    Asker,
    IndexDep,
    RateableAnswer,
    SessionDep,
    SettingsDep,
    VisibleAnswer,
)
from kb_service.api.problems import ERRORS
from kb_service.schemas.answers import (
    REQUEST_EXAMPLES,
    AnswerRequest,
    AnswerResponse,
    FeedbackPublic,
    FeedbackRequest,
)
from kb_service.services import answering, ledger

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
) -> Response:
    """The canonical answer (same for every channel), this channel's rendering, and what the
    customer was told before on any channel. Below the channel's confidence threshold the
    status is `no_answer` with a handoff suggestion. Recorded before the response leaves.

    Any key but `widget` keys' origins are checked. For a public key (`bot`, `widget`) or on a
    public channel (`social`) the answer names no internal article anywhere: not as the
    answer, an alternative, nor in `previously_told` (which a public key never gets).
    A `widget` key works only from its listed web origins and within its rate limit (429)."""
    _, body = answering.answer(session, index, settings, request, viewer)
    return Response(content=body, media_type="application/json")


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
    answer_id: str, body: FeedbackRequest, session: SessionDep, answer: RateableAnswer
) -> FeedbackPublic:
    """Helpful or not, from any channel; shows on the article and feeds the gap report.

    Any key that may ask (`widget` included), on an answer naming only what it may see (else
    404)."""
    row = ledger.add_feedback(
        session, answer, helpful=body.helpful, reason=body.reason, channel=body.channel
    )
    return FeedbackPublic.model_validate(row, from_attributes=True)
