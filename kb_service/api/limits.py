"""Load shedding: a bounded number of requests in flight, a short bounded queue, 503 for the rest.

Without it, every request past what the machine can serve waits (for a thread, then for a
database connection) until the client gives up, and the backlog outlives the load by minutes.
With it, a request either gets a slot at once, waits at most ``KB_QUEUE_TIMEOUT`` seconds in a
queue of at most ``KB_MAX_QUEUED_REQUESTS``, or is answered at once with 503
``application/problem+json`` and ``Retry-After``. Health checks bypass it.

Written here rather than taken from a library: uvicorn's ``--limit-concurrency`` counts
connections rather than requests, has no queue, answers plain text without ``Retry-After`` and
sheds health checks too; the ASGI rate-limit packages limit requests per client per second,
which is not the resource that runs out. What is needed is a few dozen lines of ASGI.
"""

from __future__ import annotations

from collections import deque

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from kb_service.api.problems import problem_response
from kb_service.errors import Overloaded

# Probed by load balancers and orchestrators: they must see the truth at once, not a 503.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})


class ConcurrencyLimitMiddleware:
    """At most ``limit`` requests in flight; ``queue`` more may wait ``wait`` seconds for a slot.

    A freed slot goes straight to the longest-waiting request (first come, first served).
    State is per process (uvicorn runs one event loop per worker process)."""

    def __init__(
        self, app: ASGIApp, *, limit: int, queue: int, wait: float, retry_after: int
    ) -> None:
        self.app = app
        self.limit, self.queue, self.wait, self.retry_after = limit, queue, wait, retry_after
        self.in_flight = 0
        self._waiting: deque[anyio.Event] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        if not await self._admit():
            await self._shed(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._release()

    async def _admit(self) -> bool:
        if self.in_flight < self.limit and not self._waiting:
            self.in_flight += 1
            return True
        if len(self._waiting) >= self.queue:
            return False
        slot = anyio.Event()
        self._waiting.append(slot)
        try:
            with anyio.move_on_after(self.wait):
                await slot.wait()
        except BaseException:  # cancelled (the client went away): give back what we hold
            if slot.is_set():
                self._release()
            else:
                self._waiting.remove(slot)
            raise
        if slot.is_set():  # handed over by _release, in_flight already counts it
            return True
        self._waiting.remove(slot)
        return False

    def _release(self) -> None:
        if self._waiting:
            self._waiting.popleft().set()  # the slot passes on; in_flight stays the same
        else:
            self.in_flight -= 1

    async def _shed(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = Overloaded(
            f"More than {self.limit} requests in flight and {self.queue} waiting; "
            f"retry after {self.retry_after} s.",
            retry_after=self.retry_after,
        )
        response = problem_response(
            error.status,
            error.title,
            error.detail,
            error.slug,
            scope.get("path", ""),
            headers=error.headers(),
        )
        await response(scope, receive, send)
