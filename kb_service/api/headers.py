"""Security headers on every response, decided by path in one place.

Pages carry a Content-Security-Policy without inline script (the channel tools are external
module files, their styles are files too); agent tools and article pages may not be framed. The
chat widget's files are loaded by customers' sites, so they may be read cross-origin. Swagger UI
(`/docs`, `/redoc`) is FastAPI's page: an inline bootstrap script and files from a CDN, so it
gets a policy of its own that allows exactly that (it shows no untrusted content).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb_service.rendering.page import STYLE_SHA256


def _policy(**directives: str) -> str:
    return "; ".join(f"{name.replace('_', '-')} {value}" for name, value in directives.items())


_LOCKED = {"base_uri": "'none'", "object_src": "'none'", "frame_ancestors": "'none'"}
# The channel tools: their own files only; they talk to their own origin's API.
TOOL_POLICY = _policy(
    default_src="'self'",
    script_src="'self'",
    style_src="'self'",
    img_src="'self' data:",
    connect_src="'self'",
    form_action="'self'",
    **_LOCKED,
)
# Public article pages: no script at all; the page's one <style> element is allowed by its hash.
ARTICLE_POLICY = _policy(
    default_src="'none'",
    style_src=f"'sha256-{STYLE_SHA256}'",
    img_src="'self' data:",
    form_action="'none'",
    **_LOCKED,
)
_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = _policy(
    default_src="'self'",
    script_src=f"'self' 'unsafe-inline' {_CDN}",
    style_src=f"'self' {_CDN}",
    img_src="'self' data: https://fastapi.tiangolo.com",
    connect_src="'self'",
    **_LOCKED,
)
# JSON and everything else renders nothing.
API_POLICY = _policy(default_src="'none'", frame_ancestors="'none'")

# Embedded in customers' pages: the widget loader and the modules and styles it pulls in.
_CROSS_ORIGIN_PREFIXES = ("/widgets/chat/", "/widgets/shared/")
_DOCS_PATHS = ("/docs", "/redoc")


def headers_for(path: str) -> dict[str, str]:
    """The security headers of a response to ``path``."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    }
    if path.startswith("/widgets"):
        headers["Content-Security-Policy"] = TOOL_POLICY
        embeddable = path.startswith(_CROSS_ORIGIN_PREFIXES) and not path.endswith((".html", "/"))
        headers["Cross-Origin-Resource-Policy"] = "cross-origin" if embeddable else "same-origin"
        if embeddable:
            # Static public files: module scripts are fetched in CORS mode even by <script>.
            headers["Access-Control-Allow-Origin"] = "*"
    elif path.startswith("/kb/"):
        headers["Content-Security-Policy"] = ARTICLE_POLICY
    elif path.startswith(_DOCS_PATHS):
        headers["Content-Security-Policy"] = DOCS_POLICY
    else:
        headers["Content-Security-Policy"] = API_POLICY
    return headers


class SecurityHeadersMiddleware:
    """Adds ``headers_for(path)`` to every HTTP response; a header already set is kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
