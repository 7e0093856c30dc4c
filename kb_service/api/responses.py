"""JSON responses that a route serialises itself, with where its time went for staff."""

from __future__ import annotations

from fastapi import Response

from indexer import timing
from kb_service.services import access
from kb_service.services.access import Viewer


def timed_json(body: str, viewer: Viewer, timings: dict[str, float]) -> Response:
    """``body`` as sent: the route serialised its model itself, so FastAPI does not validate it
    a second time on one more hop to a worker thread. ``Server-Timing`` only for viewers who
    may see the service's insides (``access.sees_timings``)."""
    headers = {}
    if access.sees_timings(viewer):
        headers["Server-Timing"] = timing.server_timing(timings)
    return Response(content=body, media_type="application/json", headers=headers)
