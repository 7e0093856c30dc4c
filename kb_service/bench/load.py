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

Two more measurements split the open loop's latency into where it goes. Both run one question at
a time **at the open loop's pace** (Poisson arrivals at its rate per worker), so the machine
idles between questions as it does under the open loop, where the floor's questions run back to
back:

- the **paced floor** (``floor_paced_p50_ms``): encoding plus search in this process again. On a
  virtual machine a core that idles is halted and handed back to the host, and the first
  milliseconds after it wakes run on cold caches: on the development machine the same answer
  took 29.6 ms back to back and 45.7 ms with 0.2 s between questions, and a 401 took 0.76 ms
  and 2.44 ms. That is the machine, not the service; the open loop pays it too;
- **lone answers** (``lone_p50_ms``): the same pace over HTTP to the service, never two at once:
  what the service adds to the paced floor with no other request to share the cores with
  (HTTP, key check, thread hops, ledger). The open loop's p50 beyond that is what concurrent
  requests cost each other (queueing for an encoder, batches, contention for the cores).

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
PACED_ROUNDS = 2  # times each question is timed at the open loop's pace (floor, lone answers)
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

    def server_means(self, *, from_share: float = 0.0) -> dict[str, float]:
        """Mean ms per step of the answers' ``Server-Timing`` (``indexer.timing``), and
        ``outside``: the mean latency the client saw beyond the handler (HTTP, the event loop,
        waiting for a worker thread, and in the open loop the time since the planned arrival).

        ``from_share`` 0.99: of the answers at or over the p99 latency only, i.e. where the
        slowest answers' time went (a stalled ledger sync shows as ``record``, a wait for an
        encoder as ``queue``), which the means of all answers hide."""
        if not self.server:
            return {}
        slowest = percentile(self.latencies_ms, from_share) if from_share else 0.0
        chosen = [
            (latency, timings)
            for latency, timings in zip(self.latencies_ms, self.server, strict=True)
            if latency >= slowest
        ]
        names = sorted({name for _, timings in chosen for name in timings})
        means = {n: sum(t.get(n, 0.0) for _, t in chosen) / len(chosen) for n in names}
        if "app" in means:
            means["outside"] = sum(latency for latency, _ in chosen) / len(chosen) - means["app"]
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
    paced_rps: float  # the open loop's arrivals per worker: the pace of the two below
    floor_paced_ms: list[float]  # encoding + search in process, one at a time at that pace
    lone: Phase  # answers over HTTP, one at a time at that pace

    @property
    def floor_p50_ms(self) -> float:
        """Of both measurements pooled."""
        return percentile(self.floor_before_ms + self.floor_after_ms, 0.5)

    def as_json(self) -> dict[str, Any]:
        floor = self.floor_p50_ms
        paced = percentile(self.floor_paced_ms, 0.5)
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
            "paced_every_ms": round(1000 / self.paced_rps, 1) if self.paced_rps else None,
            "floor_paced_p50_ms": round(paced, 1),
            "lone_p50_ms": self.lone.p(0.5),
            "lone_p99_ms": self.lone.p(0.99),
            "ratio_p50_paced": round(self.open.p(0.5) / paced, 2) if paced else None,
            "ratio_p99_paced": round(self.open.p(0.99) / paced, 2) if paced else None,
            "requests": sum(len(p.latencies_ms) for p in self._phases),
            "errors": sum(p.errors.total() for p in self._phases),
            "error_kinds": dict(sum((p.errors for p in self._phases), Counter[str]())),
            "open_server_ms": self.open.server_means(),
            "open_p99_server_ms": self.open.server_means(from_share=0.99),
        }

    @property
    def _phases(self) -> tuple[Phase, ...]:
        return self.closed, self.open, self.lone

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
        if j["paced_every_ms"]:
            lines.append(
                f"at the open loop's pace (a question every {j['paced_every_ms']} ms per worker, "
                f"one at a time): floor p50 {j['floor_paced_p50_ms']} ms, answers over HTTP "
                f"p50 {j['lone_p50_ms']} ms; open loop over that floor: p50 "
                f"x{j['ratio_p50_paced']}, p99 x{j['ratio_p99_paced']}"
            )
            lines.append(_split(j))
        if j["open_server_ms"]:
            steps = ", ".join(f"{k} {v}" for k, v in j["open_server_ms"].items())
            lines.append(f"open loop, mean ms per answer (Server-Timing): {steps}")
            steps = ", ".join(f"{k} {v}" for k, v in j["open_p99_server_ms"].items())
            lines.append(f"open loop, its answers at or over p99, mean ms per answer: {steps}")
        if j["error_kinds"]:
            lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in j["error_kinds"].items()))
        return "\n".join(lines)


def _split(j: dict[str, Any]) -> str:
    """The open loop's p50 as the floor plus what each step of the measurement adds to it."""
    floor, paced, lone, p50 = (
        j["floor_p50_ms"],
        j["floor_paced_p50_ms"],
        j["lone_p50_ms"],
        j["p50_ms"],
    )
    return (
        f"open loop p50 {p50} ms = floor {floor} + machine idling between questions "
        f"{paced - floor:+.1f} + the service, one answer at a time {lone - paced:+.1f} "
        f"+ answers at once (queueing, contention) {p50 - lone:+.1f}"
    )


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
        (floor_before,) = _measure_floor(settings, questions, paces=[None])
        with _targets(settings, urls, workers or 1, Path(tmp) / "server.log") as targets:
            load = _Load(targets, key or local_key, questions, concurrency)
            closed, open_, offered = asyncio.run(load.run(seconds))
            paced_rps = offered / (workers or len(targets))
            lone = asyncio.run(load.lone(paced_rps, PACED_ROUNDS * len(questions)))
        # a service of our own has stopped: the floor again, then at the open loop's pace
        floor_after, floor_paced = _measure_floor(settings, questions, paces=[None, paced_rps])
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
        paced_rps=paced_rps,
        floor_paced_ms=floor_paced,
        lone=lone,
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


def _measure_floor(
    settings: Settings, questions: list[str], *, paces: list[float | None]
) -> list[list[float]]:
    """Each question through encoding + search, one at a time, as the answer path calls it:
    per pace, back to back (None) or at that many questions a second (Poisson arrivals, as
    the open loop's; a question starts at its arrival, or when the one before it is done).
    One model load for all of them."""
    use_threads(settings.threads_per_worker)
    engine = make_engine(settings)
    model = settings.load_embedder()
    index = IndexService(settings, engine, model)
    index.start()  # builds the index into the data dir; the served workers then load it
    results: list[list[float]] = []
    for pace in paces:
        rounds = FLOOR_ROUNDS if pace is None else PACED_ROUNDS
        arrivals = _arrivals(pace) if pace else None
        timings: list[float] = []
        for round_ in range(rounds + 1):
            for question in questions:
                if round_ and arrivals:  # the untimed round warms up, back to back
                    time.sleep(max(0.0, next(arrivals) - time.perf_counter()))
                started = time.perf_counter()
                index.search(question, locale=None, limit=4, include_internal=True)
                if round_:
                    timings.append((time.perf_counter() - started) * 1000)
        results.append(timings)
    engine.dispose()
    del index, model
    gc.collect()
    return results


def _arrivals(rate: float) -> Iterator[float]:
    """When to start the next question (a ``time.perf_counter()`` instant), asked once the one
    before is done: an exponential gap (Poisson arrivals at ``rate`` a second, the same pattern
    every run) after the previous start, or at once if that has passed."""
    draws = random.Random(15)
    at = time.perf_counter()
    while True:
        at = max(at + draws.expovariate(rate), time.perf_counter())
        yield at


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
        # a line per answer is work beside the answer, off unless asked for (README)
        "KB_ACCESS_LOG": os.environ.get("KB_ACCESS_LOG", "false"),
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
        self._close_idle()
        return closed, open_, offered

    async def lone(self, rate: float, count: int) -> Phase:
        """``count`` questions at ``rate`` a second (Poisson), never two at once: each is sent at
        its arrival or when the answer before it is in, and timed from its sending."""
        phase = Phase(0.0)
        started = time.perf_counter()
        arrivals = _arrivals(rate)
        for _ in range(count):
            await asyncio.sleep(max(0.0, next(arrivals) - time.perf_counter()))
            await self._ask(phase, time.perf_counter())
        phase.seconds = time.perf_counter() - started
        self._close_idle()
        return phase

    def _close_idle(self) -> None:
        for connections in self.idle.values():
            while connections:
                connections.popleft().close()

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
