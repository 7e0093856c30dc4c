"""The answer API: one canonical answer, rendered per channel, recorded in the ledger."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response, status

from kb_service.answer_schemas import (
    REQUEST_EXAMPLES,
    AnswerRequest,
    AnswerResponse,
    FeedbackPublic,
    FeedbackRequest,
)
from kb_service.api.deps import IndexDep, Reader, SessionDep, SettingsDep
from kb_service.api.problems import ERRORS
from kb_service.services import answering, ledger

router = APIRouter(prefix="/v1/answers", tags=["answers"])

_CANONICAL = {
    "article_id": "mobile-roaming",
    "key": "KB-0021",
    "version": 3,
    "locale": "pl-PL",
    "fallback_locale": False,
    "section_id": "9c2e…",
    "heading_path": ["Poza UE"],
    "title": "Roaming",
    "markdown": "Poza UE włącz pakiet dzienny za 5 EUR.",
    "content_hash": "3f5a…",
    "kb_revision": 57,
    "url": "http://localhost:8000/v1/articles/mobile-roaming/translations/pl-PL",
}
_RENDERINGS: dict[str, dict[str, Any]] = {
    "chat": {
        "channel": "chat",
        "markdown": "Poza UE włącz pakiet dzienny za 5 EUR.\n\n[Przeczytaj cały artykuł](…)",
        "html": "<p>Poza UE …</p>",
        "link": "…",
    },
    "email": {
        "channel": "email",
        "subject": "Odpowiedź: Roaming",
        "html": "<p>Dzień dobry,</p>…",
        "text": "Dzień dobry,\n\nPoza UE włącz pakiet dzienny za 5 EUR.\n…",
    },
    "phone": {
        "channel": "phone",
        "script": "Poza UE włącz pakiet dzienny za pięć euro. "
        "Numer artykułu to K B, zero zero dwa jeden.",
        "ssml": "<speak>…</speak>",
        "spoken_key": "K B, zero zero dwa jeden",
        "estimated_seconds": 8.5,
    },
    "social": {"channel": "social", "text": "Poza UE włącz pakiet dzienny za 5 EUR. …"},
}


def _response_example(channel: str) -> dict[str, Any]:
    return {
        "summary": channel.capitalize(),
        "value": {
            "answer_id": "6f1d0c1e-…",
            "created_at": "2026-11-23T10:00:00Z",
            "status": "answered",
            "confidence": 0.82,
            "channel": channel,
            "question": "Ile kosztuje roaming poza UE?",
            "language": "pl",
            "kb_revision": 57,
            "answer": _CANONICAL,
            "alternatives": [],
            "rendering": _RENDERINGS[channel],
            "handoff": None,
            "previously_told": [],
        },
    }


@router.post(
    "",
    summary="Answer a question for a channel",
    status_code=status.HTTP_200_OK,
    response_model=AnswerResponse,
    responses={
        **ERRORS,
        200: {
            "content": {
                "application/json": {"examples": {c: _response_example(c) for c in _RENDERINGS}}
            }
        },
    },
)
def create_answer(
    request: Annotated[AnswerRequest, Body(openapi_examples=REQUEST_EXAMPLES)],
    session: SessionDep,
    index: IndexDep,
    settings: SettingsDep,
    key: Reader,
) -> Response:
    """The canonical answer (same for every channel), this channel's rendering, and what the
    customer was told before on any channel. Below the channel's confidence threshold the
    status is `no_answer` with a handoff suggestion. Recorded before the response leaves."""
    _, body = answering.answer(session, index, settings, request, key.role)
    return Response(content=body, media_type="application/json")


@router.get(
    "/{answer_id}",
    summary="Replay an answer",
    response_model=AnswerResponse,
    responses={
        **ERRORS,
        200: {"content": {"application/json": {"example": _response_example("chat")["value"]}}},
    },
)
def get_answer(answer_id: str, session: SessionDep, _: Reader) -> Response:
    """Exactly the JSON that was sent, even after newer versions were published."""
    row = ledger.get_record(session, answer_id)
    return Response(content=row.response_json, media_type="application/json")


@router.post(
    "/{answer_id}/feedback",
    summary="Rate an answer",
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
def feedback(
    answer_id: str, body: FeedbackRequest, session: SessionDep, _: Reader
) -> FeedbackPublic:
    """Helpful or not, from any channel; shows on the article and feeds the gap report."""
    row = ledger.add_feedback(
        session, answer_id=answer_id, helpful=body.helpful, reason=body.reason, channel=body.channel
    )
    return FeedbackPublic.model_validate(row, from_attributes=True)
