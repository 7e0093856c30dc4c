"""``kb serve`` with several worker processes on one SQLite data dir (``KB_WORKERS``)."""

from __future__ import annotations

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
