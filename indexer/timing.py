"""Where one request's time goes: named durations in milliseconds, for ``Server-Timing``.

The service opens a collector for a request (``collecting``); the steps on its path add to it
(``add``, ``timed``) from the thread the request runs on (anyio copies the request's context
into its worker thread). The encode batcher's own thread adds nothing: it hands each caller the
duration of the model call its question was in, and the caller adds it. Outside a collector
nothing is kept, so the indexer's callers that do not ask (builds, benches) pay nothing.

Names used: ``queue`` (waiting for the model), ``encode`` (the model call the question was in),
``search`` (the hybrid search besides encoding), ``render``, ``record`` (the ledger, commit
included) and ``app`` (the whole handler).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["add", "collecting", "parse_server_timing", "server_timing", "timed"]

_current: ContextVar[dict[str, float] | None] = ContextVar("kb_timings", default=None)


@contextmanager
def collecting() -> Iterator[dict[str, float]]:
    """A fresh collector for the code inside the block (and the threads it hands context to)."""
    timings: dict[str, float] = {}
    token = _current.set(timings)
    try:
        yield timings
    finally:
        _current.reset(token)


def add(name: str, milliseconds: float) -> None:
    timings = _current.get()
    if timings is not None:
        timings[name] = timings.get(name, 0.0) + max(milliseconds, 0.0)


@contextmanager
def timed(name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        add(name, (time.perf_counter() - started) * 1000)


def server_timing(timings: dict[str, float]) -> str:
    """The ``Server-Timing`` header value: ``encode;dur=21.3, search;dur=1.2, ...``."""
    return ", ".join(f"{name};dur={ms:.1f}" for name, ms in timings.items())


def parse_server_timing(value: str) -> dict[str, float]:
    """The durations of a ``Server-Timing`` header (entries without ``dur`` are left out)."""
    out: dict[str, float] = {}
    for entry in value.split(","):
        name, *params = (part.strip() for part in entry.split(";"))
        for param in params:
            key, _, number = param.partition("=")
            if name and key == "dur":
                try:
                    out[name] = float(number)
                except ValueError:
                    pass
    return out
