"""CORS for the chat widget: a web origin is allowed while an active widget key lists it.

Starlette's ``CORSMiddleware`` does the protocol (preflights, ``Vary: Origin``); only its
question "is this origin allowed?" is answered here, from the keys, so an origin added with
``kb keys create --role widget --origin ...`` works within seconds, without a restart. CORS only
lets the browser read the response: the key check (``api.deps.current_key``) still refuses a
widget key from an origin it does not list.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from kb_service.services import keys

ORIGINS_TTL_SECONDS = 10.0


class WidgetOrigins:
    """The allow-list, read from the keys at most every ``ttl`` seconds."""

    def __init__(self, ttl: float = ORIGINS_TTL_SECONDS) -> None:
        self.engine: Engine | None = None  # set in the lifespan, once the database is open
        self.ttl = ttl
        self._origins: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def allows(self, origin: str) -> bool:
        with self._lock:
            if self.engine is not None and time.monotonic() - self._read_at > self.ttl:
                with Session(self.engine) as session:
                    self._origins = keys.widget_origins(session)
                self._read_at = time.monotonic()
            return origin in self._origins


class WidgetCorsMiddleware(CORSMiddleware):
    def __init__(self, app: ASGIApp, origins: WidgetOrigins) -> None:
        super().__init__(
            app,
            allow_origins=[],
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Retry-After"],
            max_age=600,
        )
        self.origins = origins

    def is_allowed_origin(self, origin: str) -> bool:
        return self.origins.allows(origin)
