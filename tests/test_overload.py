"""Overload: requests past the limit are shed at once with 503 + Retry-After, never a 500 or a
time-out; no request holds a database connection longer than its queries; /healthz stays fast.

The end-to-end check runs the real app under uvicorn (its own process, a loopback port, the
hashing embedder, a temporary data dir) against 200 simultaneous connections for 5 s, through
the same code as ``kb bench overload``; the rest are quick in-process checks of each part.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send
from typer.testing import CliRunner

from kb_service.api.limits import ConcurrencyLimitMiddleware
from kb_service.bench import overload
from kb_service.bench.overload import OverloadReport, run_overload_bench
from kb_service.cli import app as cli
from kb_service.config import Settings
from kb_service.models import Role
from tests.conftest import Api

CONTENT = Path(__file__).resolve().parent.parent / "content"


# --------------------------------------------------------------- 200 connections, real server


@pytest.fixture(scope="module")
def overload_report() -> OverloadReport:
    report = run_overload_bench(connections=200, seconds=5.0, dataset=CONTENT, model="hashing")
    print(report.as_text())  # shown with -s, and with the failure otherwise
    return report


@pytest.mark.slow
def test_overload_sheds_with_503_and_retry_after_not_500(overload_report: OverloadReport) -> None:
    report = overload_report
    assert report.statuses[500] == 0, report.as_text()
    assert set(report.statuses) <= {200, 503}, report.as_text()
    assert report.statuses[200] > 0 and report.statuses[503] > 0, report.as_text()
    assert report.missing_retry_after == 0, report.as_text()
    assert report.timeouts == 0 and report.connection_errors == 0, report.as_text()
    assert report.server_tracebacks == 0, report.as_text()


@pytest.mark.slow
def test_healthz_answers_within_5s_after_overload(overload_report: OverloadReport) -> None:
    after = overload_report.healthz_after_load_s
    assert after is not None and after < 5.0, overload_report.as_text()
    # ... and during it: never shed, never stuck behind the queue.
    assert overload_report.health_failures_during_load == 0, overload_report.as_text()
    assert max(overload_report.health_during_load_ms) < 5000, overload_report.as_text()


def test_kb_bench_overload_prints_the_counts_and_fails_when_not_ok(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bad = OverloadReport(connections=3, seconds=1.0, statuses=Counter({200: 5, 500: 1}))
    bad.healthz_after_load_s = 0.01
    seen: dict[str, Any] = {}

    def fake(**kwargs: Any) -> OverloadReport:
        seen.update(kwargs)
        return bad

    monkeypatch.setattr(overload, "run_overload_bench", fake)
    args = ["bench", "overload", "--connections", "3", "--seconds", "1", "--model", "hashing"]
    result = CliRunner().invoke(cli, [*args, "--json"], prog_name="kb")
    assert result.exit_code == 1, result.output
    printed = json.loads(result.output)
    assert printed["status_500"] == 1 and printed["status_200"] == 5 and not printed["ok"]
    assert seen["connections"] == 3 and seen["seconds"] == 1.0 and seen["model"] == "hashing"


# --------------------------------------------------------------- the limiter, in process


def _app_held_by(gate: anyio.Event) -> Callable[[Scope, Receive, Send], Any]:
    """Answers /healthz and /readyz at once, everything else when ``gate`` opens."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] not in ("/healthz", "/readyz"):
            await gate.wait()
        await PlainTextResponse("ok")(scope, receive, send)

    return app


async def _get(app: Any, path: str = "/v1/search") -> tuple[int, dict[str, str], float]:
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
    started = time.monotonic()
    await app(scope, receive, send)
    start = messages[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, time.monotonic() - started


def _limited(gate: anyio.Event, *, limit: int, queue: int, wait: float) -> Any:
    return ConcurrencyLimitMiddleware(
        _app_held_by(gate), limit=limit, queue=queue, wait=wait, retry_after=2
    )


def test_a_request_over_the_limit_gets_503_problem_with_retry_after_at_once() -> None:
    async def main() -> None:
        gate = anyio.Event()
        app = _limited(gate, limit=1, queue=0, wait=5.0)
        results: list[tuple[int, dict[str, str], float]] = []
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(lambda: _collect(results, app))
            await anyio.sleep(0.05)  # the first request now holds the only slot
            status, headers, took = await _get(app)
            assert status == 503 and took < 0.5
            assert headers["retry-after"] == "2"
            assert headers["content-type"] == "application/problem+json"
            gate.set()
        assert results[0][0] == 200
        assert app.in_flight == 0

    anyio.run(main)


def test_a_queued_request_gets_the_slot_freed_before_its_wait_ends() -> None:
    async def main() -> None:
        gate = anyio.Event()
        app = _limited(gate, limit=1, queue=1, wait=5.0)
        results: list[tuple[int, dict[str, str], float]] = []
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(lambda: _collect(results, app))
            await anyio.sleep(0.05)
            tasks.start_soon(lambda: _collect(results, app))  # queued
            await anyio.sleep(0.05)
            status, _, _ = await _get(app)  # queue full: shed
            assert status == 503
            gate.set()
        assert [r[0] for r in results] == [200, 200]
        assert app.in_flight == 0

    anyio.run(main)


def test_a_queued_request_waits_no_longer_than_the_queue_timeout() -> None:
    async def main() -> None:
        gate = anyio.Event()
        app = _limited(gate, limit=1, queue=4, wait=0.2)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(lambda: _get(app))
            await anyio.sleep(0.05)
            status, headers, took = await _get(app)
            assert status == 503 and "retry-after" in headers
            assert 0.15 < took < 1.0
            gate.set()
        assert app.in_flight == 0 and not app._waiting

    anyio.run(main)


def test_healthz_and_readyz_are_never_shed() -> None:
    async def main() -> None:
        gate = anyio.Event()
        app = _limited(gate, limit=1, queue=0, wait=5.0)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(lambda: _get(app))
            await anyio.sleep(0.05)
            assert (await _get(app))[0] == 503
            assert (await _get(app, "/healthz"))[0] == 200
            assert (await _get(app, "/readyz"))[0] == 200
            gate.set()

    anyio.run(main)


async def _collect(results: list[tuple[int, dict[str, str], float]], app: Any) -> None:
    results.append(await _get(app))


# --------------------------------------------------------------- connections and the pool


def test_no_connection_is_held_while_searching_or_answering(api: Api) -> None:
    """The question is embedded and searched with no database connection checked out."""
    index: Any = api.index
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    held: list[int] = []
    search = index.search

    def spying_search(*args: Any, **kwargs: Any) -> Any:
        held.append(engine.pool.checkedout())
        return search(*args, **kwargs)

    index.search = spying_search
    assert api.get("/v1/search", params={"q": "pay my bill"}).status_code == 200  # type: ignore[attr-defined]
    answer = api.post("/v1/answers", Role.agent, json={"question": "pay?", "channel": "chat"})
    assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
    assert held == [0, 0]


def test_the_pool_has_a_connection_for_every_worker_thread(api: Api) -> None:
    settings: Settings = api.client.app.state.settings  # type: ignore[attr-defined]
    pool = api.client.app.state.engine.pool  # type: ignore[attr-defined]
    assert pool.size() >= settings.worker_threads >= settings.max_concurrent_requests


def test_pool_timeout_is_503_with_retry_after_not_500(
    make_api: Callable[..., Api], settings: Settings
) -> None:
    api = make_api(settings.model_copy(update={"worker_threads": 1, "db_pool_timeout": 0.2}))
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    taken = [engine.connect() for _ in range(engine.pool.size())]  # nothing left to check out
    try:
        response: Any = api.get("/v1/articles")
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == str(settings.retry_after_seconds)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == "Overloaded"
        started = time.monotonic()
        health: Any = api.client.get("/healthz")  # bounded too: 503 within seconds, not a hang
        assert health.status_code == 503 and "retry-after" in health.headers
        assert time.monotonic() - started < 4.0
    finally:
        for connection in taken:
            connection.close()
    assert api.client.get("/healthz").status_code == 200


def test_more_concurrent_requests_than_threads_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="KB_WORKER_THREADS"):
        Settings(max_concurrent_requests=50, worker_threads=40)
