"""Real ``kb serve`` processes for the scale-out and fault tests (hashing embedder, fast)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.pgserver import free_port

KB = [sys.executable, "-c", "from kb_service.cli import main; main()"]


def kb_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env.update(
        KB_DATABASE_URL=database_url,
        KB_DATA_DIR=str(data_dir),
        KB_EMBEDDING_MODEL="hashing",
        KB_LOG_LEVEL="INFO",
        **extra,
    )
    return env


def kb(database_url: str, data_dir: Path, *args: str, **extra: str) -> str:
    """Run a ``kb`` command to its end; its stdout."""
    result = subprocess.run(
        [*KB, *args],
        env=kb_env(database_url, data_dir, **extra),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def create_key(database_url: str, data_dir: Path, role: str) -> str:
    out = kb(database_url, data_dir, "keys", "create", "--role", role, "--name", f"t-{role}")
    return out.strip().splitlines()[-1]


class Replica:
    """One ``kb serve`` process on a free port, with its own data dir."""

    def __init__(self, name: str, database_url: str, data_dir: Path, **extra: str) -> None:
        self.name = name
        self.database_url = database_url
        self.data_dir = data_dir
        self.port = free_port()
        self.extra = extra
        self.log = data_dir.parent / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait: float = 60.0) -> Replica:
        env = kb_env(
            self.database_url,
            self.data_dir,
            KB_PORT=str(self.port),
            KB_REPLICA_NAME=self.name,
            **self.extra,
        )
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [*KB, "serve"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        """kill -9: no shutdown handler, no cleanup."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def health(self) -> dict[str, Any]:
        response = httpx.get(f"{self.base}/healthz", timeout=5)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def request(
        self, method: str, path: str, key: str, *, json: Any = None, params: Any = None
    ) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.base}{path}",
            headers={"Authorization": f"Bearer {key}"},
            json=json,
            params=params,
            timeout=30,
        )


def wait_until(condition: Any, timeout: float, every: float = 0.05) -> float:
    """Seconds until ``condition()`` was true; AssertionError after ``timeout``."""
    start = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(every)
