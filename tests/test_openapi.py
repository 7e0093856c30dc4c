"""The API documents itself: every route has a summary, and its success response (and request
body, where there is one) an example, either on the operation or on the model it names."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api


def _schema_has_example(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if "examples" in schema or "example" in schema:
        return True
    ref = schema.get("$ref") or schema.get("items", {}).get("$ref", "")
    return bool(ref) and "examples" in schemas.get(ref.split("/")[-1], {})


def _content_has_example(content: dict[str, Any], schemas: dict[str, Any]) -> bool:
    return any(
        "example" in media
        or "examples" in media
        or _schema_has_example(media.get("schema", {}), schemas)
        for media in content.values()
    )


def _undocumented(operation: dict[str, Any], schemas: dict[str, Any]) -> list[str]:
    problems = []
    if not operation.get("summary"):
        problems.append("summary")
    success = [r for code, r in operation["responses"].items() if code.startswith("2")]
    if not success or not all(_content_has_example(r.get("content", {}), schemas) for r in success):
        problems.append("success example")
    body = operation.get("requestBody", {}).get("content")
    if body and not _content_has_example(body, schemas):
        problems.append("request example")
    return problems


def test_every_route_has_summary_and_examples(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    missing = {
        f"{method.upper()} {path}": problems
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
        if (problems := _undocumented(operation, schemas))
    }
    assert not missing, missing


def test_the_check_notices_a_route_without_an_example(api: Api) -> None:
    operation = {"summary": "x", "responses": {"200": {"content": {"application/json": {}}}}}
    assert _undocumented(operation, {}) == ["success example"]


def test_docs_page_is_served(api: Api) -> None:
    assert api.client.get("/docs").status_code == 200
    assert api.client.get("/healthz").json()["status"] == "ok"
