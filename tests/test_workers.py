"""``kb serve`` with several worker processes on one SQLite data dir (``KB_WORKERS``)."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.replicas import Replica, create_key, kb, wait_until

ARTICLE = """---
id: {id}
title: {title}
locale: en-GB
---
{body}
"""


def _write(folder: Path, article_id: str, title: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{article_id}.md").write_text(ARTICLE.format(id=article_id, title=title, body=body))
    return folder


def _all_workers_started(server: Replica, workers: int) -> bool:
    return server.log.read_text(errors="replace").count("Application startup complete") >= workers


@pytest.mark.slow
def test_two_workers_build_once_and_both_serve_a_publish_made_elsewhere(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    url = f"sqlite:///{data_dir / 'kb.sqlite3'}"
    first = _write(tmp_path / "one", "pay-bill", "Paying your bill", "Pay by card or transfer.")
    kb(url, data_dir, "import", str(first))
    key = create_key(url, data_dir, "agent")
    server = Replica("workers", url, data_dir, KB_WORKERS="2", KB_INDEX_POLL_SECONDS="0.5")
    server.start()
    try:
        wait_until(lambda: _all_workers_started(server, 2), timeout=120, every=0.2)
        generations = list((data_dir / "index" / "generations").iterdir())
        assert len(generations) == 1, "the second worker waited and loaded the first one's build"
        # Published by another process (as `kb import` or another replica would).
        second = _write(tmp_path / "two", "roaming", "Roaming abroad", "Roaming is free in the EU.")
        kb(url, data_dir, "import", str(second))
        revision = server.health()["kb_revision"]

        def every_answer_is_current() -> bool:
            # A new connection per request, so the requests reach both workers.
            healths = [httpx.get(f"{server.base}/healthz", timeout=5).json() for _ in range(30)]
            return all(h["index_revision"] == revision for h in healths)

        wait_until(every_answer_is_current, timeout=60, every=0.2)
        answer = server.request(
            "POST", "/v1/answers", key, json={"question": "Is roaming free?", "channel": "chat"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["kb_revision"] == revision
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text(errors="replace")


def _worker_pids(server: Replica) -> list[int]:
    assert server.process is not None
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    # the multiprocessing resource tracker is a child too, but never loads the app
    return [int(child) for child in children if "spawn_main" in _cmdline(int(child))]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _sockets(port: int, state: str) -> set[str]:
    """The inodes of the TCP sockets on local ``port`` in ``state`` (01 established, 0A listen)."""
    inodes = set()
    for entry in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = entry.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            inodes.add(fields[9])
    return inodes


def _held(pid: int, inodes: set[str]) -> int:
    """How many of these sockets process ``pid`` has open."""
    held = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        held += target.startswith("socket:[") and target[8:-1] in inodes
    return held


def _connections_held(pid: int, port: int) -> int:
    """Established connections to ``port`` that process ``pid`` holds the server end of."""
    return _held(pid, _sockets(port, "01"))


def _connect_at_once(server: Replica, count: int) -> list[socket.socket]:
    """``count`` connections opened together, as a bot's connection pool does at its start,
    each then kept alive through a health check (so each has been accepted)."""
    clients = [
        socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(count)
    ]
    time.sleep(0.5)  # all waiting to be accepted at once
    for client in clients:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: kb\r\n\r\n")
    for client in clients:
        assert client.recv(65536).startswith(b"HTTP/1.1 200"), "every connection is served"
    return clients


@pytest.mark.slow
def test_connections_opened_together_spread_over_both_workers_also_after_one_dies(
    tmp_path: Path,
) -> None:
    """On one shared socket, the worker that woke first accepted all of them (``serving``)."""
    data_dir = tmp_path / "data"
    url = f"sqlite:///{data_dir / 'kb.sqlite3'}"
    kb(url, data_dir, "import", str(_write(tmp_path / "one", "pay-bill", "Paying", "By card.")))
    server = Replica("spread", url, data_dir, KB_WORKERS="2")
    server.start()
    try:
        wait_until(lambda: _all_workers_started(server, 2), timeout=120, every=0.2)
        workers = _worker_pids(server)
        assert len(workers) == 2
        # 16 connections: all on one worker by chance once in 30,000 rounds. (On a shared
        # socket, a round put them all on one worker about every third time.)
        for _ in range(4):
            clients = _connect_at_once(server, 16)
            held = [_connections_held(pid, server.port) for pid in workers]
            assert sum(held) == 16 and min(held) > 0, held
            for client in clients:
                client.close()
            wait_until(lambda: sum(_connections_held(p, server.port) for p in workers) == 0, 10)

        listening = _sockets(server.port, "0A")
        assert _held(workers[0], listening) == 1, "each worker listens on a socket of its own"
        os.kill(workers[0], signal.SIGKILL)
        # The kernel closes a killed process's socket a moment after the process has gone, and
        # a connection queued on it meanwhile is reset (``serving``). Once it is closed, the
        # other worker serves every connection: none waits on the dead one's socket.
        wait_until(lambda: len(listening & _sockets(server.port, "0A")) == 1, 10, every=0.01)
        for _ in range(8):
            assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
        wait_until(lambda: _all_workers_started(server, 3), timeout=120, every=0.2)
        replacement = [pid for pid in _worker_pids(server) if pid not in workers]
        assert len(replacement) == 1, "the supervisor started one worker in the dead one's place"
        clients = _connect_at_once(server, 16)
        held = [_connections_held(pid, server.port) for pid in (workers[1], replacement[0])]
        assert sum(held) == 16 and min(held) > 0, held
        for client in clients:
            client.close()
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_access_log_is_a_setting(tmp_path: Path, workers: str) -> None:
    """KB_ACCESS_LOG=false: no line per request, where it is on by default (one or more
    workers); the start-up lines stay."""
    data_dir = tmp_path / "data"
    url = f"sqlite:///{data_dir / 'kb.sqlite3'}"
    kb(url, data_dir, "import", str(_write(tmp_path / "one", "pay-bill", "Paying", "By card.")))
    for access_log, expected in (("true", 1), ("false", 0)):
        server = Replica(f"log-{access_log}", url, data_dir, KB_WORKERS=workers)
        server.extra["KB_ACCESS_LOG"] = access_log
        server.start(wait=120)
        try:
            wait_until(lambda s=server: _all_workers_started(s, int(workers)), 120, every=0.2)
            assert httpx.get(f"{server.base}/v1/healthz-missing", timeout=5).status_code == 404
        finally:
            server.stop()
        assert server.log.read_text().count('"GET /v1/healthz-missing HTTP/1.1" 404') == expected
