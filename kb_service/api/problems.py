"""The edge: every error leaves as ``application/problem+json`` (RFC 9457), never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb_service.errors import KbError, Overloaded, PayloadTooLarge

log = logging.getLogger(__name__)
PROBLEM_TYPE_BASE = "https://kb-service.example/problems/"
MEDIA_TYPE = "application/problem+json"


# What every problem body looks like (RFC 9457); validation errors add ``errors``.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _documented(
    status: int, description: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    example = {
        "type": PROBLEM_TYPE_BASE + "...",
        "title": description,
        "status": status,
        "detail": "What went wrong and how to fix it.",
        "instance": "/v1/...",
    }
    media = {"schema": PROBLEM_SCHEMA, "example": example}
    return {"description": description, "content": {MEDIA_TYPE: media}} | (
        {"headers": headers} if headers else {}
    )


# Every status the edge can answer a request with, documented once. Protected routes list them
# all (a given route may never produce some, e.g. 409 on a read); public ones a subset (below).
ERRORS: dict[int | str, dict[str, Any]] = {
    400: _documented(400, "Unreadable request body (not UTF-8 JSON)"),
    401: _documented(401, "Missing or invalid API key"),
    403: _documented(403, "The key's role may not do this"),
    404: _documented(404, "Unknown article, locale, version, answer or customer"),
    409: _documented(409, "Illegal workflow step or duplicate"),
    413: _documented(413, "Request body over the configured limit"),
    422: _documented(422, "Invalid body, parameter or article"),
    429: _documented(429, "A widget key over its rate limit: retry after Retry-After", RETRY_AFTER),
    503: _documented(
        503, "Overloaded or storage unavailable: retry after Retry-After seconds", RETRY_AFTER
    ),
}


def edge_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented errors of a route without a key or a body (health, public pages)."""
    return {status: ERRORS[status] for status in statuses}


def problem_response(
    status: int,
    title: str,
    detail: str,
    slug: str,
    instance: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    # Extension members never override the standard ones (RFC 9457, section 3.2).
    body = {
        **extra,
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse(
        jsonable_encoder(body), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


async def _kb_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KbError)
    return problem_response(
        exc.status,
        exc.title,
        exc.detail,
        exc.slug,
        request.url.path,
        headers=exc.headers(),
        **exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(p) for p in first["loc"])
    return problem_response(
        422, "Invalid input", f"{where}: {first['msg']}", "invalid", request.url.path, errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    slug = {400: "bad-request", 404: "not-found", 405: "method-not-allowed"}.get(status, "http")
    title, detail = str(exc.detail), str(exc.detail)
    headers = dict(exc.headers or {})
    if status == 405:
        # RFC 9110: a 405 lists the methods the resource has: every route of the path, not
        # only the first one the router tried.
        headers["Allow"] = _allowed_methods(request)
        detail = f"{request.method} is not allowed here; use {headers['Allow']}."
    elif status == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        title = "Bad request"
        detail = "The request body is not UTF-8; send JSON as UTF-8 (RFC 8259)."
    return problem_response(status, title, detail, slug, request.url.path, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> str:
    """The methods some route answers on this path, asked of the router itself."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    )


async def _pool_timeout(request: Request, exc: Exception) -> JSONResponse:
    """No database connection came free in time (KB_DB_POOL_TIMEOUT): shed, don't fail."""
    log.warning("no database connection free in time on %s: %s", request.url.path, exc)
    settings = getattr(request.app.state, "settings", None)
    error = Overloaded(
        "No database connection came free in time; retry shortly.",
        retry_after=settings.retry_after_seconds if settings else 1,
    )
    return await _kb_error(request, error)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path)
    return problem_response(
        500,
        "Internal error",
        "Something went wrong on our side; it has been logged.",
        "internal",
        request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(KbError, _kb_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    app.add_exception_handler(Exception, _unexpected)


class BodyLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413, whether or not Content-Length is sent.

    The body is read here, up to the limit, before the app sees the request: a chunked body
    that grows past the limit is answered 413 by this middleware itself. (Raising inside
    ``receive`` instead would reach the app's body parser, which turns any error while reading
    into 400.) The app gets the body it would have read anyway, bounded by ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:  # later calls wait for the disconnect, as with the server's receive
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            PayloadTooLarge.title,
            f"The request body is over {self.max_bytes} bytes.",
            PayloadTooLarge.slug,
            scope.get("path", ""),
        )
        await response(scope, receive, send)
