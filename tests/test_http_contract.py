"""The HTTP contract at the edge: every status a route can answer is in the OpenAPI document,
oversize bodies get 413 however they are sent, 405 says what is allowed, and numbers past what
the database holds are refused (422) rather than reaching it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kb_service.config import Settings
from kb_service.models import Role
from tests.conftest import Api, publish

ARTICLE = {"id": "a1", "locale": "en-GB", "title": "T", "markdown": "Body text."}


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def _documented_statuses(api: Api, method: str, path: str) -> set[int]:
    spec = api.client.get("/openapi.json").json()
    return {int(code) for code in spec["paths"][path][method.lower()]["responses"]}


def test_chunked_oversize_body_is_413(make_api: Callable[..., Api], settings: Settings) -> None:
    small = make_api(settings.model_copy(update={"max_body_bytes": 2000}))

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent with Transfer-Encoding: chunked
        yield b'{"id": "a1", "locale": "en-GB", "title": "T", "markdown": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = small.client.post(
        "/v1/articles",
        content=chunks(),
        headers={**small.headers(Role.editor), "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    body = _problem(response, 413)
    assert "2000 bytes" in body["detail"]


def test_chunked_body_under_the_limit_still_reaches_the_route(
    make_api: Callable[..., Api], settings: Settings
) -> None:
    small = make_api(settings.model_copy(update={"max_body_bytes": 2000}))

    def chunks() -> Iterator[bytes]:
        yield b'{"id": "a1", "locale": "en-GB", '
        yield b'"title": "T", "markdown": "Body."}'

    response = small.client.post(
        "/v1/articles",
        content=chunks(),
        headers={**small.headers(Role.editor), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


def test_invalid_utf8_body_gets_a_documented_status(api: Api) -> None:
    response = api.client.post(
        "/v1/articles",
        content=b'{"id": "a1", "locale": "en-GB", "title": "\xff\xfe", "markdown": "x"}',
        headers={**api.headers(Role.editor), "Content-Type": "application/json"},
    )
    assert response.status_code in _documented_statuses(api, "POST", "/v1/articles")
    body = _problem(response, 400)
    assert "UTF-8" in body["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/articles", "GET, POST"),  # two routes share the path: both listed
        ("PUT", "/v1/answers", "POST"),
        ("TRACE", "/healthz", "GET"),
        ("POST", "/v1/keys/1", "DELETE"),
        ("PATCH", "/v1/articles/a1/translations/en-GB/draft", "PUT"),
    ],
)
def test_405_lists_allowed_methods(api: Api, method: str, path: str, allowed: str) -> None:
    response = api.client.request(method, path, headers=api.headers(Role.admin))
    _problem(response, 405)
    assert response.headers["allow"] == allowed


def test_every_route_documents_the_statuses_the_edge_can_answer(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    missing = {}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            documented = {int(code) for code in operation["responses"]}
            # Any request can be over the body limit; only health checks are never shed.
            needed = {413} | ({503} if path != "/healthz" else set())
            if "requestBody" in operation:
                needed |= {400, 422}  # unreadable (not UTF-8) or invalid body
            if operation.get("security"):
                needed |= {401, 403}
            if gap := needed - documented:
                missing[f"{method.upper()} {path}"] = sorted(gap)
    assert not missing, missing


def test_503_is_documented_with_retry_after_and_a_problem_schema(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    overloaded = spec["paths"]["/v1/answers"]["post"]["responses"]["503"]
    assert "Retry-After" in overloaded["headers"]
    schema = overloaded["content"]["application/problem+json"]["schema"]
    assert set(schema["required"]) == {"type", "title", "status", "detail", "instance"}


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("DELETE", f"/v1/keys/{2**63}", None),
        ("DELETE", f"/v1/keys/{-(2**63) - 1}", None),
        ("GET", f"/v1/articles/a1/translations/en-GB/versions/{2**63}", None),
        ("GET", f"/v1/articles?offset={2**63}", None),
        ("POST", "/v1/articles/a1/translations/en-GB/rollback", {"to_version": 2**63}),
    ],
)
def test_integers_too_large_for_the_database_are_422_not_500(
    api: Api, method: str, url: str, body: dict[str, Any] | None
) -> None:
    publish(api, "a1", "en-GB", "T", "Body text.")  # so that a 404 cannot stand in for the 422
    response = api.client.request(method, url, headers=api.headers(Role.admin), json=body)
    _problem(response, 422)


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/v1/articles", {**ARTICLE, "locale": "ytw-9Sz-pmRtmY21"}),  # fits the documented pattern
        ("/v1/articles", {**ARTICLE, "id": "9._-x"}),
    ],
)
def test_values_the_document_allows_are_accepted(api: Api, url: str, body: dict[str, Any]) -> None:
    response: Any = api.post(url, Role.editor, json=body)
    assert response.status_code == 201, response.text


def test_the_document_states_the_locale_and_article_id_rules(api: Api) -> None:
    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    create = schemas["ArticleCreate"]["properties"]
    assert create["locale"]["pattern"].startswith("^")
    assert any("pattern" in option for option in create["id"]["anyOf"])
