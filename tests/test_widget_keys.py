"""A key that can sit on a public web page: the `widget` role.

It may only ask for answers and rate them, never sees internal articles, works only from the
web origins listed for it (CORS and an `Origin` check), and is rate-limited per key and client
address. Plumbing tests with the hashing embedder; abstention is off so answers always cite.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kb_service.cli import app as cli
from kb_service.config import Settings
from kb_service.models import Role
from tests.conftest import WIDGET_ORIGIN, Api, publish

OTHER_ORIGIN = "https://evil.example"
QUESTION = {"question": "How much goodwill credit may agents grant?", "channel": "chat"}


@pytest.fixture
def kb(make_api: Callable[..., Api], tmp_path: Path) -> Api:
    settings = Settings(
        data_dir=tmp_path / "kb",
        embedding_model="hashing",
        widget_rate_limit="5/minute",
        **{f"min_confidence_{c}": 0.0 for c in ("chat", "email", "phone", "social")},  # type: ignore[arg-type]
    )
    api = make_api(settings)
    publish(api, "roaming", "en-GB", "Roaming", "Roaming in the EU costs nothing extra.")
    publish(api, "goodwill", "en-GB", "Goodwill", "Agents may grant goodwill credit up to 50 EUR.")
    made_internal = api.client.patch(
        "/v1/articles/goodwill", headers=api.headers(Role.reviewer), json={"visibility": "internal"}
    )
    assert made_internal.status_code == 200, made_internal.text
    api.index.refresh()
    return api


def _widget(api: Api, method: str, url: str, origin: str | None = WIDGET_ORIGIN, **kw: Any) -> Any:
    headers = api.headers(Role.widget)
    if origin is not None:
        headers["Origin"] = origin
    return api.client.request(method, url, headers=headers, **kw)


def test_widget_key_answers_from_its_origin_and_names_no_internal_article(kb: Api) -> None:
    response = _widget(kb, "POST", "/v1/answers", json=QUESTION)
    assert response.status_code == 200, response.text
    body = response.json()
    named = {body["answer"]["article_id"]} | {a["article_id"] for a in body["alternatives"]}
    assert named == {"roaming"}  # the goodwill article is internal
    assert response.headers["access-control-allow-origin"] == WIDGET_ORIGIN


def test_widget_key_is_refused_from_an_origin_not_on_its_list(kb: Api) -> None:
    for origin in (OTHER_ORIGIN, None, WIDGET_ORIGIN + ":8443", "http://shop.example"):
        response = _widget(kb, "POST", "/v1/answers", origin=origin, json=QUESTION)
        assert response.status_code == 403, (origin, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


def test_widget_key_sends_feedback_that_reaches_the_api(kb: Api) -> None:
    answer = _widget(kb, "POST", "/v1/answers", json=QUESTION).json()
    rated = _widget(
        kb, "POST", f"/v1/answers/{answer['answer_id']}/feedback", json={"helpful": True}
    )
    assert rated.status_code == 201, rated.text
    article = kb.get("/v1/articles/roaming").json()
    assert article["feedback"]["helpful"] == 1


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/v1/search?q=roaming"),
        ("GET", "/v1/articles"),
        ("GET", "/v1/articles/roaming/translations/en-GB"),
        ("GET", "/v1/customers/c-1/timeline"),
        ("GET", "/v1/insights/gaps"),
        ("POST", "/v1/articles/roaming/translations/en-GB/publish"),
        ("POST", "/v1/keys"),
    ],
)
def test_widget_key_can_only_ask_and_rate(kb: Api, method: str, url: str) -> None:
    response = _widget(kb, method, url, json={"role": "agent", "name": "x"})
    assert response.status_code == 403, response.text


def test_widget_key_cannot_replay_answers(kb: Api) -> None:
    answer = _widget(kb, "POST", "/v1/answers", json=QUESTION).json()
    assert _widget(kb, "GET", f"/v1/answers/{answer['answer_id']}").status_code == 403


def test_widget_answer_never_reads_back_a_customers_history(kb: Api) -> None:
    kb.post("/v1/answers", Role.agent, json={**QUESTION, "customer_id": "c-9"})
    asked = _widget(kb, "POST", "/v1/answers", json={**QUESTION, "customer_id": "c-9"}).json()
    assert asked["previously_told"] == []
    timeline = kb.get("/v1/customers/c-9/timeline").json()
    assert len(timeline["entries"]) == 2  # recorded for the agents all the same


def test_cors_preflight_is_answered_only_for_listed_origins(kb: Api) -> None:
    def preflight(origin: str) -> Any:
        return kb.client.options(
            "/v1/answers",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )

    allowed = preflight(WIDGET_ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == WIDGET_ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    refused = preflight(OTHER_ORIGIN)
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


def test_widget_key_is_rate_limited_per_client_address(kb: Api) -> None:
    statuses = [_widget(kb, "POST", "/v1/answers", json=QUESTION).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    limited = _widget(kb, "POST", "/v1/answers", json=QUESTION)
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert kb.post("/v1/answers", Role.agent, json=QUESTION).status_code == 200


def test_widget_key_needs_origins_and_other_roles_take_none(kb: Api) -> None:
    def create(body: dict[str, Any]) -> int:
        return kb.post("/v1/keys", Role.admin, json=body).status_code

    assert create({"role": "widget", "name": "w"}) == 422
    assert create({"role": "agent", "name": "a", "origins": [WIDGET_ORIGIN]}) == 422
    assert create({"role": "widget", "name": "w", "origins": ["https://shop.example/path"]}) == 422
    assert create({"role": "widget", "name": "w", "origins": ["javascript:alert(1)"]}) == 422
    assert create({"role": "widget", "name": "w", "origins": ["https://a.example"]}) == 201


def test_cli_creates_a_widget_key_bound_to_its_origins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    made = runner.invoke(
        cli, ["keys", "create", "--role", "widget", "--name", "shop", "--origin", WIDGET_ORIGIN]
    )
    assert made.exit_code == 0, made.output
    assert WIDGET_ORIGIN in made.output
    refused = runner.invoke(cli, ["keys", "create", "--role", "widget", "--name", "shop"])
    assert refused.exit_code == 1
    listed = runner.invoke(cli, ["keys", "list"])
    assert "widget" in listed.output and WIDGET_ORIGIN in listed.output


def test_the_openapi_page_documents_the_widget_role(kb: Api) -> None:
    spec = kb.client.get("/openapi.json").json()
    assert "widget" in spec["components"]["schemas"]["Role"]["enum"]
    assert "`widget`" in spec["info"]["description"]
    assert (
        "widget"
        in spec["components"]["schemas"]["KeyCreate"]["properties"]["origins"]["description"]
    )
