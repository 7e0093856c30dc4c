"""Simultaneous writers on a real SQLite file, from real threads.

Every write that raises the KB revision or inserts a version holds the database's write lock
from its first statement (``kb_service.db.begin_write``), so simultaneous publishes queue: each
raises the revision by exactly one, version numbers have no gap and no duplicate, and the index
names only a revision whose documents it serves.

To make the race of the old code certain rather than likely, ``_slow_kb_state_reads`` holds
every read of the KB state row for a moment: a writer that read the revision before taking the
lock then always overlaps with the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from indexer.documents import SourceDocument
from indexer.embed import HashingEmbedder
from kb_service.config import Settings
from kb_service.db import make_engine
from kb_service.models import Role
from kb_service.services import indexing
from kb_service.services.content_io import import_folder
from kb_service.services.indexing import IndexService
from kb_service.services.publishing import Actor, create_article, publish_direct
from tests.conftest import Api

ACTOR = Actor("test")


def _body(article_id: str) -> str:
    return f"How {article_id} works.\n\n## Details\nEverything about {article_id}.\n"


@contextmanager
def _slow_kb_state_reads(engine: Engine, seconds: float = 0.05) -> Iterator[None]:
    def pause(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "kbstate" in statement:
            time.sleep(seconds)

    event.listen(engine, "after_cursor_execute", pause)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", pause)


def _all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread, released together; results in call order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # reported, not lost in the thread
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert not isinstance(response, Exception), repr(response)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _served(api: Api) -> set[str]:
    index = api.index.current
    return {section.article_id for section in index.sections}


def _health(api: Api) -> dict[str, Any]:
    return _ok(api.client.get("/healthz"))


@pytest.fixture
def quiet_settings(tmp_path: Path) -> Settings:
    """No index poll: what the index serves is what publishes and refreshes made it."""
    return Settings(data_dir=tmp_path / "data", embedding_model="hashing", index_poll_seconds=0)


def _approved(api: Api, article_id: str) -> str:
    article = {"id": article_id, "locale": "en-GB", "title": article_id, "markdown": _body("x")}
    _ok(api.post("/v1/articles", Role.editor, json=article), 201)
    base = f"/v1/articles/{article_id}/translations/en-GB"
    _ok(api.post(f"{base}/submit", Role.editor))
    _ok(api.post(f"{base}/approve"))
    return base


def test_simultaneous_publishes_each_raise_the_revision(
    make_api: Callable[..., Api], quiet_settings: Settings
) -> None:
    api = make_api(quiet_settings)
    _ok(api.post(f"{_approved(api, 'first')}/publish"))
    bases = [_approved(api, f"article-{i}") for i in range(10)]
    before = _health(api)["kb_revision"]

    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    with _slow_kb_state_reads(engine):
        responses = _all_at_once(
            [lambda base=base: api.post(f"{base}/publish") for base in bases]  # type: ignore[misc]
        )

    for response in responses:
        _ok(response)
    health = _health(api)
    assert health["kb_revision"] == before + 10
    assert health["index_revision"] == health["kb_revision"]
    assert _served(api) == {"first"} | {f"article-{i}" for i in range(10)}


def test_one_translation_published_twice_at_once_numbers_versions_without_gap(
    make_api: Callable[..., Api], quiet_settings: Settings
) -> None:
    api = make_api(quiet_settings)
    base = _approved(api, "roaming")
    _ok(api.post(f"{base}/publish"))
    engine = api.client.app.state.engine  # type: ignore[attr-defined]

    for round_ in range(2, 4):
        _ok(api.put(f"{base}/draft", json={"title": "Roaming", "markdown": _body(f"r{round_}")}))
        _ok(api.post(f"{base}/submit", Role.editor))
        _ok(api.post(f"{base}/approve"))
        revision = _health(api)["kb_revision"]
        with _slow_kb_state_reads(engine):
            twice = _all_at_once([lambda: api.post(f"{base}/publish")] * 2)
        statuses = sorted(r.status_code for r in twice)
        assert statuses == [200, 409], [r.text for r in twice]
        loser = next(r for r in twice if r.status_code == 409)
        assert "it is published" in loser.json()["detail"]
        assert _health(api)["kb_revision"] == revision + 1

    # Rollbacks always insert a version: four at once make four, numbered on.
    with _slow_kb_state_reads(engine):
        rollbacks = _all_at_once([lambda: api.post(f"{base}/rollback", json={"to_version": 1})] * 4)
    assert sorted(_ok(r, 201)["version"] for r in rollbacks) == [4, 5, 6, 7]
    versions = api.get(f"{base}/versions").json()
    assert [v["version"] for v in versions] == [1, 2, 3, 4, 5, 6, 7]
    assert len({v["kb_revision"] for v in versions}) == 7


def test_index_never_claims_a_revision_it_does_not_serve(
    quiet_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(quiet_settings)
    service = IndexService(quiet_settings, engine, HashingEmbedder())

    def publish(article_id: str) -> None:
        with Session(engine) as session:
            create_article(
                session, actor=ACTOR, article_id=article_id, locale="en-GB", title="t", markdown="x"
            )
            publish_direct(
                session,
                actor=ACTOR,
                article_id=article_id,
                locale="en-GB",
                title=article_id,
                markdown=_body(article_id),
            )

    publish("a")
    service.start()
    publish("b")  # KB revision 2; the index is at 1

    # "c" is published (revision 3) while the refresh is between reading the KB revision and
    # reading the documents: the new generation must be revision 2 with exactly a and b.
    original = indexing.live_documents

    def publish_in_between(session: Session) -> list[SourceDocument]:
        publish("c")
        return original(session)

    monkeypatch.setattr(indexing, "live_documents", publish_in_between)
    assert service.refresh()
    monkeypatch.setattr(indexing, "live_documents", original)
    assert _revision_and_articles(service) == (2, {"a", "b"})

    # The publish committed after the snapshot leaves the index behind: the next refresh builds.
    assert service.refresh()
    assert _revision_and_articles(service) == (3, {"a", "b", "c"})
    engine.dispose()


def _revision_and_articles(service: IndexService) -> tuple[int, set[str]]:
    index = service.current
    assert index is not None
    return index.manifest.kb_revision, {section.article_id for section in index.sections}


def test_visibility_change_reaches_the_index(
    make_api: Callable[..., Api], quiet_settings: Settings
) -> None:
    api = make_api(quiet_settings)
    base = _approved(api, "tariffs")
    _ok(api.post(f"{base}/publish"))
    revision = _health(api)["kb_revision"]

    _ok(
        api.client.patch(
            "/v1/articles/tariffs",
            headers=api.headers(Role.reviewer),
            json={"visibility": "internal"},
        )
    )

    health = _health(api)
    assert health["kb_revision"] == revision + 1
    assert health["index_revision"] == health["kb_revision"]
    index = api.index.current
    assert all(section.internal for section in index.sections if section.article_id == "tariffs")


def test_reimport_with_new_visibility_reaches_the_index(
    quiet_settings: Settings, tmp_path: Path
) -> None:
    engine = make_engine(quiet_settings)
    service = IndexService(quiet_settings, engine, HashingEmbedder())
    folder = tmp_path / "articles"
    folder.mkdir()
    page = "---\nid: tariffs\nlocale: en-GB\ntitle: Tariffs\nvisibility: {}\n---\n" + _body("t")
    (folder / "tariffs.md").write_text(page.format("public"))
    with Session(engine) as session:
        import_folder(session, folder, actor=ACTOR)
    service.start()
    assert _revision_and_articles(service) == (1, {"tariffs"})

    (folder / "tariffs.md").write_text(page.format("internal"))
    with Session(engine) as session:
        report = import_folder(session, folder, actor=ACTOR)
    assert (report.unchanged, report.problems) == (1, [])
    assert service.refresh()
    assert service.current is not None and service.current.manifest.kb_revision == 2
    assert all(section.internal for section in service.current.sections)
    engine.dispose()
