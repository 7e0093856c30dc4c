"""The channel tools (`widgets/`): static files at `/widgets`, thin clients of the public API."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

log = logging.getLogger(__name__)
PREFIX = "/widgets"


def mount(app: FastAPI, directory: Path) -> None:
    """Serve ``directory`` at ``/widgets`` (``index.html`` for folders); skip it if absent, so an
    API-only install still starts."""
    if not (directory / "index.html").is_file():
        log.warning("no channel tools at %s; %s is not served", directory, PREFIX)
        return
    app.mount(PREFIX, StaticFiles(directory=directory, html=True), name="widgets")
