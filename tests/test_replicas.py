"""Two real ``kb serve`` replicas on one PostgreSQL database stay consistent.

A publish, an archive and a rollback through replica A are served by replica B within seconds:
the publish transaction NOTIFYs (a trigger on the KB revision), B's listener refreshes its
index from the embeddings A stored. The poll is set to 60 s here, so what is measured is the
notification path. A third replica started afterwards embeds nothing: every vector is in the
database already.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import postgres_only
from tests.pgserver import PgServer
from tests.replicas import Replica, create_key, wait_until

pytestmark = postgres_only

ARTICLE = "roaming-zone-x"
BASE = f"/v1/articles/{ARTICLE}/translations/en-GB"
DELAYS: dict[str, float] = {}
# The poll is the fallback; 60 s here so the notification is what is measured. The hashing
# embedder's confidences are low: answer whatever is found.
SETTINGS = {"KB_INDEX_POLL_SECONDS": "60", "KB_MIN_CONFIDENCE_CHAT": "0"}


@pytest.fixture
def cluster(
    pg_server: PgServer, tmp_path: Path
) -> Iterator[tuple[Replica, Replica, dict[str, str]]]:
    url = pg_server.new_database(template="kb_template")
    keys = {role: create_key(url, tmp_path / "a", role) for role in ("editor", "reviewer", "agent")}
    a = Replica("replica-a", url, tmp_path / "a", **SETTINGS)
    b = Replica("replica-b", url, tmp_path / "b", **SETTINGS)
    try:
        a.start(), b.start()
        yield a, b, keys
    finally:
        a.stop(), b.stop()


def _serves(replica: Replica, key: str, query: str, version: int | None) -> bool:
    hits = replica.request("GET", "/v1/search", key, params={"q": query}).json()["hits"]
    mine = [h for h in hits if h["article_id"] == ARTICLE]
    if version is None:
        return not mine
    return bool(mine) and mine[0]["version"] == version


def _step(
    replica: Replica, keys: dict[str, str], path: str, role: str, body: object = None
) -> None:
    response = replica.request("POST", f"{BASE}/{path}", keys[role], json=body)
    assert response.status_code in (200, 201), response.text


def _publish(replica: Replica, keys: dict[str, str], title: str, markdown: str) -> None:
    if replica.request("GET", f"/v1/articles/{ARTICLE}", keys["agent"]).status_code == 404:
        body = {"id": ARTICLE, "locale": "en-GB", "title": title, "markdown": markdown}
        created = replica.request("POST", "/v1/articles", keys["editor"], json=body)
        assert created.status_code == 201, created.text
    else:
        saved = replica.request(
            "PUT", f"{BASE}/draft", keys["editor"], json={"title": title, "markdown": markdown}
        )
        assert saved.status_code == 200, saved.text
    _step(replica, keys, "submit", "editor")
    _step(replica, keys, "approve", "reviewer")
    _step(replica, keys, "publish", "reviewer")


def test_a_publish_through_one_replica_is_served_by_the_other(
    cluster: tuple[Replica, Replica, dict[str, str]], tmp_path: Path
) -> None:
    a, b, keys = cluster
    assert (a.health()["replica"], b.health()["replica"]) == ("replica-a", "replica-b")
    for replica in (a, b):  # warm up (language detection loads on the first search)
        assert _serves(replica, keys["agent"], "zebrafinch roaming", None)

    _publish(a, keys, "Roaming in zone X", "## Zone X\n\nZebrafinch roaming costs 2 EUR a day.")
    DELAYS["publish"] = wait_until(lambda: _serves(b, keys["agent"], "zebrafinch roaming", 1), 5)
    answer = b.request(
        "POST",
        "/v1/answers",
        keys["agent"],
        json={"question": "zebrafinch roaming costs", "channel": "chat", "locale": "en-GB"},
    ).json()
    assert answer["answer"] is not None and answer["answer"]["article_id"] == ARTICLE
    assert answer["answer"]["version"] == 1

    _publish(a, keys, "Roaming in zone X", "## Zone X\n\nZebrafinch roaming costs 3 EUR a day.")
    DELAYS["edit"] = wait_until(lambda: _serves(b, keys["agent"], "zebrafinch roaming", 2), 5)

    _step(a, keys, "rollback", "reviewer", {"to_version": 1})
    DELAYS["rollback"] = wait_until(lambda: _serves(b, keys["agent"], "zebrafinch roaming", 3), 5)
    answer = b.request(
        "POST", "/v1/answers", keys["agent"], json={"question": "zebrafinch", "channel": "chat"}
    ).json()
    assert "2 EUR" in answer["answer"]["markdown"]

    _step(a, keys, "archive", "reviewer")
    DELAYS["archive"] = wait_until(lambda: _serves(b, keys["agent"], "zebrafinch roaming", None), 5)

    health_a, health_b = a.health(), b.health()
    assert health_a["kb_revision"] == health_b["kb_revision"] == health_b["index_revision"]
    assert (
        b.request("GET", "/v1/search", keys["agent"], params={"q": "x"}).json()["kb_revision"]
        == health_a["kb_revision"]
    )
    (tmp_path / "delays.json").write_text(json.dumps(DELAYS))
    print("replica delays (s):", json.dumps({k: round(v, 3) for k, v in DELAYS.items()}))

    # A new replica builds its index from the stored embeddings: nothing embedded.
    _publish(
        a, keys, "Roaming in zone X", "## Zone X\n\nZebrafinch roaming: 4 EUR.\n\n## More\n\nAsk."
    )
    c = Replica("replica-c", a.database_url, tmp_path / "c", **SETTINGS)
    try:
        c.start()
        assert _serves(c, keys["agent"], "zebrafinch roaming", 4)
        built = [line for line in c.log.read_text().splitlines() if "index:" in line]
        assert built and all(" 0 embedded" in line for line in built), built
    finally:
        c.stop()
