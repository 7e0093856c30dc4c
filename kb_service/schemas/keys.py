"""Shapes of ``/v1/keys``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from kb_service.models import Role
from kb_service.schemas.common import RequestBody
from kb_service.validation import Line, Origin

_KEY_EXAMPLE: dict[str, JsonValue] = {
    "id": 7,
    "name": "chat-team",
    "role": "agent",
    "prefix": "kb_Xf3a9Qz",
    "created_at": "2026-11-23T10:00:00Z",
    "revoked_at": None,
    "origins": [],
}


class KeyCreate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            # Stated in the document too: origins go with widget keys, and only with them.
            "allOf": [
                {
                    "if": {"properties": {"role": {"const": "widget"}}},
                    "then": {"required": ["origins"], "properties": {"origins": {"minItems": 1}}},
                    "else": {"properties": {"origins": {"maxItems": 0}}},
                }
            ],
            "examples": [
                {"role": "agent", "name": "chat-team"},
                {"role": "widget", "name": "shop-chat", "origins": ["https://shop.example"]},
            ],
        }
    )
    role: Role
    name: Line = Field(min_length=1, max_length=100)
    origins: list[Origin] = Field(
        default_factory=list,
        max_length=50,
        description="For a `widget` key (required there, refused elsewhere): the web origins "
        "whose pages may use it, e.g. https://shop.example. Requests from other origins get "
        "403; the API answers CORS preflights for these origins.",
    )


class KeyPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_KEY_EXAMPLE]})
    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    origins: list[str]


class KeyCreated(KeyPublic):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_KEY_EXAMPLE, "key": "kb_Xf3a9Qz…"}]}
    )
    key: str = Field(description="The key itself: shown this once, store it safely.")
