"""What a customer was told across channels, and the right to erasure."""

from __future__ import annotations

from fastapi import APIRouter

from kb_service.api.deps import Admin, CustomerReader, IndexDep, SessionDep
from kb_service.api.problems import ERRORS
from kb_service.schemas.customers import Erasure, Timeline
from kb_service.services import ledger
from kb_service.validation import CustomerId

router = APIRouter(prefix="/v1/customers", tags=["customers"])


@router.get(
    "/{customer_id}/timeline",
    summary="What the customer was told",
    responses=ERRORS,
)
def get_timeline(customer_id: CustomerId, session: SessionDep, viewer: CustomerReader) -> Timeline:
    """Answers on every channel, newest first; `changed_since` marks articles updated since.

    Staff keys only (agent, editor, reviewer, admin); a `bot` key gets 403."""
    entries = ledger.timeline(session, customer_id, include_internal=viewer.internal)
    return Timeline(customer_id=customer_id, entries=entries)


@router.delete(
    "/{customer_id}",
    summary="Erase a customer's records",
    responses=ERRORS,
)
def erase(customer_id: CustomerId, session: SessionDep, index: IndexDep, _: Admin) -> Erasure:
    """Right to erasure: the records go, and the phrasings learned from the customer's
    questions; only anonymous per-day counts remain."""
    answers, feedback = ledger.erase_customer(session, customer_id)
    index.refresh_phrasings()
    return Erasure(customer_id=customer_id, erased_answers=answers, erased_feedback=feedback)
