"""What the editors' console needs from the API: roles on publishing (an agent never
publishes; with four eyes nobody signs off their own draft), the draft preview from the server's
renderers, the article list's filters and translations behind their source, the answered share
per channel and locale, and the `/console/` address. The console in a browser:
test_console_browser.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from kb_service.config import Settings
from kb_service.models import Role
from kb_service.services import keys
from kb_service.services.content_io import export_folder
from tests.conftest import Api, publish

BASE = "/v1/articles/roaming/translations/en-GB"
TEXT = "Roaming in the EU costs nothing.\n\n## Outside the EU\n\nA daily pass costs **5 EUR**.\n"


def _create_and_submit(api: Api, role: Role = Role.editor) -> None:
    body = {"id": "roaming", "locale": "en-GB", "title": "Roaming", "markdown": TEXT}
    assert api.post("/v1/articles", role, json=body).status_code == 201
    assert api.post(f"{BASE}/submit", role).status_code == 200


def _problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail: str = response.json()["detail"]
    return detail


def test_an_agent_or_editor_key_cannot_approve_or_publish(api: Api) -> None:
    _create_and_submit(api)
    for role in (Role.agent, Role.editor):
        assert "may not do this" in _problem(api.post(f"{BASE}/approve", role), 403)
    assert api.post(f"{BASE}/approve", Role.reviewer).status_code == 200
    for role in (Role.agent, Role.editor):
        _problem(api.post(f"{BASE}/publish", role), 403)
    assert api.get(BASE).status_code == 404  # still not live


def _second_reviewer_api(make_api: Callable[..., Api], settings: Settings) -> Api:
    return make_api(settings.model_copy(update={"require_second_reviewer": True}))


def test_with_four_eyes_nobody_approves_or_publishes_their_own_draft(
    make_api: Callable[..., Api], settings: Settings
) -> None:
    api = _second_reviewer_api(make_api, settings)
    _create_and_submit(api, Role.reviewer)  # a reviewer wrote it
    detail = _problem(api.post(f"{BASE}/approve", Role.reviewer), 403)
    assert "second reviewer" in detail and "test-reviewer" in detail
    assert api.post(f"{BASE}/approve", Role.admin).status_code == 200  # another person
    # The author may not publish it either, even once someone else approved it.
    assert "second reviewer" in _problem(api.post(f"{BASE}/publish", Role.reviewer), 403)
    assert api.post(f"{BASE}/publish", Role.admin).status_code == 200
    assert api.get(BASE).json()["version"] == 1


def test_with_four_eyes_an_editors_draft_goes_through_a_reviewer(
    make_api: Callable[..., Api], settings: Settings
) -> None:
    api = _second_reviewer_api(make_api, settings)
    _create_and_submit(api)
    assert api.post(f"{BASE}/approve", Role.reviewer).status_code == 200
    assert api.post(f"{BASE}/publish", Role.reviewer).status_code == 200


def test_without_the_setting_a_reviewer_may_publish_their_own_draft(api: Api) -> None:
    _create_and_submit(api, Role.reviewer)
    assert api.post(f"{BASE}/approve", Role.reviewer).status_code == 200
    assert api.post(f"{BASE}/publish", Role.reviewer).status_code == 200


def test_the_preview_is_what_an_answer_on_the_channel_would_show(
    make_api: Callable[..., Api], settings: Settings
) -> None:
    # The hashing fake is no judge of meaning: let chat answer whatever it finds best.
    api = make_api(settings.model_copy(update={"min_confidence_chat": 0.0}))
    body = {"markdown": TEXT, "title": "Roaming", "locale": "en-GB"}
    publish(api, "roaming", "en-GB", "Roaming", TEXT)
    api.index.refresh()
    preview = api.post("/v1/render", Role.editor, json={**body, "article_id": "KB-0001"})
    assert preview.status_code == 200, preview.text
    result = preview.json()
    assert result["channel"] == "chat"
    html = [s["rendering"]["html"] for s in result["sections"]]
    assert any("<strong>5 EUR</strong>" in h for h in html)
    assert all("<strong>Roaming</strong>" in h for h in html)  # the line an answer starts with
    ask = {"question": "Outside the EU daily pass", "channel": "chat"}
    answer = api.post("/v1/answers", Role.agent, json=ask).json()
    assert answer["status"] == "answered", answer
    assert answer["rendering"]["html"] in html  # the same bytes, link and all


@pytest.mark.parametrize("channel", ["email", "phone", "social"])
def test_the_preview_renders_every_channel(api: Api, channel: str) -> None:
    body = {"markdown": TEXT, "title": "Roaming", "locale": "pl-PL", "channel": channel}
    result = api.post("/v1/render", Role.editor, json=body).json()
    assert {s["rendering"]["channel"] for s in result["sections"]} == {channel}


def test_the_preview_is_for_editors_and_refuses_bad_input(api: Api) -> None:
    body = {"markdown": TEXT, "title": "Roaming", "locale": "en-GB"}
    for role in (Role.agent, Role.bot, Role.widget):
        _problem(api.post("/v1/render", role, json=body), 403)
    _problem(api.post("/v1/render", Role.editor, json={**body, "locale": "x\u0000"}), 422)
    _problem(api.post("/v1/render", Role.editor, json={**body, "channel": "fax"}), 422)
    _problem(api.post("/v1/render", Role.editor, json={**body, "article_id": "nope"}), 404)
    huge = {**body, "markdown": "x" * (api.app.state.settings.max_article_chars + 1)}
    _problem(api.post("/v1/render", Role.editor, json=huge), 422)


def _ids(api: Api, **params: Any) -> list[str]:
    response = api.get("/v1/articles", Role.editor, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_the_list_filters_by_state_locale_visibility_and_review_date(api: Api) -> None:
    publish(api, "wifi", "en-GB", "Wi-Fi", "Restart the router.")
    publish(api, "sim", "pl-PL", "SIM", "Włóż kartę SIM.")
    _create_and_submit(api)
    past = (date.today() - timedelta(days=1)).isoformat()
    assert api.client.patch(
        "/v1/articles/sim", headers=api.headers(Role.reviewer), json={"review_by": past}
    ).is_success
    vis = api.client.patch(
        "/v1/articles/wifi", headers=api.headers(Role.reviewer), json={"visibility": "internal"}
    )
    assert vis.is_success
    assert _ids(api) == ["wifi", "sim", "roaming"]  # by key
    assert _ids(api, status="in_review") == ["roaming"]
    assert _ids(api, status="published", locale="en-GB") == ["wifi"]
    assert _ids(api, locale="pl-PL") == ["sim"]
    assert _ids(api, visibility="internal") == ["wifi"]
    assert _ids(api, overdue="true") == ["sim"]
    item = api.get("/v1/articles", Role.editor, params={"locale": "pl-PL"}).json()["items"][0]
    assert item["title"] == "SIM" and item["review_by"] == past
    assert item["translations"][0]["status"] == "published"
    _problem(api.get("/v1/articles", Role.editor, params={"status": "lost"}), 422)
    _problem(api.get("/v1/articles", Role.editor, params={"locale": "x\u0000"}), 422)


def test_a_translation_is_behind_when_its_source_is_republished(api: Api) -> None:
    publish(api, "roaming", "en-GB", "Roaming", TEXT)
    publish(api, "roaming", "pl-PL", "Roaming", "Roaming w UE nic nie kosztuje.")

    def states() -> dict[str, dict[str, Any]]:
        article = api.get("/v1/articles/roaming", Role.editor).json()
        return {t["locale"]: t for t in article["translations"]}

    assert states()["pl-PL"]["translation_of_locale"] == "en-GB"
    assert not states()["pl-PL"]["behind_source"] and not states()["en-GB"]["behind_source"]
    publish(api, "roaming", "en-GB", "Roaming", TEXT + "\nUpdated.")
    assert states()["pl-PL"]["behind_source"] and not states()["en-GB"]["behind_source"]
    listed = api.get("/v1/articles", Role.editor).json()["items"][0]["translations"]
    assert [t["behind_source"] for t in listed] == [False, True]
    assert states()["en-GB"]["draft_markdown"] == TEXT + "\nUpdated."
    publish(api, "roaming", "pl-PL", "Roaming", "Roaming w UE i EOG nic nie kosztuje.")
    assert not states()["pl-PL"]["behind_source"]


def test_answered_share_per_channel_and_locale(api: Api) -> None:
    publish(api, "roaming", "en-GB", "Roaming", TEXT)
    api.index.refresh()
    for question in ("roaming daily pass outside the EU", "qwzx plorb vunt kree flimbo"):
        body = {"question": question, "channel": "email", "locale": "en-GB"}
        assert api.post("/v1/answers", Role.agent, json=body).status_code == 200
    report = api.get("/v1/insights/answered", Role.agent).json()
    rows = [r for r in report["rows"] if r["channel"] == "email"]
    assert sum(r["total"] for r in rows) == 2
    assert sum(r["answered"] for r in rows) <= 1
    assert report["days"] == 30
    _problem(api.get("/v1/insights/answered", Role.bot), 403)
    _problem(api.get("/v1/insights/answered", Role.agent, params={"days": 0}), 422)


def test_console_address_redirects_to_the_page_and_keeps_the_tools_policy(api: Api) -> None:
    for path in ("/console", "/console/"):
        response = api.client.get(path, follow_redirects=False)
        assert response.status_code == 308
        assert response.headers["location"] == "/widgets/console/"
    with_lang = api.client.get("/console/?lang=pl", follow_redirects=False)
    assert with_lang.headers["location"] == "/widgets/console/?lang=pl"
    page = api.client.get("/console/")
    assert page.status_code == 200 and "kb-console" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_a_key_from_the_cli_names_the_author(api: Api) -> None:
    """The four-eyes rule compares key names: drafts record the name of the key that saved."""
    with Session(api.app.state.engine) as session:
        _, plain = keys.create_key(session, role=Role.editor, name="anna")
    headers = {"Authorization": f"Bearer {plain}"}
    body = {"id": "roaming", "locale": "en-GB", "title": "Roaming", "markdown": TEXT}
    created = api.client.post("/v1/articles", headers=headers, json=body).json()
    assert created["translations"][0]["draft_author"] == "anna"


def test_a_translation_added_through_the_api_exports_beside_its_original(
    api: Api, tmp_path: Path
) -> None:
    publish(api, "roaming", "en-GB", "Roaming", TEXT)
    publish(api, "roaming", "pl-PL", "Roaming", "Roaming w UE nic nie kosztuje.")
    with Session(api.app.state.engine) as session:
        assert export_folder(session, tmp_path / "out") == 2
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["roaming.md", "roaming.pl-PL.md"]
    assert "translation_of: roaming" in (tmp_path / "out" / "roaming.pl-PL.md").read_text()
