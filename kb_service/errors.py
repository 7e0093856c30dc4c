"""The one exception family of kb-service.

Services raise these; the HTTP edge (``kb_service.api.problems``) turns each into an
``application/problem+json`` response (RFC 9457) and the CLI prints ``title: detail``.

    KbError                      500  (never raised on purpose)
     ├── NotFoundError           404  unknown article, version, answer, key ...
     ├── WorkflowError           409  an illegal workflow step (e.g. publish a draft)
     ├── ConflictError           409  a duplicate (article id already taken ...)
     ├── ValidationFailed        422  an invalid body, front matter or article
     ├── PayloadTooLarge         413  a body over KB_MAX_BODY_BYTES
     ├── Unauthenticated         401  missing or unknown API key
     ├── Forbidden               403  the key's role may not do this (or not from this origin)
     ├── RateLimited             429  a widget key over its rate limit; sent with Retry-After
     ├── IndexMismatchError      503  the index on disk was built with other settings
     ├── StorageUnavailable      503  the database or data folder cannot be written or is gone;
     │                                sent with Retry-After
     └── Overloaded              503  too many requests in flight, or no database connection
                                      free in time; sent with Retry-After
"""

from __future__ import annotations

from typing import Any, ClassVar


class KbError(Exception):
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"
    slug: ClassVar[str] = "internal"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def headers(self) -> dict[str, str]:
        """HTTP headers the problem response carries besides its body."""
        return {}


class NotFoundError(KbError):
    status, title, slug = 404, "Not found", "not-found"


class WorkflowError(KbError):
    status, title, slug = 409, "Illegal workflow step", "workflow"


class ConflictError(KbError):
    status, title, slug = 409, "Conflict", "conflict"


class ValidationFailed(KbError):
    status, title, slug = 422, "Invalid input", "invalid"


class PayloadTooLarge(KbError):
    status, title, slug = 413, "Payload too large", "too-large"


class Unauthenticated(KbError):
    status, title, slug = 401, "Missing or invalid API key", "unauthenticated"


class Forbidden(KbError):
    status, title, slug = 403, "Forbidden for this role", "forbidden"


class IndexMismatchError(KbError):
    status, title, slug = 503, "Index does not match the settings", "index-mismatch"


class RetryLater(KbError):
    """An error the client should retry after ``retry_after`` seconds (the Retry-After header)."""

    def __init__(self, detail: str, *, retry_after: int = 1, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class StorageUnavailable(RetryLater):
    """Read-only or full disk, an I/O error, a database file deleted or replaced under us."""

    status, title, slug = 503, "Storage unavailable", "storage-unavailable"


class Overloaded(RetryLater):
    """Shed load: too many requests in flight, or no database connection free in time."""

    status, title, slug = 503, "Overloaded", "overloaded"


class RateLimited(RetryLater):
    status, title, slug = 429, "Too many requests", "rate-limited"
