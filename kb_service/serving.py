"""``kb serve``: one process, or several worker processes on one port.

An answer's time is mostly the model's, and one Python process keeps about one core busy, so on
a machine with more cores ``KB_WORKERS`` processes share one listening socket (uvicorn's
supervisor starts them, and restarts one that dies); each loads the model and the index once
and gives the model ``KB_TORCH_THREADS`` threads (``Settings.threads_per_worker``). They share
``KB_DATA_DIR`` and the database: one builds the index while the others wait for it
(``services.indexing``), and later publishes reach every worker through the revision poll (and
on PostgreSQL through ``NOTIFY``), as they reach other replicas.
"""

from __future__ import annotations

import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from indexer.batching import EncodeQueue
from kb_service.config import Settings

WORKER_PING_TIMEOUT_S = 60


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    if workers == 1:
        from kb_service.main import create_app

        uvicorn.run(create_app(settings), host=host, port=port)
        return
    # The workers read their settings from the same KB_ environment (create_app() with none).
    config = uvicorn.Config(
        WorkerApp(EncodeQueue(encoders=workers)),
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # A worker answers the supervisor's pings only once its imports are done (torch takes
        # seconds on a busy machine); uvicorn's 5 s would kill and restart it during start-up.
        timeout_worker_healthcheck=WORKER_PING_TIMEOUT_S,
    )
    Multiprocess(config, sockets=[listening_socket(host, port)]).run()


def listening_socket(host: str, port: int) -> socket.socket:
    """Bound here and inherited by the workers. Made with IPPROTO_TCP named (uvicorn's own is
    made with 0): asyncio sets TCP_NODELAY only on sockets that say they are TCP, and without it
    a response's body waits ~40 ms behind its headers (Nagle against delayed ACK)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class WorkerApp:
    """The app factory each worker process calls: pickled into the worker when it is spawned,
    and with it the one question queue every worker's encoder takes from."""

    def __init__(self, encode_queue: EncodeQueue) -> None:
        self.encode_queue = encode_queue

    def __call__(self) -> Any:
        from kb_service.main import create_app

        return create_app(encode_queue=self.encode_queue)
