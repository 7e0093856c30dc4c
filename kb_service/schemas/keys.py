"""Shapes of ``/v1/keys``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from kb_service.models import Role
from kb_service.schemas.common import RequestBody
from kb_service.validation import Line

_KEY_EXAMPLE: dict[str, JsonValue] = {
    "id": 7,
    "name": "chat-team",
    "role": "agent",
    "prefix": "kb_Xf3a9Qz",
    "created_at": "2026-11-23T10:00:00Z",
    "revoked_at": None,
}


class KeyCreate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"role": "agent", "name": "chat-team"}]}
    )
    role: Role
    name: Line = Field(min_length=1, max_length=100)


class KeyPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_KEY_EXAMPLE]})
    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyPublic):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_KEY_EXAMPLE, "key": "kb_Xf3a9Qz…"}]}
    )
    key: str = Field(description="The key itself: shown this once, store it safely.")
