"""API keys (admin only). The key itself is returned once, at creation."""

from __future__ import annotations

from fastapi import APIRouter, status

from kb_service.api.deps import Admin, CheckedKeysDep, SessionDep
from kb_service.api.problems import ERRORS
from kb_service.schemas.keys import KeyCreate, KeyCreated, KeyPublic
from kb_service.services import keys
from kb_service.validation import DbInt

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an API key", responses=ERRORS)
def create_key(body: KeyCreate, session: SessionDep, _: Admin) -> KeyCreated:
    """Only the key's hash is stored; copy `key` from this response.

    A `widget` key is for the chat widget on customers' web pages: it may only ask for answers
    and rate them, never sees internal articles, works only from its `origins` and is
    rate-limited per client address (`KB_WIDGET_RATE_LIMIT`)."""
    row, plain = keys.create_key(session, role=body.role, name=body.name, origins=body.origins)
    return KeyCreated(**KeyPublic.model_validate(row, from_attributes=True).model_dump(), key=plain)


@router.get("", summary="List API keys", responses=ERRORS)
def list_keys(session: SessionDep, _: Admin) -> list[KeyPublic]:
    """Names, roles and prefixes; never the keys."""
    return [KeyPublic.model_validate(k, from_attributes=True) for k in keys.list_keys(session)]


@router.delete("/{key_id}", summary="Revoke an API key", responses=ERRORS)
def revoke_key(key_id: DbInt, session: SessionDep, checked: CheckedKeysDep, _: Admin) -> KeyPublic:
    """The key stops working at once on the process that revoked it, and within
    `KB_KEY_CACHE_SECONDS` (default 1 s) on the other workers and replicas."""
    row = keys.revoke_key(session, key_id)
    checked.forget(key_id)
    return KeyPublic.model_validate(row, from_attributes=True)
