"""``kb serve``: one process, or several worker processes on one port.

An answer's time is mostly the model's, and one Python process keeps about one core busy, so on
a machine with more cores ``KB_WORKERS`` processes share one listening socket (uvicorn's
supervisor starts them, and restarts one that dies); each loads the model and the index once
and gives the model ``KB_TORCH_THREADS`` threads (``Settings.threads_per_worker``). They share
``KB_DATA_DIR`` and the database: one builds the index while the others wait for it
(``services.indexing``), and later publishes reach every worker through the revision poll (and
on PostgreSQL through ``NOTIFY``), as they reach other replicas.

Each worker listens on a socket of its own, all bound to the one port with ``SO_REUSEPORT``, so
the kernel spreads new connections over the workers. On one shared socket, the worker whose
event loop woke first accepted every connection that was waiting: eight clients connecting at
once all landed on one worker, whose single Python thread then did every request's HTTP,
key check and ledger work while the other worker's stood idle (it only encoded, through the
shared question queue). ``kb bench load`` put the open loop's p50 at 1.49 and 1.68 times the
floor with a socket per worker against 1.69 and 1.83 with a shared one, run in turns.

The price: a worker that dies (or is stopped) closes its socket, and the kernel resets the
connections queued on it that the worker had not yet accepted, where on a shared socket another
worker would have taken them. Their clients see a reset before any response, as those whose
requests the dying worker was answering do, so a retry is safe. Linux 5.14 and later move them
to another worker's socket instead with ``sysctl net.ipv4.tcp_migrate_req=1`` (an operator's
choice for the host, not one a service should make).
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess, multiprocess

from indexer.batching import EncodeQueue
from kb_service.config import Settings

WORKER_PING_TIMEOUT_S = 60
LISTEN_BACKLOG = 2048  # connections the kernel holds for a socket until its worker accepts them


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    if workers == 1:
        from kb_service.main import create_app

        uvicorn.run(create_app(settings), host=host, port=port, access_log=settings.access_log)
        return
    # The workers read their settings from the same KB_ environment (create_app() with none).
    config = uvicorn.Config(
        WorkerApp(EncodeQueue(encoders=workers)),
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=settings.access_log,
        # A worker answers the supervisor's pings only once its imports are done (torch takes
        # seconds on a busy machine); uvicorn's 5 s would kill and restart it during start-up.
        timeout_worker_healthcheck=WORKER_PING_TIMEOUT_S,
    )
    # Held, bound but not listening, for as long as kb serve runs: the port is taken (or the
    # error shown) before any worker starts, and port 0 becomes one port for all of them. A
    # socket that does not listen is never handed a connection.
    held = tcp_socket(host, port, reuse_port=True)
    config.port = held.getsockname()[1]
    # uvicorn's supervisor makes (and remakes, when one dies) its workers by this name.
    setattr(multiprocess, "Process", OwnSocketWorker)  # noqa: B010
    try:
        Multiprocess(config, sockets=[]).run()
    finally:
        held.close()


class OwnSocketWorker(multiprocess.Process):
    """A uvicorn worker that opens its own listening socket on the shared port (module docs).

    Bound in the worker, so it closes with the worker: a worker that dies takes its socket out
    of the kernel's choice, and the one the supervisor starts in its place adds a new one."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:
        own = tcp_socket(self.config.host, self.config.port, reuse_port=True)
        own.listen(LISTEN_BACKLOG)
        super().target([own])


def tcp_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A bound TCP socket. Made with IPPROTO_TCP named (uvicorn's own is made with 0): asyncio
    sets TCP_NODELAY only on sockets that say they are TCP, and without it a response's body
    waits ~40 ms behind its headers (Nagle against delayed ACK)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class WorkerApp:
    """The app factory each worker process calls: pickled into the worker when it is spawned,
    and with it the one question queue every worker's encoder takes from."""

    def __init__(self, encode_queue: EncodeQueue) -> None:
        self.encode_queue = encode_queue

    def __call__(self) -> Any:
        from kb_service.main import create_app

        return create_app(encode_queue=self.encode_queue)
