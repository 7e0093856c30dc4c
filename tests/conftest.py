"""Shared fixtures.

Two kinds of app: ``api`` uses the hashing embedder (a fake, for plumbing: workflow, errors,
auth), ``demo_api`` the real multilingual model and a real FAISS index over the demo content
(retrieval and answers). The real model is loaded once per test session and shared.

The expensive set-ups are made once per session as templates under a temporary folder and
copied (a data dir is the SQLite file plus ``index/``): an empty migrated database for every
``api``, the demo content imported and embedded for every ``demo_api``.

The database: SQLite (a file in the data dir) by default; with ``KB_TEST_DATABASE=postgresql``
a PostgreSQL server is started once per session (``tests/pgserver.py``) and every test that
uses a data dir (``settings``, ``api``, ``make_api`` or ``tmp_path``) gets a fresh database,
copied from a migrated template, named by ``KB_DATABASE_URL`` in its environment (so
``Settings(...)`` made in a test and ``kb`` subprocesses use it too). The real-model template
(``demo_template``) stays on SQLite: `make test` runs the model tests once, on SQLite.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from indexer import artifact
from indexer.embed import Embedder, HashingEmbedder, load_embedder, resolve_precision
from kb_service.config import Settings
from kb_service.db import make_engine
from kb_service.main import create_app
from kb_service.models import Role
from kb_service.services import keys
from kb_service.services.indexing import IndexService
from tests.pgserver import PgServer

# The running service, browser and tab of the page tests, registered once so that the channel
# tools' and the console's tests share one session-wide service and one Chromium.
pytest_plugins = ("tests.browser",)

if TYPE_CHECKING:
    # Starlette's TestClient is typed against httpx2 (what it uses when installed; it falls
    # back to httpx otherwise), so its responses are httpx2 responses, not httpx ones.
    from httpx2 import Response

# The serving process freezes its long-lived objects out of the garbage collector's walks
# (kb_service.heap); in the test process that would keep every finished test's garbage cycles
# (apps, engines, their connections) for good. tests/test_heap.py turns it on where it tests it.
os.environ.setdefault("KB_GC_FREEZE", "false")

REPO = Path(__file__).resolve().parent.parent
CONTENT = REPO / "content"
ALLEGRO = REPO.parent / "shared" / "eval" / "allegro_faq"
WIDGET_ORIGIN = "https://shop.example"  # the test widget key works from this origin only

Params = Mapping[str, Any]


class Api:
    """A TestClient with one API key per role."""

    def __init__(self, client: TestClient) -> None:
        assert isinstance(client.app, FastAPI)
        self.client = client
        self.app = client.app
        self.keys: dict[Role, str] = {}
        with Session(self.app.state.engine) as session:
            for role in Role:
                origins = [WIDGET_ORIGIN] if role == Role.widget else None
                _, plain = keys.create_key(
                    session, role=role, name=f"test-{role.value}", origins=origins
                )
                self.keys[role] = plain

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def get(self, url: str, role: Role = Role.agent, *, params: Params | None = None) -> Response:
        return self.client.get(url, headers=self.headers(role), params=params)

    def post(
        self,
        url: str,
        role: Role = Role.reviewer,
        *,
        json: Any = None,
        params: Params | None = None,
    ) -> Response:
        return self.client.post(url, headers=self.headers(role), json=json, params=params)

    def put(
        self, url: str, role: Role = Role.editor, *, json: Any = None, params: Params | None = None
    ) -> Response:
        return self.client.put(url, headers=self.headers(role), json=json, params=params)

    def delete(
        self, url: str, role: Role = Role.admin, *, params: Params | None = None
    ) -> Response:
        return self.client.delete(url, headers=self.headers(role), params=params)

    @property
    def index(self) -> IndexService:
        index: IndexService = self.app.state.index
        return index


TEST_DATABASE = os.environ.get("KB_TEST_DATABASE", "sqlite")
ON_POSTGRES = TEST_DATABASE == "postgresql"
PG_TEMPLATE = "kb_template"
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="about SQLite's own files and errors")
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES, reason="needs a PostgreSQL server: KB_TEST_DATABASE=postgresql"
)
# Tests that get a fresh PostgreSQL database when the suite runs on PostgreSQL.
_DATABASE_FIXTURES = frozenset({"settings", "api", "make_api", "tmp_path"})


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the session, with a migrated template database."""
    if not ON_POSTGRES:
        pytest.skip("needs a PostgreSQL server: KB_TEST_DATABASE=postgresql")
    server = PgServer().start()
    try:
        url = server.new_database(name=PG_TEMPLATE)
        make_engine(Settings(data_dir=server.root / "template", database_url=url)).dispose()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(autouse=True)
def _test_database(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """On PostgreSQL: a fresh database per test that uses a data dir (KB_DATABASE_URL)."""
    if not ON_POSTGRES or not _DATABASE_FIXTURES.intersection(request.fixturenames):
        monkeypatch.delenv("KB_DATABASE_URL", raising=False)
        yield
        return
    server: PgServer = request.getfixturevalue("pg_server")
    url = server.new_database(template=PG_TEMPLATE)
    monkeypatch.setenv("KB_DATABASE_URL", url)
    yield
    server.drop_database(url.rsplit("/", 1)[1])


def _copy_data_dir(template: Path, destination: Path) -> Path:
    """A private copy of a template data dir (whose engine is disposed: nothing in the WAL)."""
    shutil.copytree(template, destination)
    return destination


@pytest.fixture(scope="session")
def empty_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with a migrated, empty database; a template, copied by ``settings``."""
    data_dir = tmp_path_factory.mktemp("empty-template") / "data"
    if not ON_POSTGRES:  # on PostgreSQL the template is a database (``pg_server``)
        make_engine(Settings(data_dir=data_dir, embedding_model="hashing")).dispose()
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir


@pytest.fixture
def settings(tmp_path: Path, empty_data_dir: Path) -> Settings:
    data_dir = _copy_data_dir(empty_data_dir, tmp_path / "data")
    return Settings(data_dir=data_dir, embedding_model="hashing")


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    """Start an app (lifespan included) with the given settings and embedder."""
    clients: list[TestClient] = []

    def start(settings: Settings, embedder: Embedder | None = None) -> Api:
        client = TestClient(create_app(settings, embedder=embedder or HashingEmbedder()))
        client.__enter__()
        clients.append(client)
        return Api(client)

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def rounding_of(embedder: Embedder) -> float:
    """How far two encodings of one text may differ component-wise when they were computed in
    different batches (other padding, other kernel blocking): float32 rounding, or bfloat16's
    where the model runs in it (``KB_MODEL_PRECISION``; about 3 significant digits)."""
    precision = getattr(embedder, "precision", "float32")
    return 1e-5 if resolve_precision(precision) == "float32" else 2e-3


@pytest.fixture
def api(make_api: Callable[..., Api], settings: Settings) -> Api:
    return make_api(settings)


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    settings = Settings()
    return load_embedder(
        "default", model_cache=settings.model_cache, precision=settings.model_precision
    )


@pytest.fixture
def model_settings(tmp_path: Path, real_embedder: Embedder) -> Settings:
    return Settings(data_dir=tmp_path / "data", embedding_model="default")


@dataclass(frozen=True)
class DemoTemplate:
    """The demo content imported and indexed once per session. Copy it; never start on it."""

    data_dir: Path
    generation: str  # the folder CURRENT names
    kb_revision: int


@pytest.fixture(scope="session")
def demo_template(
    tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder
) -> DemoTemplate:
    from kb_service.services.content_io import import_folder
    from kb_service.services.publishing import Actor

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("demo-template") / "data",
        embedding_model="default",
        database_url=None,  # SQLite, whatever KB_DATABASE_URL says (see the module docstring)
    )
    engine = make_engine(settings)
    try:
        with Session(engine) as session:
            report = import_folder(session, CONTENT, actor=Actor("test"))
            assert not report.problems, report.problems
        index = IndexService(settings, engine, real_embedder)
        index.start()
    finally:
        engine.dispose()
    generation = artifact.current_generation(settings.index_dir)
    assert index.current is not None and generation is not None
    return DemoTemplate(settings.data_dir, generation.name, index.current.manifest.kb_revision)


@pytest.fixture(scope="module")
def demo_api(
    tmp_path_factory: pytest.TempPathFactory, demo_template: DemoTemplate, real_embedder: Embedder
) -> Iterator[Api]:
    """A copy of the demo template, served with the real model; shared by a test module."""
    data_dir = _copy_data_dir(demo_template.data_dir, tmp_path_factory.mktemp("demo") / "data")
    settings = Settings(data_dir=data_dir, embedding_model="default", database_url=None)
    with TestClient(create_app(settings, embedder=real_embedder)) as client:
        api = Api(client)
        # The copy must start on the template's generation, not re-embed the demo content.
        generation = artifact.current_generation(settings.index_dir)
        assert generation is not None and generation.name == demo_template.generation
        current = api.index.current
        assert current is not None and current.manifest.kb_revision == demo_template.kb_revision
        assert api.index.refresh() is False, "the copied index was rebuilt"
        yield api


def publish(api: Api, article_id: str, locale: str, title: str, markdown: str) -> None:
    """Create (or edit) and publish through the whole review workflow."""
    base = f"/v1/articles/{article_id}/translations/{locale}"
    existing = api.get(f"/v1/articles/{article_id}")
    if existing.status_code == 404:
        created = api.post(
            "/v1/articles",
            Role.editor,
            json={"id": article_id, "locale": locale, "title": title, "markdown": markdown},
        )
        assert created.status_code == 201, created.text
    else:
        assert existing.status_code == 200, existing.text
        saved = api.put(f"{base}/draft", json={"title": title, "markdown": markdown})
        assert saved.status_code == 200, saved.text
    for step, role in (
        ("submit", Role.editor),
        ("approve", Role.reviewer),
        ("publish", Role.reviewer),
    ):
        response = api.post(f"{base}/{step}", role)
        assert response.status_code == 200, response.text


# --------------------------------------------------------------------------- markers
# Self-contained; kept last in this file. `make test-fast` (pytest -m "not model") relies on it.

_REAL_MODEL_FIXTURES = frozenset({"real_embedder", "model_settings", "demo_api"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``model`` every test that uses the real model, directly or through a fixture."""
    for item in items:
        if _REAL_MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)
