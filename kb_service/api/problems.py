"""The edge: every error leaves as ``application/problem+json`` (RFC 9457), never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb_service.errors import KbError, PayloadTooLarge

log = logging.getLogger(__name__)
PROBLEM_TYPE_BASE = "https://kb-service.example/problems/"
MEDIA_TYPE = "application/problem+json"


def _documented(description: str) -> dict[str, Any]:
    example = {
        "type": PROBLEM_TYPE_BASE + "...",
        "title": description,
        "status": 400,
        "detail": "What went wrong and how to fix it.",
        "instance": "/v1/...",
    }
    return {"description": description, "content": {MEDIA_TYPE: {"example": example}}}


# The errors every protected route documents in OpenAPI.
ERRORS: dict[int | str, dict[str, Any]] = {
    401: _documented("Missing or invalid API key"),
    429: _documented("A widget key over its rate limit (see Retry-After)"),
    403: _documented("The key's role may not do this"),
    404: _documented("Unknown article, locale, version, answer or customer"),
    409: _documented("Illegal workflow step or duplicate"),
    413: _documented("Request body over the configured limit"),
    422: _documented("Invalid body, parameter or article"),
}


def problem_response(
    status: int, title: str, detail: str, slug: str, instance: str, **extra: Any
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
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if "retry_after" in extra:  # seconds, in the body and as the standard header
        headers["Retry-After"] = str(extra["retry_after"])
    return JSONResponse(
        jsonable_encoder(body), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


async def _kb_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KbError)
    return problem_response(
        exc.status, exc.title, exc.detail, exc.slug, request.url.path, **exc.extra
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
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http")
    return problem_response(
        exc.status_code, str(exc.detail), str(exc.detail), slug, request.url.path
    )


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
    app.add_exception_handler(Exception, _unexpected)


class BodyLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413, whether or not Content-Length is sent."""

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
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise PayloadTooLarge(f"The request body is over {self.max_bytes} bytes.")
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            PayloadTooLarge.title,
            f"The request body is over {self.max_bytes} bytes.",
            PayloadTooLarge.slug,
            scope.get("path", ""),
        )
        await response(scope, receive, send)
