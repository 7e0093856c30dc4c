"""The editorial workflow through HTTP: versions are immutable, the KB revision rises."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kb_service.models import Role
from tests.conftest import Api

if TYPE_CHECKING:
    from httpx2 import Response

BASE = "/v1/articles/roaming-eu/translations/en-GB"
V1 = "Roaming in the EU costs nothing extra.\n\n## Outside the EU\nDaily pass: 5 EUR.\n"
V2 = "Roaming in the EU and EEA costs nothing extra.\n\n## Outside the EU\nDaily pass: 6 EUR.\n"


def _revision(api: Api) -> int:
    return int(api.client.get("/healthz").json()["kb_revision"])


def _ok(response: Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _create(api: Api) -> dict[str, Any]:
    article = {"id": "roaming-eu", "locale": "en-GB", "title": "Roaming", "markdown": V1}
    return _ok(api.post("/v1/articles", Role.editor, json=article), 201)


def _publish_cycle(api: Api) -> None:
    _ok(api.post(f"{BASE}/submit", Role.editor))
    _ok(api.post(f"{BASE}/approve"))
    _ok(api.post(f"{BASE}/publish"))


def test_draft_review_publish_edit_rollback(api: Api) -> None:
    created = _ok(
        api.post(
            "/v1/articles",
            Role.editor,
            json={
                "id": "roaming-eu",
                "locale": "en-GB",
                "title": "Roaming",
                "markdown": V1,
                "tags": ["mobile"],
            },
        ),
        201,
    )
    assert created["key"].startswith("KB-")
    assert created["translations"][0]["status"] == "draft"
    start = _revision(api)

    _publish_cycle(api)
    assert _revision(api) == start + 1
    v1 = _ok(api.get(f"{BASE}/versions/1"))

    # Editing works on a draft while v1 keeps serving.
    _ok(api.put(f"{BASE}/draft", json={"title": "Roaming", "markdown": V2}))
    assert _ok(api.get(BASE))["version"] == 1
    _publish_cycle(api)
    assert _revision(api) == start + 2
    assert _ok(api.get(BASE))["version"] == 2

    v3 = _ok(api.post(f"{BASE}/rollback", json={"to_version": 1}), 201)
    assert v3["version"] == 3
    assert v3["content_hash"] == v1["content_hash"]
    assert _revision(api) == start + 3
    assert _ok(api.get(f"{BASE}/versions/1"))["markdown"] == V1  # v1 still readable, unchanged
    assert [v["version"] for v in _ok_list(api.get(f"{BASE}/versions"))] == [1, 2, 3]


def _ok_list(response: Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def test_failed_publish_leaves_live_version(api: Api) -> None:
    _create(api)
    _publish_cycle(api)
    revision = _revision(api)
    _ok(api.put(f"{BASE}/draft", json={"title": "Roaming", "markdown": "   \n"}))
    _ok(api.post(f"{BASE}/submit", Role.editor))
    _ok(api.post(f"{BASE}/approve"))
    failed = api.post(f"{BASE}/publish")
    assert failed.status_code == 422
    assert "body is empty" in failed.json()["detail"]
    live = _ok(api.get(BASE))
    assert (live["version"], live["markdown"]) == (1, V1)
    assert _revision(api) == revision


def test_reject_returns_to_draft_with_comment(api: Api) -> None:
    _create(api)
    _ok(api.post(f"{BASE}/submit", Role.editor))
    rejected = _ok(api.post(f"{BASE}/reject", json={"comment": "Check the price."}))
    translation = rejected["translations"][0]
    assert (translation["status"], translation["review_comment"]) == ("draft", "Check the price.")


def test_archive_takes_translation_out_and_raises_revision(api: Api) -> None:
    _create(api)
    _publish_cycle(api)
    revision = _revision(api)
    _ok(api.post(f"{BASE}/archive"))
    assert _revision(api) == revision + 1
    assert api.get(BASE).status_code == 404
    assert _ok(api.get(f"{BASE}/versions/1"))["markdown"] == V1


def test_translation_in_second_locale(api: Api) -> None:
    _create(api)
    pl = "/v1/articles/roaming-eu/translations/pl-PL"
    _ok(api.put(f"{pl}/draft", json={"title": "Roaming", "markdown": "Roaming w UE bez opłat."}))
    _ok(api.post(f"{pl}/submit", Role.editor))
    _ok(api.post(f"{pl}/approve"))
    _ok(api.post(f"{pl}/publish"))
    article = _ok(api.get("/v1/articles/roaming-eu"))
    assert {t["locale"] for t in article["translations"]} == {"en-GB", "pl-PL"}
    by_key = _ok(api.get(f"/v1/articles/{article['key']}"))
    assert by_key["id"] == "roaming-eu"


def _patch(api: Api, role: Role, body: dict[str, Any]) -> Any:
    return api.client.patch("/v1/articles/roaming-eu", headers=api.headers(role), json=body)


def _visibility_events(api: Api) -> list[tuple[str, str, str, str]]:
    from sqlmodel import Session, select

    from kb_service.models import WorkflowEvent

    with Session(api.client.app.state.engine) as session:  # type: ignore[attr-defined]
        rows = session.exec(
            select(WorkflowEvent).where(
                WorkflowEvent.article_id == "roaming-eu", WorkflowEvent.locale == "*"
            )
        ).all()
    return [(e.actor, e.from_status, e.to_status, e.comment or "") for e in rows]


def test_editor_cannot_change_visibility(api: Api) -> None:
    _create(api)
    _publish_cycle(api)
    revision = _revision(api)
    forbidden = _patch(api, Role.editor, {"visibility": "internal"})
    assert forbidden.status_code == 403, forbidden.text
    assert "reviewer" in forbidden.json()["detail"]
    assert _ok(api.get("/v1/articles/roaming-eu"))["visibility"] == "public"
    assert _revision(api) == revision and _visibility_events(api) == []
    # Tags and visibility together: nothing applies.
    assert _patch(api, Role.editor, {"tags": ["x"], "visibility": "internal"}).status_code == 403
    assert _ok(api.get("/v1/articles/roaming-eu"))["tags"] == []


def test_editor_can_still_change_tags(api: Api) -> None:
    _create(api)
    assert _ok(_patch(api, Role.editor, {"tags": ["mobile", "eu"]}))["tags"] == ["mobile", "eu"]
    # Sending the visibility the article already has is not a change.
    assert _ok(_patch(api, Role.editor, {"tags": ["eu"], "visibility": "public"}))["tags"] == ["eu"]


def test_visibility_change_is_audited(api: Api) -> None:
    _create(api)
    _publish_cycle(api)
    _ok(_patch(api, Role.reviewer, {"visibility": "internal"}))
    _ok(_patch(api, Role.admin, {"visibility": "public"}))
    assert _visibility_events(api) == [
        ("test-reviewer", "public", "internal", "visibility"),
        ("test-admin", "internal", "public", "visibility"),
    ]


def test_visibility_change_raises_kb_revision_and_reindexes(api: Api) -> None:
    _create(api)
    _publish_cycle(api)
    revision = _revision(api)
    changed = _ok(_patch(api, Role.reviewer, {"visibility": "internal"}))
    assert changed["visibility"] == "internal"
    assert changed["kb_revision"] == revision + 1
    health = api.client.get("/healthz").json()
    assert health["kb_revision"] == health["index_revision"] == revision + 1


def test_setting_the_same_visibility_changes_nothing(api: Api) -> None:
    _create(api)
    _publish_cycle(api)
    revision = _revision(api)
    _ok(_patch(api, Role.reviewer, {"visibility": "public"}))
    assert _revision(api) == revision and _visibility_events(api) == []
