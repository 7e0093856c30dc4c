"""The running service and the browser that the page tests share (the channel tools'
`test_widgets_browser.py` and the console's `test_console_browser.py`): one service on a real
port with the real model over the demo content and a key per role, a headless Chromium
(Debian's; Playwright only drives it) per module, and a tab that fails the test on any page
error, CSP refusal, failed request or undocumented endpoint. Registered once in `conftest.py`
(`pytest_plugins`), so every page test uses the same session-wide service.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlmodel import Session

from indexer.embed import Embedder
from kb_service.config import Settings
from kb_service.db import make_engine
from kb_service.main import create_app
from kb_service.models import Role
from kb_service.services import keys
from kb_service.services.content_io import import_folder
from kb_service.services.publishing import Actor
from tests.conftest import CONTENT, REPO

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "docs" / "screenshots"


@dataclass
class Service:
    """The running service: its base URL, a key per role and an HTTP client."""

    base: str
    keys: dict[Role, str]
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base, timeout=60)

    def request(self, method: str, path: str, role: Role, body: Any = None) -> httpx.Response:
        # A widget key works only from its page's origin, which a browser sends as `Origin`.
        origin = {"Origin": self.base} if role == Role.widget else {}
        headers = {"Authorization": f"Bearer {self.keys[role]}", **origin}
        return self.http.request(method, path, headers=headers, json=body)

    def call(self, method: str, path: str, role: Role, body: Any = None) -> Any:
        response = self.request(method, path, role, body)
        assert response.is_success, response.text
        return response.json()

    def answer(self, question: str, channel: str, role: Role, **extra: Any) -> Any:
        body = {"question": question, "channel": channel, **extra}
        return self.call("POST", "/v1/answers", role, body)


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory, real_embedder: Embedder) -> Iterator[Service]:
    """The demo content, imported; the app served by uvicorn on a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    data = tmp_path_factory.mktemp("widgets") / "data"
    settings = Settings(data_dir=data, embedding_model="default", public_base_url=base)
    with Session(make_engine(settings)) as session:
        assert not import_folder(session, CONTENT, actor=Actor("test")).problems
        roles = (Role.agent, Role.editor, Role.reviewer)
        created = {r: keys.create_key(session, role=r, name=f"browser-{r.value}")[1] for r in roles}
        created[Role.widget] = keys.create_key(  # the chat widget's key, for this origin only
            session, role=Role.widget, name="browser-widget", origins=[base]
        )[1]
    app = create_app(settings, embedder=real_embedder)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the service did not start"
        time.sleep(0.05)
    running = Service(base, created)
    yield running
    running.http.close()
    server.should_exit = True
    thread.join()
    sock.close()


# One per test module, not per session: Playwright's sync API keeps an event loop running in
# the main thread while it is open, and later modules may call asyncio.run() (test_overload).
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A page plus everything it did that it should not have: errors, CSP refusals,
    dialogs (alert/confirm), and every URL it requested (keys must never be in one)."""

    page: Page
    problems: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


def open_tab(browser: Browser, **context: Any) -> Tab:
    ctx = browser.new_context(**{"locale": "en-GB", **context})
    tab = Tab(ctx.new_page())
    tab.page.on("pageerror", lambda err: tab.problems.append(f"page error: {err}"))
    tab.page.on("console", lambda msg: _console(tab, msg.type, msg.text))
    tab.page.on("response", lambda r: _response(tab, r.status, r.url))
    tab.page.on("dialog", lambda d: (tab.problems.append(f"dialog: {d.message}"), d.dismiss()))
    tab.page.on("request", lambda request: tab.urls.append(request.url))
    return tab


def _console(tab: Tab, kind: str, text: str) -> None:
    # Failed loads are reported with their URL by _response; CSP refusals arrive here.
    if kind == "error" and not text.startswith("Failed to load resource"):
        tab.problems.append(f"console: {text}")


def _response(tab: Tab, status: int, url: str) -> None:
    if status >= 400 and not url.endswith("/favicon.ico"):  # the browser's own guess
        tab.problems.append(f"HTTP {status}: {url}")


@pytest.fixture
def tab(browser: Browser, documented: list[re.Pattern[str]]) -> Iterator[Tab]:
    opened = open_tab(browser, viewport={"width": 1280, "height": 800})
    yield opened
    opened.page.context.close()
    assert not opened.problems, opened.problems
    called = {urlsplit(url).path for url in opened.urls if "/v1/" in url}
    undocumented = [p for p in called if not any(d.fullmatch(p) for d in documented)]
    assert not undocumented, f"tools called endpoints the OpenAPI document lacks: {undocumented}"


@pytest.fixture(scope="session")
def documented(service: Service) -> list[re.Pattern[str]]:
    """The API paths of the OpenAPI document, as patterns (``{answer_id}`` is one segment)."""
    spec = service.http.get("/openapi.json").json()
    return [
        re.compile(re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)))
        for path in spec["paths"]
        if path.startswith("/v1/")
    ]


def shoot(page: Page, name: str, **options: Any) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), **options)


def wait_for_index(service: Service) -> None:
    """Publishing re-indexes in the background; wait until the new generation serves."""
    for _ in range(600):
        health = service.http.get("/healthz").json()
        if health["index_revision"] == health["kb_revision"]:
            return
        time.sleep(0.1)
    pytest.fail("the index never caught up with the knowledge base")
