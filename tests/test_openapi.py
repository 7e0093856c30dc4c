"""The API documents itself: every route has a summary and an example."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api


def _has_example(operation: dict[str, Any], schemas: dict[str, Any]) -> bool:
    text = str(operation)
    if "example" in text:
        return True
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = body.get("schema", {}).get("$ref", "")
    return bool(ref) and "examples" in schemas.get(ref.split("/")[-1], {})


def test_every_route_has_summary_and_example(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    missing = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            if not operation.get("summary") or not _has_example(operation, schemas):
                missing.append(f"{method.upper()} {path}")
    assert not missing, missing


def test_docs_page_is_served(api: Api) -> None:
    assert api.client.get("/docs").status_code == 200
    assert api.client.get("/healthz").json()["status"] == "ok"
