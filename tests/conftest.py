"""Shared fixtures.

Two kinds of app: ``client`` uses the hashing embedder (a fake, for plumbing: workflow, errors,
auth), ``model_client`` the real multilingual model and a real FAISS index (retrieval and
answers). The real model is loaded once per test session and shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from indexer.embed import Embedder, HashingEmbedder, load_embedder
from kb_service.config import Settings
from kb_service.main import create_app
from kb_service.models import Role
from kb_service.services import keys

REPO = Path(__file__).resolve().parent.parent
CONTENT = REPO / "content"
ALLEGRO = REPO.parent / "shared" / "eval" / "allegro_faq"
WIDGET_ORIGIN = "https://shop.example"  # the test widget key works from this origin only


class Api:
    """A TestClient with one API key per role."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.keys: dict[Role, str] = {}
        with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
            for role in Role:
                origins = [WIDGET_ORIGIN] if role == Role.widget else None
                _, plain = keys.create_key(
                    session, role=role, name=f"test-{role.value}", origins=origins
                )
                self.keys[role] = plain

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def get(self, url: str, role: Role = Role.agent, **kw: object) -> object:
        return self.client.get(url, headers=self.headers(role), **kw)  # type: ignore[arg-type]

    def post(self, url: str, role: Role = Role.reviewer, **kw: object) -> object:
        return self.client.post(url, headers=self.headers(role), **kw)  # type: ignore[arg-type]

    def put(self, url: str, role: Role = Role.editor, **kw: object) -> object:
        return self.client.put(url, headers=self.headers(role), **kw)  # type: ignore[arg-type]

    def delete(self, url: str, role: Role = Role.admin, **kw: object) -> object:
        return self.client.delete(url, headers=self.headers(role), **kw)  # type: ignore[arg-type]

    @property
    def index(self) -> object:
        return self.client.app.state.index  # type: ignore[attr-defined]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", embedding_model="hashing")


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


@pytest.fixture
def api(make_api: Callable[..., Api], settings: Settings) -> Api:
    return make_api(settings)


@pytest.fixture(scope="session")
def real_embedder() -> Embedder:
    return load_embedder("default", model_cache=Settings().model_cache)


@pytest.fixture
def model_settings(tmp_path: Path, real_embedder: Embedder) -> Settings:
    return Settings(data_dir=tmp_path / "data", embedding_model="default")


@pytest.fixture(scope="module")
def demo_api(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Iterator[Api]:
    """The demo content, imported and indexed with the real model; shared by a test module."""
    from kb_service.db import make_engine
    from kb_service.services.content_io import import_folder
    from kb_service.services.publishing import Actor

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("demo") / "data", embedding_model="default"
    )
    with Session(make_engine(settings)) as session:
        report = import_folder(session, CONTENT, actor=Actor("test"))
        assert not report.problems
    client = TestClient(create_app(settings, embedder=real_embedder))
    client.__enter__()
    yield Api(client)
    client.__exit__(None, None, None)


def publish(api: Api, article_id: str, locale: str, title: str, markdown: str) -> None:
    """Create (or edit) and publish through the whole review workflow."""
    base = f"/v1/articles/{article_id}/translations/{locale}"
    existing = api.get(f"/v1/articles/{article_id}")
    if existing.status_code == 404:  # type: ignore[attr-defined]
        created = api.post(
            "/v1/articles",
            Role.editor,
            json={"id": article_id, "locale": locale, "title": title, "markdown": markdown},
        )
        assert created.status_code == 201, created.text  # type: ignore[attr-defined]
    else:
        saved = api.put(f"{base}/draft", json={"title": title, "markdown": markdown})
        assert saved.status_code == 200, saved.text  # type: ignore[attr-defined]
    for step, role in (
        ("submit", Role.editor),
        ("approve", Role.reviewer),
        ("publish", Role.reviewer),
    ):
        response = api.post(f"{base}/{step}", role)
        assert response.status_code == 200, response.text  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- markers
# Self-contained; kept last in this file. `make test-fast` (pytest -m "not model") relies on it.

_REAL_MODEL_FIXTURES = frozenset({"real_embedder", "model_settings", "demo_api"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``model`` every test that uses the real model, directly or through a fixture."""
    for item in items:
        if _REAL_MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)
