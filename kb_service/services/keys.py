"""API keys: only a hash is stored; the key itself is shown once, at creation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from sqlmodel import Session, select

from kb_service.errors import (
    NotFoundError,
    StorageUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from kb_service.models import ApiKey, Role, utcnow
from kb_service.validation import check_db_int, check_line, check_origins

KEY_PREFIX = "kb_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    session: Session, *, role: Role | str, name: str, origins: list[str] | None = None
) -> tuple[ApiKey, str]:
    """Returns the stored row and the plain key (which is never stored). A ``widget`` key
    needs the web origins it may be used from; other roles take none."""
    if not name.strip():
        raise ValidationFailed("A key needs a name, e.g. the team or bot that uses it.")
    check_line(name, "key name")
    try:
        role = Role(role)
    except ValueError as exc:
        roles = ", ".join(r.value for r in Role)
        raise ValidationFailed(f"Unknown role {role!r}; use one of {roles}.") from exc
    origins = sorted(set(origins or []))
    check_origins(origins)
    if (role == Role.widget) != bool(origins):
        raise ValidationFailed(
            "A widget key needs the web origins it may be used from "
            "(e.g. https://shop.example); other roles take none."
        )
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name.strip(), role=role, key_hash=hash_key(plain), prefix=plain[:10], origins=origins
    )
    session.add(row)
    session.commit()
    return row, plain


def authenticate(session: Session, key: str) -> ApiKey:
    """The active key matching ``key``, compared in constant time."""
    wanted = hash_key(key)
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == wanted)).first()
    # The lookup narrows by hash; the constant-time compare guards the final decision.
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, wanted):
        raise Unauthenticated("The API key is missing, unknown or revoked.")
    return row


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(ApiKey.id)))  # type: ignore[arg-type]


def revoke_key(session: Session, key_id: int) -> ApiKey:
    check_db_int(key_id, "key id")
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError(f"No API key with id {key_id}.")
    row.revoked_at = row.revoked_at or utcnow()
    session.add(row)
    session.commit()
    return row


def widget_origins(session: Session) -> frozenset[str]:
    """Every web origin listed by an active widget key (the CORS allow-list)."""
    rows = session.exec(
        select(ApiKey.origins).where(ApiKey.role == Role.widget, ApiKey.revoked_at == None)  # noqa: E711
    ).all()
    return frozenset(origin for origins in rows for origin in origins)


# While the database cannot be reached, a key checked against it in the last few minutes is
# still accepted, so searches keep being served from the in-memory index; writes and anything
# else that needs the database get the 503. (Nothing can be revoked while it is down.)
KEY_GRACE_SECONDS = 300.0


class CheckedKeys:
    """The keys this process has recently found active, so that most requests are let in
    without a database query (and, in the API, without a hop to a worker thread for it).

    A key found active is trusted for ``fresh_s`` seconds (``KB_KEY_CACHE_SECONDS``), then
    asked about again. A revocation made through this process (``forget``) takes effect at
    once; one made elsewhere (another worker or replica, ``kb keys revoke``) within
    ``fresh_s``. Why: under load the query and its thread hop were 2.5 to 5 ms of every answer.

    While the database cannot be reached, a key checked in the last ``grace_s`` seconds is
    still accepted. Keys never change but for their revocation, so each entry is a copy made
    once, owned by no session."""

    def __init__(self, fresh_s: float, grace_s: float = KEY_GRACE_SECONDS) -> None:
        self.fresh_s = fresh_s
        self.grace_s = grace_s
        self._checked: dict[str, tuple[float, ApiKey]] = {}  # by hash: (checked at, copy)

    def fresh(self, plain: str) -> ApiKey | None:
        """The key, if it was found active less than ``fresh_s`` seconds ago; else None."""
        checked_at, key = self._checked.get(hash_key(plain), (0.0, None))
        if key is None or time.monotonic() - checked_at >= self.fresh_s:
            return None
        return key

    def check(self, session: Session, plain: str) -> ApiKey:
        """Ask the database (``authenticate``); during an outage, a key checked lately."""
        digest = hash_key(plain)
        try:
            row = authenticate(session, plain)
        except StorageUnavailable:
            checked_at, kept = self._checked.get(digest, (0.0, None))
            if kept is None or time.monotonic() - checked_at > self.grace_s:
                raise
            return kept
        except Unauthenticated:
            self._checked.pop(digest, None)
            raise
        _, kept = self._checked.get(digest, (0.0, None))
        if kept is None or kept.id != row.id:
            kept = ApiKey.model_validate(row.model_dump())
        self._checked[digest] = (time.monotonic(), kept)
        return kept

    def forget(self, key_id: int) -> None:
        """A key revoked here: asked about again at its next use."""
        for digest, (_, key) in list(self._checked.items()):
            if key.id == key_id:
                self._checked.pop(digest, None)  # a request's thread may have dropped it
