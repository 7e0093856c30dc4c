"""The API documents itself: every route has a summary and an example of what it exchanges."""

from __future__ import annotations

from typing import Any

from kb_service.api.problems import ERRORS
from tests.conftest import Api


def _schema_has_example(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    if "example" in schema or schema.get("examples"):
        return True
    ref = schema.get("$ref", "")
    if ref:
        return _schema_has_example(schemas.get(ref.split("/")[-1], {}), schemas)
    if schema.get("type") == "array":  # a list of examples-bearing items shows as one
        return _schema_has_example(schema.get("items", {}), schemas)
    return False


def _content_has_example(content: dict[str, Any], schemas: dict[str, Any]) -> bool:
    return any(
        "example" in media
        or bool(media.get("examples"))
        or _schema_has_example(media.get("schema", {}), schemas)
        for media in content.values()
    )


def _has_example(operation: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """What a caller sends (the request body, where there is one), else what a success returns.

    Only those count: the shared error responses every route lists carry a problem+json
    example of their own, which says nothing about the route.
    """
    body = operation.get("requestBody")
    if body is not None:
        return _content_has_example(body.get("content", {}), schemas)
    success = [r for code, r in operation.get("responses", {}).items() if code.startswith("2")]
    return any(_content_has_example(r.get("content", {}), schemas) for r in success)


def _json(media: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": media}}


def test_the_example_check_ignores_the_shared_error_examples() -> None:
    errors = {str(code): response for code, response in ERRORS.items()}
    assert not _has_example({"responses": {**errors, "200": _json({"schema": {}})}}, {})
    documented = {**errors, "200": _json({"example": {"id": "a1"}})}
    assert _has_example({"responses": documented}, {})
    listed = _json({"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Out"}}})
    assert _has_example({"responses": {"200": listed}}, {"Out": {"examples": [{"id": "a1"}]}})
    # Where there is a request body, it is the body that needs the example.
    body = _json({"schema": {"$ref": "#/components/schemas/In"}})
    operation = {"requestBody": body, "responses": documented}
    assert not _has_example(operation, {"In": {"type": "object"}})
    assert _has_example(operation, {"In": {"type": "object", "examples": [{"id": "a1"}]}})


def test_every_route_has_summary_and_example(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) >= 20, "the spec lost its routes"
    missing = [
        name
        for name, operation in operations
        if not operation.get("summary") or not _has_example(operation, schemas)
    ]
    assert not missing, "routes without a summary or an example:\n" + "\n".join(missing)


def test_docs_page_is_served(api: Api) -> None:
    assert api.client.get("/docs").status_code == 200
    assert api.client.get("/healthz").json()["status"] == "ok"
