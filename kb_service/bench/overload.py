"""``kb bench overload``: many simultaneous connections against a real server; what do they get?

The service runs as its own process (``uvicorn`` on a loopback socket bound here, a temporary
data dir with the demo content, the current ``KB_`` settings otherwise), so the load generator
does not share its interpreter. Every connection sends ``POST /v1/answers`` and
``GET /v1/search`` in turn, as fast as the answers come, for a bounded time; then the load stops
and ``/healthz`` is timed. A healthy result: only 200s and 503s, every 503 with ``Retry-After``,
no 500, no time-out, and ``/healthz`` answering at once, during the load and after it.

The client is plain asyncio over HTTP/1.1 (the standard library only), so the command needs
nothing beyond ``pip install .``; it sends traffic to 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlmodel import Session

from kb_service.bench.dataset import load_dataset
from kb_service.bench.metrics import percentile
from kb_service.config import get_settings
from kb_service.db import make_engine
from kb_service.errors import KbError
from kb_service.models import Role
from kb_service.services import keys
from kb_service.services.content_io import import_folder
from kb_service.services.publishing import Actor

HOST = "127.0.0.1"
FALLBACK_QUESTIONS = ("How do I pay my bill?", "Jak zapłacić rachunek?", "Reset my password")
CHANNELS = ("chat", "email", "phone", "social")
STARTUP_TIMEOUT_S = 600.0  # the real model is converted and loaded once at start-up
HEALTH_PROBE_EVERY_S = 0.25
HEALTH_AFTER_LOAD_LIMIT_S = 60.0


@dataclass
class OverloadReport:
    connections: int
    seconds: float
    honor_retry_after: bool = False  # did clients wait Retry-After after a 503?
    statuses: Counter[int] = field(default_factory=Counter)
    missing_retry_after: int = 0  # 503s without a Retry-After header
    timeouts: int = 0  # no answer within the request timeout
    connection_errors: int = 0  # refused, reset or closed mid-response
    cut_off: int = 0  # still waiting when the load stopped (not a failure)
    latencies_ms: list[float] = field(default_factory=list)  # of the 200s
    health_during_load_ms: list[float] = field(default_factory=list)
    health_failures_during_load: int = 0
    healthz_after_load_s: float | None = None  # None: no 200 within HEALTH_AFTER_LOAD_LIMIT_S
    server_tracebacks: int = 0  # tracebacks in the server's log

    @property
    def responses(self) -> int:
        return sum(self.statuses.values())

    @property
    def unexpected(self) -> int:
        """Responses other than 200 and 503 (a 500 among them)."""
        return sum(n for status, n in self.statuses.items() if status not in (200, 503))

    def ok(self, healthz_within_s: float = 5.0) -> bool:
        after = self.healthz_after_load_s
        return (
            self.unexpected == 0
            and self.missing_retry_after == 0
            and self.timeouts == 0
            and self.connection_errors == 0
            and self.statuses[200] > 0
            and after is not None
            and after <= healthz_within_s
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "connections": self.connections,
            "seconds": self.seconds,
            "honor_retry_after": self.honor_retry_after,
            "responses": self.responses,
            "by_status": {str(k): v for k, v in sorted(self.statuses.items())},
            "status_200": self.statuses[200],
            "status_503": self.statuses[503],
            "status_500": self.statuses[500],
            "other_statuses": self.unexpected - self.statuses[500],
            "503_without_retry_after": self.missing_retry_after,
            "timeouts": self.timeouts,
            "connection_errors": self.connection_errors,
            "cut_off_at_end": self.cut_off,
            "ok_latency_ms_p50": round(percentile(self.latencies_ms, 0.5), 1),
            "ok_latency_ms_p95": round(percentile(self.latencies_ms, 0.95), 1),
            "healthz_during_load_ms_max": round(max(self.health_during_load_ms, default=0.0), 1),
            "healthz_failures_during_load": self.health_failures_during_load,
            "healthz_after_load_s": None
            if self.healthz_after_load_s is None
            else round(self.healthz_after_load_s, 3),
            "server_tracebacks": self.server_tracebacks,
            "ok": self.ok(),
        }

    def as_text(self) -> str:
        j = self.as_json()
        after = j["healthz_after_load_s"]
        lines = [
            f"{self.connections} connections x {self.seconds:g} s: {self.responses} responses "
            f"({self.responses / self.seconds:.0f}/s); after a 503 clients "
            + ("waited Retry-After" if self.honor_retry_after else "retried at once"),
            "  " + "  ".join(f"{k}: {v}" for k, v in j["by_status"].items()),
            f"  503 without Retry-After: {self.missing_retry_after}, time-outs: {self.timeouts}, "
            f"connection errors: {self.connection_errors}, cut off at the end: {self.cut_off}",
            f"  200 latency p50 {j['ok_latency_ms_p50']} ms, p95 {j['ok_latency_ms_p95']} ms",
            f"  /healthz during the load: max {j['healthz_during_load_ms_max']} ms, "
            f"{self.health_failures_during_load} failed",
            "  /healthz after the load: "
            + (
                f"{after} s" if after is not None else f"no answer in {HEALTH_AFTER_LOAD_LIMIT_S} s"
            ),
            f"  tracebacks in the server log: {self.server_tracebacks}",
            "OK" if self.ok() else "NOT OK",
        ]
        return "\n".join(lines)


def run_overload_bench(
    *,
    connections: int = 200,
    seconds: float = 15.0,
    dataset: Path | None = Path("content"),
    model: str | None = None,
    request_timeout: float = 10.0,
    honor_retry_after: bool = False,
    env: dict[str, str] | None = None,
) -> OverloadReport:
    """Serve a temporary KB (``dataset`` imported, if given) and load it; ``env`` adds or
    overrides ``KB_`` variables of the server (e.g. ``KB_MAX_CONCURRENT_REQUESTS``).

    By default a client sends its next request as soon as it has an answer, 503 or not (the
    worst case: clients that ignore Retry-After); ``honor_retry_after`` makes them wait."""
    with tempfile.TemporaryDirectory(prefix="kb-overload-") as tmp:
        data_dir = Path(tmp) / "data"
        settings = get_settings().model_copy(
            update={"data_dir": data_dir, "database_url": None}
            | ({"embedding_model": model} if model else {})
        )
        questions: list[str] = list(FALLBACK_QUESTIONS)
        with Session(make_engine(settings)) as session:
            if dataset is not None:
                import_folder(session, dataset, actor=Actor("bench"), max_chars=10**9)
                if (dataset / "queries.jsonl").is_file():
                    questions = [q.text for q in load_dataset(dataset).queries] or questions
            _, key = keys.create_key(session, role=Role.agent, name="overload-bench")
        server_env = {k: v for k, v in os.environ.items() if k != "KB_DATABASE_URL"}
        server_env |= {"KB_DATA_DIR": str(data_dir), "KB_EMBEDDING_MODEL": settings.embedding_model}
        server_env |= env or {}
        log = Path(tmp) / "server.log"
        with _Server(server_env, log) as port:
            load = _Load(port, key, questions, connections, seconds, request_timeout)
            load.report.honor_retry_after = honor_retry_after
            report = asyncio.run(load.run())
        report.server_tracebacks = log.read_text(errors="replace").count("Traceback")
        return report


class _Server:
    """``uvicorn`` in a child process, on a loopback socket bound (and so reserved) here."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> int:
        self.sock.bind((HOST, 0))
        self.sock.listen(2048)
        port = int(self.sock.getsockname()[1])
        fd = self.sock.fileno()
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kb_service.bench.overload", "--serve-fd", str(fd)],
                env=self.env,
                pass_fds=(fd,),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_until_serving(self.process, port, self.log)
        return port

    def __exit__(self, *_: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.sock.close()


def _wait_until_serving(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise KbError(f"The service did not start for the bench:\n{tail}")
        try:
            status, _ = asyncio.run(_get_once(port, "/healthz", timeout=2.0))
            if status == 200:
                return
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        time.sleep(0.2)
    raise KbError(f"The service did not answer /healthz within {STARTUP_TIMEOUT_S:g} s.")


class _Load:
    def __init__(
        self,
        port: int,
        key: str,
        questions: list[str],
        connections: int,
        seconds: float,
        request_timeout: float,
    ) -> None:
        self.port, self.key, self.questions = port, key, questions
        self.connections, self.seconds, self.timeout = connections, seconds, request_timeout
        self.report = OverloadReport(connections=connections, seconds=seconds)
        self.deadline = 0.0

    async def run(self) -> OverloadReport:
        self.deadline = time.monotonic() + self.seconds
        workers = [asyncio.create_task(self._worker(i)) for i in range(self.connections)]
        prober = asyncio.create_task(self._probe_health())
        await asyncio.sleep(self.seconds)
        # The load stops: every connection is dropped, whatever it was waiting for. (Every loop
        # also ends at the deadline by itself: Python 3.11's wait_for can swallow a cancel.)
        tasks = [*workers, prober]
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=self.timeout + 5)
        self.report.healthz_after_load_s = await self._time_health_after_load()
        return self.report

    async def _worker(self, number: int) -> None:
        conn: HttpConnection | None = None
        sent = number
        try:
            while time.monotonic() < self.deadline:
                sent += 1
                try:
                    if conn is None:
                        conn = await HttpConnection.open(self.port)
                    started = time.perf_counter()
                    status, headers = await asyncio.wait_for(
                        conn.request(*self._request(sent)), self.timeout
                    )
                except TimeoutError:
                    self.report.timeouts += 1
                    conn = _close(conn)
                    continue
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    self.report.connection_errors += 1
                    conn = _close(conn)
                    continue
                self._count(status, headers, (time.perf_counter() - started) * 1000)
                if headers.get("connection", "").lower() == "close":
                    conn = _close(conn)
                retry_after = headers.get("retry-after", "")
                if status == 503 and self.report.honor_retry_after and retry_after.isdigit():
                    await asyncio.sleep(int(retry_after))
        except asyncio.CancelledError:
            if conn is not None and conn.busy:
                self.report.cut_off += 1
            raise
        finally:
            _close(conn)

    def _request(self, n: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        question = self.questions[n % len(self.questions)]
        auth = {"Authorization": f"Bearer {self.key}"}
        if n % 2:
            body = {"question": question, "channel": CHANNELS[n % len(CHANNELS)]}
            payload = json.dumps(body).encode()
            return "POST", "/v1/answers", payload, auth | {"Content-Type": "application/json"}
        return "GET", f"/v1/search?q={quote(question)}&limit=5", None, auth

    def _count(self, status: int, headers: dict[str, str], latency_ms: float) -> None:
        self.report.statuses[status] += 1
        if status == 200:
            self.report.latencies_ms.append(latency_ms)
        elif status == 503 and not headers.get("retry-after", "").strip().isdigit():
            self.report.missing_retry_after += 1

    async def _probe_health(self) -> None:
        while time.monotonic() < self.deadline:
            started = time.perf_counter()
            try:
                status, _ = await _get_once(self.port, "/healthz", timeout=self.timeout)
                ok = status == 200
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                ok = False
            if ok:
                self.report.health_during_load_ms.append((time.perf_counter() - started) * 1000)
            else:
                self.report.health_failures_during_load += 1
            await asyncio.sleep(HEALTH_PROBE_EVERY_S)

    async def _time_health_after_load(self) -> float | None:
        stopped = time.monotonic()
        while (waited := time.monotonic() - stopped) < HEALTH_AFTER_LOAD_LIMIT_S:
            try:
                status, _ = await _get_once(self.port, "/healthz", timeout=1.0)
                if status == 200:
                    return time.monotonic() - stopped
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                pass
            await asyncio.sleep(min(0.1, max(0.0, HEALTH_AFTER_LOAD_LIMIT_S - waited)))
        return None


class HttpConnection:
    """One kept-alive HTTP/1.1 connection; just enough of the protocol for this bench."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str = HOST
    ) -> None:
        self.reader, self.writer, self.host = reader, writer, host
        self.busy = False

    @classmethod
    async def open(cls, port: int, host: str = HOST) -> HttpConnection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, host)

    async def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str]]:
        self.busy = True
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise asyncio.IncompleteReadError(b"", None)
        status = int(status_line.split()[1])
        response_headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            response_headers[name.strip().lower()] = value.strip()
        await self._read_body(response_headers)
        self.busy = False
        return status, response_headers

    async def _read_body(self, headers: dict[str, str]) -> None:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while size := int((await self.reader.readline()).split(b";")[0], 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            await self.reader.readexactly(int(headers.get("content-length", "0")))

    def close(self) -> None:
        self.writer.close()


def _close(conn: HttpConnection | None) -> HttpConnection | None:
    """Close ``conn`` if open; returns None, to assign back."""
    if conn is not None:
        conn.close()
    return None


async def _get_once(port: int, path: str, *, timeout: float) -> tuple[int, dict[str, str]]:
    """One GET on a fresh connection (as a load balancer's health check does it)."""

    async def get() -> tuple[int, dict[str, str]]:
        conn = await HttpConnection.open(port)
        try:
            return await conn.request("GET", path, None, {"Connection": "close"})
        finally:
            conn.close()

    return await asyncio.wait_for(get(), timeout)


def _serve_inherited_socket(fd: int) -> None:
    """The child process: serve ``create_app()`` (settings from the environment) on ``fd``."""
    import uvicorn

    from kb_service.main import create_app

    sock = socket.socket(fileno=fd)  # family, type and protocol read from the socket itself
    config = uvicorn.Config(
        create_app(), log_level="warning", access_log=False, timeout_keep_alive=60
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":  # python -m kb_service.bench.overload --serve-fd N
    if len(sys.argv) != 3 or sys.argv[1] != "--serve-fd":
        raise SystemExit("usage: python -m kb_service.bench.overload --serve-fd FD")
    _serve_inherited_socket(int(sys.argv[2]))
