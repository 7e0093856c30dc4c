"""``kb bench answers``: every demo question through ``POST /v1/answers`` on every channel.

The questions go over real HTTP to the app served by uvicorn on a free loopback port, and are
sent with the standard library: the bench needs nothing beyond ``pip install .``.
"""

from __future__ import annotations

import http.client
import json
import socket
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlmodel import Session

from kb_service.bench.dataset import load_dataset
from kb_service.bench.metrics import percentile
from kb_service.config import get_settings
from kb_service.db import make_engine
from kb_service.errors import KbError
from kb_service.main import create_app
from kb_service.models import Role
from kb_service.services import keys
from kb_service.services.content_io import import_folder
from kb_service.services.publishing import Actor

CHANNELS = ("chat", "email", "phone", "social")


@dataclass
class AnswersReport:
    questions: int
    # (language, channel) -> [answered from the expected article in the question's locale]
    results: dict[tuple[str, str], list[bool]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    def share(self, rows: list[bool]) -> float:
        return sum(rows) / len(rows) if rows else 0.0

    def overall(self) -> float:
        return self.share([ok for rows in self.results.values() for ok in rows])

    def as_json(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "answered_from_expected_article": round(self.overall(), 4),
            "by_language_and_channel": {
                f"{lang}/{channel}": round(self.share(rows), 4)
                for (lang, channel), rows in sorted(self.results.items())
            },
            "latency_ms_p50": round(percentile(self.latencies_ms, 0.5), 1),
            "latency_ms_p95": round(percentile(self.latencies_ms, 0.95), 1),
            "misses": self.misses,
        }

    def as_text(self) -> str:
        languages = sorted({lang for lang, _ in self.results})
        lines = [
            f"{self.questions} questions x {len(CHANNELS)} channels: "
            f"{self.overall():.1%} answered from the expected article in their own language",
            "language  " + "".join(f"{c:>9}" for c in CHANNELS),
        ]
        for lang in languages:
            cells = "".join(f"{self.share(self.results[(lang, c)]):>9.1%}" for c in CHANNELS)
            count = len(self.results[(lang, CHANNELS[0])])
            lines.append(f"{lang:<8}  {cells}   ({count} questions)")
        lines.append(
            f"POST /v1/answers latency p50 {percentile(self.latencies_ms, 0.5):.1f} ms, "
            f"p95 {percentile(self.latencies_ms, 0.95):.1f} ms"
        )
        lines.extend(f"  miss: {m}" for m in self.misses)
        return "\n".join(lines)


def run_answers_bench(root: Path) -> AnswersReport:
    dataset = load_dataset(root)
    with served_dataset(root) as client:
        return _ask_all(client, dataset)


@contextmanager
def served_dataset(root: Path) -> Iterator[_Client]:
    """``root``'s articles in a temporary knowledge base, served over real HTTP on a loopback
    port, and a client holding an agent key for it (the benches' common set-up)."""
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        settings = get_settings().model_copy(update={"data_dir": Path(tmp), "database_url": None})
        with Session(make_engine(settings)) as session:
            import_folder(session, root, actor=Actor("bench"), max_chars=10**9)
            _, key = keys.create_key(session, role=Role.agent, name="bench")
        with _serving(create_app(settings)) as port:
            client = _Client(port, {"Authorization": f"Bearer {key}"})
            try:
                yield client
            finally:
                client.close()


@contextmanager
def _serving(app: FastAPI) -> Iterator[int]:
    """Serve ``app`` with uvicorn in a background thread on a free loopback port; yield the port
    once start-up (model load, index build) is done, and stop the server afterwards."""
    # Bound before serving, so nobody else can take the port. IPPROTO_TCP named, not 0: asyncio
    # sets TCP_NODELAY only on sockets that say they are TCP, and without it every response's
    # body waits ~40 ms behind its headers (Nagle against delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", access_log=False, timeout_keep_alive=60
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="kb-bench-server", daemon=True
    )
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise KbError("The service did not start for the bench; see the log above.")
            time.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


class _Connection(http.client.HTTPConnection):
    """With TCP_NODELAY: http.client writes a request's headers and body separately, and the
    body must not wait for a delayed ACK (Nagle), which would show up as latency."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Client:
    """JSON over one kept-alive HTTP connection, with the standard library only."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self._connection = _Connection("127.0.0.1", port, timeout=300)
        self._headers = {**headers, "Content-Type": "application/json"}
        self.last_headers: dict[str, str] = {}  # the last response's, names in lower case

    def post(self, path: str, body: dict[str, Any]) -> Any:
        payload = json.dumps(body).encode()
        self._connection.request("POST", path, body=payload, headers=self._headers)
        return self._read()

    def get(self, path: str) -> Any:
        self._connection.request("GET", path, headers=self._headers)
        return self._read()

    def _read(self) -> Any:
        with self._connection.getresponse() as response:
            self.last_headers = {k.lower(): v for k, v in response.getheaders()}
            return json.loads(response.read())

    def close(self) -> None:
        self._connection.close()


def _ask_all(client: _Client, dataset: Any) -> AnswersReport:
    report = AnswersReport(questions=len(dataset.queries))
    results: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for query in dataset.queries:
        expected = set(dataset.qrels[query.id])
        for channel in CHANNELS:
            body = {"question": query.text, "channel": channel, "locale": query.locale}
            started = time.perf_counter()
            answer = client.post("/v1/answers", body)
            report.latencies_ms.append((time.perf_counter() - started) * 1000)
            canonical = answer.get("answer") or {}
            ok = (
                answer.get("status") == "answered"
                and canonical.get("article_id") in expected
                and (query.locale is None or canonical.get("locale") == query.locale)
            )
            results[(query.locale or "unknown", channel)].append(ok)
            if not ok:
                got = (
                    f"{canonical.get('article_id')} ({canonical.get('locale')})"
                    if canonical
                    else f"no_answer (confidence {answer.get('confidence')})"
                )
                report.misses.append(
                    f"{query.id} {channel}: {query.text!r} -> {got}, "
                    f"expected {', '.join(sorted(expected))}"
                )
    report.results = dict(results)
    return report
