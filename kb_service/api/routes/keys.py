"""API keys (admin only). The key itself is returned once, at creation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from kb_service.api.deps import Admin, SessionDep
from kb_service.api.problems import ERRORS
from kb_service.models import MAX_ID
from kb_service.schemas.keys import KeyCreate, KeyCreated, KeyPublic
from kb_service.services import keys

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an API key", responses=ERRORS)
def create_key(body: KeyCreate, session: SessionDep, _: Admin) -> KeyCreated:
    """Only the key's hash is stored; copy `key` from this response."""
    row, plain = keys.create_key(session, role=body.role, name=body.name)
    return KeyCreated(**KeyPublic.model_validate(row, from_attributes=True).model_dump(), key=plain)


@router.get("", summary="List API keys", responses=ERRORS)
def list_keys(session: SessionDep, _: Admin) -> list[KeyPublic]:
    """Names, roles and prefixes; never the keys."""
    return [KeyPublic.model_validate(k, from_attributes=True) for k in keys.list_keys(session)]


@router.delete("/{key_id}", summary="Revoke an API key", responses=ERRORS)
def revoke_key(
    key_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep, _: Admin
) -> KeyPublic:
    """The key stops working at once."""
    return KeyPublic.model_validate(keys.revoke_key(session, key_id), from_attributes=True)
