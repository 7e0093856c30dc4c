"""The channel tools and the editors' console (`widgets/`): static files at `/widgets`, thin
clients of the public API. `/console/` is the console's short address: a redirect to
`/widgets/console/`, so its modules share `widgets/shared/` with the tools (one static-files
mount, one Content-Security-Policy). Browsers keep the `#key=...` fragment across it."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

log = logging.getLogger(__name__)
PREFIX = "/widgets"
CONSOLE = f"{PREFIX}/console/"


def mount(app: FastAPI, directory: Path) -> None:
    """Serve ``directory`` at ``/widgets`` (``index.html`` for folders); skip it if absent, so an
    API-only install still starts."""
    if not (directory / "index.html").is_file():
        log.warning("no channel tools at %s; %s is not served", directory, PREFIX)
        return
    app.mount(PREFIX, StaticFiles(directory=directory, html=True), name="widgets")
    if (directory / "console" / "index.html").is_file():
        for path in ("/console", "/console/"):
            app.add_api_route(path, _to_console, methods=["GET"], include_in_schema=False)


async def _to_console(request: Request) -> RedirectResponse:
    query = request.url.query  # ?lang=pl is part of the page contract; the fragment stays anyway
    return RedirectResponse(f"{CONSOLE}?{query}" if query else CONSOLE, status_code=308)
