"""What a customer was told across channels, and the right to erasure."""

from __future__ import annotations

from fastapi import APIRouter

from kb_service.answer_schemas import Erasure, Timeline
from kb_service.api.deps import Admin, Reader, SessionDep
from kb_service.api.problems import ERRORS
from kb_service.services import ledger

router = APIRouter(prefix="/v1/customers", tags=["customers"])

_TIMELINE = {
    "customer_id": "cust-1042",
    "entries": [
        {
            "answer_id": "6f1d0c1e-…",
            "channel": "chat",
            "created_at": "2026-11-23T10:00:00Z",
            "question": "Ile kosztuje roaming poza UE?",
            "article_id": "mobile-roaming",
            "key": "KB-0021",
            "version": 3,
            "locale": "pl-PL",
            "content_hash": "3f5a…",
            "current_version": 4,
            "changed_since": True,
        }
    ],
}


@router.get(
    "/{customer_id}/timeline",
    summary="What the customer was told",
    responses={**ERRORS, 200: {"content": {"application/json": {"example": _TIMELINE}}}},
)
def get_timeline(customer_id: str, session: SessionDep, _: Reader) -> Timeline:
    """Answers on every channel, newest first; `changed_since` marks articles updated since."""
    return Timeline(customer_id=customer_id, entries=ledger.timeline(session, customer_id))


@router.delete(
    "/{customer_id}",
    summary="Erase a customer's records",
    responses={
        **ERRORS,
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "customer_id": "cust-1042",
                        "erased_answers": 4,
                        "erased_feedback": 1,
                    }
                }
            }
        },
    },
)
def erase(customer_id: str, session: SessionDep, _: Admin) -> Erasure:
    """Right to erasure: the records go; only anonymous per-day counts remain."""
    answers, feedback = ledger.erase_customer(session, customer_id)
    return Erasure(customer_id=customer_id, erased_answers=answers, erased_feedback=feedback)
