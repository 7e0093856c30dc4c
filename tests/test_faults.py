"""Crashes and outages with real ``kb serve`` processes on PostgreSQL.

- two concurrent publishes of one translation through two replicas: one wins, one 409, no gap;
- the database stopped under traffic: 503 problem+json with Retry-After, searches served from
  the in-memory index, and the service recovers by itself when the database is back;
- kill -9 of a replica in the middle of publishes, of a replica in the middle of an index
  build, and of ``kb import``: a restart serves the last published version and a good index.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, create_engine

from kb_service.config import Settings
from kb_service.db import make_engine
from kb_service.services.content_io import import_folder
from kb_service.services.publishing import Actor
from tests.conftest import CONTENT, postgres_only
from tests.pgserver import PgServer
from tests.replicas import KB, Replica, create_key, kb_env, wait_until

pytestmark = postgres_only

SETTINGS = {"KB_INDEX_POLL_SECONDS": "60", "KB_MIN_CONFIDENCE_CHAT": "0"}
ARTICLE = "fault-article"
BASE = f"/v1/articles/{ARTICLE}/translations/en-GB"
ROLES = ("editor", "reviewer", "agent")


@pytest.fixture
def database(pg_server: PgServer) -> str:
    return pg_server.new_database(template="kb_template")


@pytest.fixture
def keys(database: str, tmp_path: Path) -> dict[str, str]:
    return {role: create_key(database, tmp_path / "keys", role) for role in ROLES}


@pytest.fixture
def replicas(database: str, tmp_path: Path) -> Iterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    for replica in started:
        replica.stop()


def _start(replicas: list[Replica], name: str, database: str, tmp_path: Path) -> Replica:
    replica = Replica(name, database, tmp_path / name, **SETTINGS).start()
    replicas.append(replica)
    return replica


def _ok(response: httpx.Response) -> httpx.Response:
    assert response.status_code in (200, 201), response.text
    return response


def _draft_to_approved(replica: Replica, keys: dict[str, str], markdown: str) -> None:
    if replica.request("GET", f"/v1/articles/{ARTICLE}", keys["agent"]).status_code == 404:
        body = {"id": ARTICLE, "locale": "en-GB", "title": "Fault", "markdown": markdown}
        _ok(replica.request("POST", "/v1/articles", keys["editor"], json=body))
    else:
        body = {"title": "Fault", "markdown": markdown}
        _ok(replica.request("PUT", f"{BASE}/draft", keys["editor"], json=body))
    _ok(replica.request("POST", f"{BASE}/submit", keys["editor"]))
    _ok(replica.request("POST", f"{BASE}/approve", keys["reviewer"]))


def _versions(database: str) -> list[tuple[str, str, int]]:
    engine = create_engine(database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT article_id, locale, version FROM articleversion ORDER BY 1, 2, 3")
            )
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        engine.dispose()


def _no_gaps(database: str) -> int:
    """Every translation's versions are 1..n; returns how many versions there are."""
    by_translation: dict[tuple[str, str], list[int]] = {}
    for article, locale, version in _versions(database):
        by_translation.setdefault((article, locale), []).append(version)
    for numbers in by_translation.values():
        assert numbers == list(range(1, len(numbers) + 1)), by_translation
    return sum(len(v) for v in by_translation.values())


def _consistent(replica: Replica) -> None:
    health = replica.health()
    assert health["index_revision"] == health["kb_revision"], health


# ---------------------------------------------------------------- concurrent publishes


def test_two_replicas_publishing_one_translation_at_once_one_wins(
    database: str, keys: dict[str, str], replicas: list[Replica], tmp_path: Path
) -> None:
    a = _start(replicas, "a", database, tmp_path)
    b = _start(replicas, "b", database, tmp_path)
    for round_ in range(3):
        _draft_to_approved(a, keys, f"Round {round_} of the race.")
        revision = a.health()["kb_revision"]
        barrier = threading.Barrier(2)

        def publish(replica: Replica, barrier: threading.Barrier = barrier) -> int:
            barrier.wait()
            return replica.request("POST", f"{BASE}/publish", keys["reviewer"]).status_code

        with ThreadPoolExecutor(2) as pool:
            codes = sorted(pool.map(publish, (a, b)))
        assert codes == [200, 409], codes
        assert a.health()["kb_revision"] == revision + 1
        assert _no_gaps(database) == round_ + 1
    wait_until(lambda: b.health()["index_revision"] == a.health()["kb_revision"], 5)


# ---------------------------------------------------------------- the database goes away


def test_database_outage_gives_503_with_retry_after_and_recovers(
    pg_server: PgServer,
    database: str,
    keys: dict[str, str],
    replicas: list[Replica],
    tmp_path: Path,
) -> None:
    a = _start(replicas, "a", database, tmp_path)
    _draft_to_approved(a, keys, "## Outage\n\nQuokka lanterns are served from memory.")
    _ok(a.request("POST", f"{BASE}/publish", keys["reviewer"]))
    wait_until(lambda: a.health()["index_revision"] == a.health()["kb_revision"], 5)
    search = {"q": "quokka lanterns"}
    _ok(a.request("GET", "/v1/search", keys["agent"], params=search))  # the key is checked

    pg_server.stop("fast")
    try:
        answer = a.request(
            "POST", "/v1/answers", keys["agent"], json={"question": "quokka", "channel": "chat"}
        )
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert int(answer.headers["retry-after"]) > 0
        assert "cannot be reached" in answer.json()["detail"]
        draft = a.request(
            "PUT", f"{BASE}/draft", keys["editor"], json={"title": "x", "markdown": "y"}
        )
        assert draft.status_code == 503 and "retry-after" in draft.headers
        assert a.request("GET", "/readyz", keys["agent"]).status_code == 503
        # searches keep being served from the in-memory index, with a key checked before
        served = a.request("GET", "/v1/search", keys["agent"], params=search)
        assert served.status_code == 200, served.text
        assert served.json()["hits"][0]["article_id"] == ARTICLE
    finally:
        pg_server.pg_ctl_start()

    # it recovers by itself: stale pooled connections are replaced (pre-ping)
    wait_until(lambda: a.request("GET", "/readyz", keys["agent"]).status_code == 200, 15)
    _draft_to_approved(a, keys, "## Outage\n\nQuokka lanterns are back.")
    _ok(a.request("POST", f"{BASE}/publish", keys["reviewer"]))
    wait_until(lambda: a.health()["index_revision"] == a.health()["kb_revision"], 10)
    assert _no_gaps(database) == 2


# ---------------------------------------------------------------- kill -9


def test_kill_9_of_a_replica_during_publishes(
    database: str, keys: dict[str, str], replicas: list[Replica], tmp_path: Path
) -> None:
    a = _start(replicas, "a", database, tmp_path)
    b = _start(replicas, "b", database, tmp_path)
    _draft_to_approved(a, keys, "Version one.")
    _ok(a.request("POST", f"{BASE}/publish", keys["reviewer"]))
    stop = threading.Event()

    def publish_forever() -> None:
        n = 2
        while not stop.is_set():
            try:
                _draft_to_approved(a, keys, f"Version {n}.")
                a.request("POST", f"{BASE}/publish", keys["reviewer"])
                n += 1
            except (httpx.HTTPError, AssertionError):
                return  # the replica is gone

    writer = threading.Thread(target=publish_forever)
    writer.start()
    time.sleep(1.5 + random.random())
    a.kill()
    stop.set()
    writer.join(30)

    published = _no_gaps(database)
    assert published >= 2
    a.start()  # same data dir: the last good generation, then catch-up
    for replica in (a, b):
        wait_until(lambda r=replica: r.health()["index_revision"] == r.health()["kb_revision"], 5)
        hits = replica.request("GET", "/v1/search", keys["agent"], params={"q": "version"})
        assert hits.json()["hits"][0]["version"] == published
    assert a.health()["kb_revision"] == published


SLOW_SERVE = """
import sys, time
from pathlib import Path
from indexer import embed
marker = Path(sys.argv[1])
original = embed.HashingEmbedder.embed_passages
def slow(self, texts):
    marker.write_text("embedding")
    time.sleep(30)
    return original(self, texts)
embed.HashingEmbedder.embed_passages = slow
from kb_service.cli import main
sys.argv = ["kb", "serve"]
main()
"""


def test_kill_9_during_an_index_build_keeps_the_last_good_generation(
    database: str, keys: dict[str, str], replicas: list[Replica], tmp_path: Path
) -> None:
    import subprocess

    a = _start(replicas, "a", database, tmp_path)
    _draft_to_approved(a, keys, "## First\n\nThe first published version.")
    _ok(a.request("POST", f"{BASE}/publish", keys["reviewer"]))
    wait_until(lambda: a.health()["index_revision"] == a.health()["kb_revision"], 5)
    a.stop()  # a's index has generation 1; from now on a builds slowly

    # Publish without any replica embedding it (straight into the database).
    engine = make_engine(Settings(data_dir=tmp_path / "direct", database_url=database))
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "second.md").write_text(
        "---\nid: second\nlocale: en-GB\ntitle: Second\n---\n## Second\n\nA new article.\n"
    )
    with Session(engine) as session:
        assert not import_folder(session, tmp_path / "more", actor=Actor("t")).problems
    engine.dispose()

    marker = tmp_path / "embedding"
    env = kb_env(database, a.data_dir, KB_PORT=str(a.port), **SETTINGS)
    slow = subprocess.Popen([KB[0], "-c", SLOW_SERVE, str(marker)], env=env)
    try:
        wait_until(marker.exists, 60)  # it is building the next generation now
    finally:
        slow.kill()
        slow.wait(10)
    before = sorted(p.name for p in (a.data_dir / "index").iterdir())

    a.start()  # the last good generation loads; then it catches up
    wait_until(lambda: a.health()["index_revision"] == a.health()["kb_revision"], 10)
    hits = a.request("GET", "/v1/search", keys["agent"], params={"q": "new article"}).json()
    assert any(h["article_id"] == "second" for h in hits["hits"]), (before, hits)


def test_kill_9_of_kb_import_leaves_whole_articles_and_a_rerun_completes(
    database: str, keys: dict[str, str], replicas: list[Replica], tmp_path: Path
) -> None:
    import subprocess

    data = tmp_path / "import"
    env = kb_env(database, data)
    importer = subprocess.Popen(
        [*KB, "import", str(CONTENT)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    engine = create_engine(database)

    def revision() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT revision FROM kbstate")).scalar_one())

    try:
        wait_until(lambda: revision() >= 3 or importer.poll() is not None, 120)
    finally:
        importer.kill()
        importer.wait(10)
    partial = _no_gaps(database)
    assert revision() >= partial  # every version raised the revision in its own transaction
    engine.dispose()

    rerun = subprocess.run([*KB, "import", str(CONTENT)], env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    total = _no_gaps(database)
    assert total >= partial
    again = subprocess.run([*KB, "import", str(CONTENT)], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and _no_gaps(database) == total  # idempotent

    a = _start(replicas, "a", database, tmp_path)
    _consistent(a)
    assert a.health()["sections"] > 0
