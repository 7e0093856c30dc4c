"""``kb bench load``: how many answers a second, and how much slower than the model itself?

One run measures three things, against the same demo questions (every language, all four
channels, real ``POST /v1/answers`` with a real agent key):

- the **floor**: each question through question encoding plus index search alone, in this
  process, one at a time, with the service's own thread settings: what no server can beat.
  It is measured before the load and again after it, and the two pooled: a shared machine's
  speed drifts over a run (by a fifth within minutes on the development machine), and a floor
  taken only at the start would move the ratios with it;
- a **closed loop**: ``concurrency`` clients, each sending its next question as soon as its
  answer is in: the throughput ``rps_max``, and latencies under saturation;
- an **open loop** at half of ``rps_max``: Poisson arrivals (as customers arrive, whether or not
  earlier answers are out), timed from each request's planned start, so a stall is counted in
  full: what latency a customer sees at a sensible load. ``ratio_p50``/``ratio_p99`` are its
  p50 and p99 over the floor's p50.

Without ``--url`` the service is ``kb serve`` in a child process (``--workers`` of them, by default
one per core, each with ``KB_TORCH_THREADS`` or its share of the cores) on the
demo content in a temporary data dir; the load comes from this process over HTTP/1.1 with the
standard library (``bench.overload``'s client). With ``--url`` (repeatable: load spread over
several replicas, e.g. two ``kb serve`` on one PostgreSQL, to compare with one) it loads any
running service with ``--key``; the floor is still measured here on the demo content.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session

from indexer.embed import use_threads
from indexer.timing import parse_server_timing
from kb_service.bench.dataset import load_dataset
from kb_service.bench.metrics import percentile
from kb_service.bench.overload import HttpConnection
from kb_service.config import Settings, get_settings
from kb_service.db import make_engine
from kb_service.errors import KbError, ValidationFailed
from kb_service.models import Role
from kb_service.services import keys
from kb_service.services.content_io import import_folder
from kb_service.services.indexing import IndexService
from kb_service.services.publishing import Actor

CHANNELS = ("chat", "email", "phone", "social")
CONCURRENCY = 8
OPEN_LOOP_SHARE = 0.5  # of rps_max
FLOOR_ROUNDS = 3  # times each question is timed for the floor (after one untimed round)
WARM_UP_S = 3.0  # closed-loop traffic before anything is measured (not counted)
REQUEST_TIMEOUT_S = 30.0
STARTUP_TIMEOUT_S = 600.0


@dataclass
class Phase:
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)  # of the 200s
    errors: Counter[str] = field(default_factory=Counter)  # by kind: a status, a time-out...
    server: list[dict[str, float]] = field(default_factory=list)  # each 200's Server-Timing

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def p(self, share: float) -> float:
        return round(percentile(self.latencies_ms, share), 1)

    def server_means(self) -> dict[str, float]:
        """Mean ms per step of the answers' ``Server-Timing`` (``indexer.timing``), and
        ``outside``: the mean latency the client saw beyond the handler (HTTP, the event loop,
        waiting for a worker thread, and in the open loop the time since the planned arrival)."""
        if not self.server:
            return {}
        names = sorted({name for timings in self.server for name in timings})
        means = {n: sum(t.get(n, 0.0) for t in self.server) / len(self.server) for n in names}
        if "app" in means and self.latencies_ms:
            means["outside"] = sum(self.latencies_ms) / len(self.latencies_ms) - means["app"]
        return {name: round(ms, 1) for name, ms in means.items()}


@dataclass
class LoadReport:
    targets: list[str]
    workers: int | None  # None: a service started elsewhere (--url)
    threads_per_worker: int
    concurrency: int
    floor_before_ms: list[float]  # measured before the load
    floor_after_ms: list[float]  # and again after it
    closed: Phase
    open: Phase
    offered_rps: float

    @property
    def floor_p50_ms(self) -> float:
        """Of both measurements pooled."""
        return percentile(self.floor_before_ms + self.floor_after_ms, 0.5)

    def as_json(self) -> dict[str, Any]:
        floor = self.floor_p50_ms
        return {
            "targets": self.targets,
            "workers": self.workers,
            "threads_per_worker": self.threads_per_worker,
            "floor_p50_ms": round(floor, 1),
            "floor_rps": round(1000 / floor, 1) if floor else 0.0,
            "floor_before_p50_ms": round(percentile(self.floor_before_ms, 0.5), 1),
            "floor_after_p50_ms": round(percentile(self.floor_after_ms, 0.5), 1),
            "concurrency": self.concurrency,
            "rps_max": round(self.closed.rps, 1),
            "closed_p50_ms": self.closed.p(0.5),
            "closed_p95_ms": self.closed.p(0.95),
            "closed_p99_ms": self.closed.p(0.99),
            "offered_rps": round(self.offered_rps, 1),
            "open_rps": round(self.open.rps, 1),
            "p50_ms": self.open.p(0.5),
            "p95_ms": self.open.p(0.95),
            "p99_ms": self.open.p(0.99),
            "ratio_p50": round(self.open.p(0.5) / floor, 2) if floor else None,
            "ratio_p99": round(self.open.p(0.99) / floor, 2) if floor else None,
            "requests": len(self.closed.latencies_ms) + len(self.open.latencies_ms),
            "errors": self.closed.errors.total() + self.open.errors.total(),
            "error_kinds": dict(self.closed.errors + self.open.errors),
            "open_server_ms": self.open.server_means(),
        }

    def as_text(self) -> str:
        j = self.as_json()
        served = (
            f"{self.workers} worker(s) x {self.threads_per_worker} model thread(s)"
            if self.workers
            else ", ".join(self.targets)
        )
        rows = [
            ("floor (encode + search, in process)", j["floor_rps"], j["floor_p50_ms"], "", "", ""),
            (
                f"closed loop, {self.concurrency} clients",
                j["rps_max"],
                j["closed_p50_ms"],
                j["closed_p95_ms"],
                j["closed_p99_ms"],
                self.closed.errors.total(),
            ),
            (
                f"open loop, Poisson at {j['offered_rps']}/s",
                j["open_rps"],
                j["p50_ms"],
                j["p95_ms"],
                j["p99_ms"],
                self.open.errors.total(),
            ),
        ]
        lines = [
            f"POST /v1/answers load on {served}",
            f"{'':<38}{'rps':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}",
        ]
        lines += [f"{r[0]:<38}{r[1]:>8}{r[2]:>9}{r[3]:>9}{r[4]:>9}{r[5]:>8}" for r in rows]
        lines.append(
            f"floor p50 before the load {j['floor_before_p50_ms']} ms, after it "
            f"{j['floor_after_p50_ms']} ms (the row above pools both)"
        )
        lines.append(
            f"open loop over the floor: p50 x{j['ratio_p50']}, p99 x{j['ratio_p99']}; "
            f"rps_max / floor_rps = {j['rps_max'] / j['floor_rps']:.2f}"
            if j["floor_rps"]
            else "no floor measured"
        )
        if j["open_server_ms"]:
            steps = ", ".join(f"{k} {v}" for k, v in j["open_server_ms"].items())
            lines.append(f"open loop, mean ms per answer (Server-Timing): {steps}")
        if j["error_kinds"]:
            lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in j["error_kinds"].items()))
        return "\n".join(lines)


def run_load_bench(
    *,
    urls: list[str] | None = None,
    key: str | None = None,
    seconds: float = 20.0,
    dataset: Path = Path("content"),
    workers: int | None = None,
    concurrency: int = CONCURRENCY,
) -> LoadReport:
    """Measure the floor here, then load ``urls`` (with ``key``), or without them a ``kb serve``
    of ``dataset`` with ``workers`` processes (default: one per CPU core) started for the run."""
    if urls and not key:
        raise ValidationFailed("--url needs --key: an agent (or bot) key of that service.")
    settings = get_settings()
    workers = None if urls else (workers or os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="kb-load-") as tmp:
        settings = settings.model_copy(
            update={"data_dir": Path(tmp) / "data", "database_url": None, "workers": workers or 1}
        )
        questions, local_key = _prepare(settings, dataset)
        floor_before = _measure_floor(settings, questions)
        with _targets(settings, urls, workers or 1, Path(tmp) / "server.log") as targets:
            load = _Load(targets, key or local_key, questions, concurrency)
            closed, open_, offered = asyncio.run(load.run(seconds))
        floor_after = _measure_floor(settings, questions)  # a service of our own has stopped
    return LoadReport(
        targets=[f"{host}:{port}" for host, port in targets],
        workers=workers,
        threads_per_worker=settings.threads_per_worker,
        concurrency=concurrency,
        floor_before_ms=floor_before,
        floor_after_ms=floor_after,
        closed=closed,
        open=open_,
        offered_rps=offered,
    )


def _prepare(settings: Settings, dataset: Path) -> tuple[list[str], str]:
    """The dataset in the temporary KB; its questions and a new agent key."""
    with Session(make_engine(settings)) as session:
        import_folder(session, dataset, actor=Actor("bench"), max_chars=10**9)
        _, key = keys.create_key(session, role=Role.agent, name="load-bench")
    questions = [q.text for q in load_dataset(dataset).queries]
    if not questions:
        raise ValidationFailed(f"{dataset}/queries.jsonl has no questions to ask.")
    return questions, key


def _measure_floor(settings: Settings, questions: list[str]) -> list[float]:
    """Each question through encoding + search, one at a time, as the answer path calls it."""
    use_threads(settings.threads_per_worker)
    engine = make_engine(settings)
    model = settings.load_embedder()
    index = IndexService(settings, engine, model)
    index.start()  # builds the index into the data dir; the served workers then load it
    timings: list[float] = []
    for rounds in range(FLOOR_ROUNDS + 1):
        for question in questions:
            started = time.perf_counter()
            index.search(question, locale=None, limit=4, include_internal=True)
            if rounds:
                timings.append((time.perf_counter() - started) * 1000)
    engine.dispose()
    del index, model
    gc.collect()
    return timings


@contextmanager
def _targets(
    settings: Settings, urls: list[str] | None, workers: int, log: Path
) -> Iterator[list[tuple[str, int]]]:
    if urls:
        yield [_host_port(url) for url in urls]
        return
    with socket.socket() as probe:  # a free port; released for the server to bind
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    env = {k: v for k, v in os.environ.items() if k != "KB_DATABASE_URL"}
    env |= {
        "KB_DATA_DIR": str(settings.data_dir),
        "KB_EMBEDDING_MODEL": settings.embedding_model,
        "KB_WORKERS": str(workers),
        "KB_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-c", "from kb_service.cli import main; main()", "serve"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(process, port, log, workers)
        yield [("127.0.0.1", port)]
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "//" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise ValidationFailed(f"--url {url!r}: give http://HOST:PORT (plain HTTP).")
    return parts.hostname, parts.port or 80


def _wait_until_serving(
    process: subprocess.Popen[bytes], port: int, log: Path, workers: int
) -> None:
    """Until every worker has started: /healthz answers as soon as one has (they share the
    port), and a worker still loading would take the others' CPU during the measurement."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if process.poll() is not None:
            raise KbError(f"The service did not start for the bench:\n{text[-2000:]}")
        started = text.count("Application startup complete")  # uvicorn's line, per worker
        if started >= workers and asyncio.run(_healthy("127.0.0.1", port)):
            return
        time.sleep(0.2)
    raise KbError(f"The service did not answer /healthz within {STARTUP_TIMEOUT_S:g} s.")


async def _healthy(host: str, port: int) -> bool:
    try:
        conn = await HttpConnection.open(port, host)
    except OSError:
        return False
    try:
        status, _ = await asyncio.wait_for(
            conn.request("GET", "/healthz", None, {"Connection": "close"}), 2.0
        )
        return status == 200
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
        return False
    finally:
        conn.close()


class _Load:
    def __init__(
        self, targets: list[tuple[str, int]], key: str, questions: list[str], concurrency: int
    ) -> None:
        self.targets, self.questions, self.concurrency = targets, questions, concurrency
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.sent = 0
        # Idle kept-alive connections, used in turn (oldest first): reusing the latest one would
        # send a light load down one connection, so to one worker of a several-worker server.
        self.idle: dict[tuple[str, int], deque[HttpConnection]] = {t: deque() for t in targets}

    async def run(self, seconds: float) -> tuple[Phase, Phase, float]:
        await self._closed(WARM_UP_S)
        closed = await self._closed(seconds)
        offered = closed.rps * OPEN_LOOP_SHARE
        open_ = await self._open(seconds, offered)
        for connections in self.idle.values():
            for conn in connections:
                conn.close()
        return closed, open_, offered

    async def _closed(self, seconds: float) -> Phase:
        phase = Phase(seconds)
        deadline = time.monotonic() + seconds

        async def client() -> None:
            while time.monotonic() < deadline:
                await self._ask(phase, time.perf_counter())

        await asyncio.gather(*(client() for _ in range(self.concurrency)))
        phase.seconds = seconds + max(0.0, time.monotonic() - deadline)  # the last answers too
        return phase

    async def _open(self, seconds: float, rate: float) -> Phase:
        phase = Phase(seconds)
        if rate <= 0:
            return phase
        arrivals = random.Random(15)  # the same arrival pattern every run
        started = time.perf_counter()
        planned = started
        tasks: list[asyncio.Task[None]] = []
        while (planned := planned + arrivals.expovariate(rate)) < started + seconds:
            await asyncio.sleep(max(0.0, planned - time.perf_counter()))
            tasks.append(asyncio.create_task(self._ask(phase, planned)))
        await asyncio.gather(*tasks)
        return phase

    async def _ask(self, phase: Phase, planned: float) -> None:
        """One question; its latency counted from ``planned`` (its arrival)."""
        n = self.sent
        self.sent += 1
        target = self.targets[n % len(self.targets)]
        question = self.questions[n % len(self.questions)]
        channel = CHANNELS[(n // len(self.questions)) % len(CHANNELS)]
        body = json.dumps({"question": question, "channel": channel}).encode()
        pool = self.idle[target]
        conn: HttpConnection | None = None
        # A kept-alive connection the server closed while it sat idle (uvicorn closes them
        # after 5 s) fails before any answer: like any HTTP client, try once more on a new one.
        for reused in (True, False):
            from_pool = reused and bool(pool)
            conn = pool.popleft() if from_pool else None
            try:
                conn = conn or await HttpConnection.open(target[1], target[0])
                status, headers = await asyncio.wait_for(
                    conn.request("POST", "/v1/answers", body, self.headers), REQUEST_TIMEOUT_S
                )
                break
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                if conn is not None:
                    conn.close()
                if not from_pool:
                    phase.errors[type(exc).__name__] += 1
                    return
            except (OSError, TimeoutError, ValueError) as exc:
                phase.errors[type(exc).__name__] += 1
                if conn is not None:
                    conn.close()
                return
        assert conn is not None
        pool.append(conn)
        if status == 200:
            phase.latencies_ms.append((time.perf_counter() - planned) * 1000)
            phase.server.append(parse_server_timing(headers.get("server-timing", "")))
        else:
            phase.errors[f"HTTP {status}"] += 1
