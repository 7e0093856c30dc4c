"""The editors' console in real headless Chromium, against the service on a real port (the
service, keys and browser the channel tools' tests use: tests/browser.py): an editor drafts with a
live preview and submits; a reviewer sees the pre-publish impact, approves and publishes; the
versions diff marks insertions and deletions; the insights charts draw, with their tables and
CSV. Also refreshes docs/screenshots/console-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from kb_service.models import Role
from tests.browser import Service, Tab, open_tab, shoot

pytestmark = pytest.mark.model

ARTICLE = "pigeon-post-invoices"
BASE = f"/v1/articles/{ARTICLE}/translations/en-GB"
QUESTION = "Can my invoice be delivered by carrier pigeon?"
FIRST = (
    "We deliver paper invoices by carrier pigeon in the Old Town on request.\n\n"
    "## Ordering pigeon delivery\n\n"
    "1. Open **Billing** in the app.\n2. Choose *Pigeon post* as the delivery method.\n"
)
EDITED = FIRST.replace("Old Town", "Old Town and the harbour").replace("on request", "weekly")
SLOW = 120_000  # ms: the impact replays questions with the real model on a shared machine


def _console(tab: Tab, service: Service, role: Role, fragment: str = "") -> Page:
    page = tab.page
    page.goto(f"{service.base}/console/#key={service.keys[role]}{fragment}")
    # A view is shown once its data is in; insights first sort new questions into topics.
    expect(page.locator("[data-kb=view] h2").first).to_be_visible(timeout=SLOW)
    return page


def _focused(page: Page) -> str | None:
    value: str | None = page.evaluate("document.activeElement?.dataset?.kb ?? null")
    return value


@pytest.fixture
def reviewer_tab(browser: Browser) -> Iterator[Tab]:
    opened = open_tab(browser, viewport={"width": 1280, "height": 900})
    yield opened
    opened.page.context.close()
    assert not opened.problems, opened.problems


def test_editor_and_reviewer_take_a_draft_through_review_impact_and_publish(
    tab: Tab,
    reviewer_tab: Tab,
    service: Service,
) -> None:
    # A question the knowledge base cannot answer yet, in the ledger for the impact replay.
    service.answer(QUESTION, "chat", Role.agent)

    # The editor: a new article, its preview rendered by the server as the chat would show it.
    page = _console(tab, service, Role.editor)
    expect(page.locator("[data-kb=articles] table")).to_be_visible()
    page.click("[data-kb=nav-new]")
    page.fill("[data-kb=new-id]", ARTICLE)
    page.fill("[data-kb=draft-title]", "Invoices by pigeon post")
    page.fill("[data-kb=draft-markdown]", FIRST)
    preview = page.locator("[data-kb=preview-section]").first
    expect(preview.locator("strong").first).to_have_text("Invoices by pigeon post")
    page.click("[data-kb=create]")
    expect(page.locator("[data-kb=status]")).to_contain_text("created")
    expect(page.locator("[data-kb=draft-state]")).to_be_visible()

    # Editing updates the preview (debounced), then save and submit.
    page.fill("[data-kb=draft-markdown]", EDITED)
    expect(page.locator("[data-kb=preview]")).to_contain_text("harbour")
    page.click("[data-kb=save]")
    expect(page.locator("[data-kb=status]")).to_have_text("Draft saved.")
    page.click("[data-kb=submit]")
    expect(page.locator("[data-kb=workflow]")).to_have_attribute("data-status", "in_review")
    assert _focused(page) == "workflow-heading"  # focus follows the action
    shoot(page, "console-editor", full_page=True)

    # The editor's key may not approve: the console shows the server's 403.
    page.click("[data-kb=approve]")
    expect(page.locator("[data-kb=error]")).to_contain_text("may not do this")
    tab.problems[:] = [p for p in tab.problems if not p.startswith("HTTP 403")]

    # The reviewer: the impact list is there before approving and before publishing.
    review = _console(
        reviewer_tab, service, Role.reviewer, f"&view=article&id={ARTICLE}&locale=en-GB"
    )
    state = review.locator("[data-kb=impact-state]")
    expect(state).to_have_attribute("data-done", "true", timeout=SLOW)
    expect(review.locator("[data-kb=impact-change]", has_text=QUESTION)).to_be_visible()
    review.click("[data-kb=approve]")
    expect(review.locator("[data-kb=workflow]")).to_have_attribute("data-status", "approved")
    expect(state).to_have_attribute("data-done", "true", timeout=SLOW)
    publish = review.locator("[data-kb=publish]")
    impact_box = review.locator("[data-kb=impact]").bounding_box()
    assert impact_box is not None and publish.bounding_box() is not None
    assert impact_box["y"] < publish.bounding_box()["y"]  # type: ignore[index]
    shoot(review, "console-review", full_page=True)
    publish.click()
    expect(review.locator("[data-kb=workflow]")).to_have_attribute("data-status", "published")
    live = service.call("GET", BASE, Role.agent)
    assert live["version"] == 1 and live["markdown"] == EDITED


def test_versions_diff_marks_what_was_removed_and_added(
    tab: Tab,
    service: Service,
) -> None:
    article = "diff-demo"
    first = "Top up at any kiosk with cash.\n\nThe credit arrives within a minute.\n"
    second = "Top up at any kiosk or in the app.\n\nThe credit arrives within a minute.\n"
    body = {"id": article, "locale": "en-GB", "title": "Top-up", "markdown": first}
    service.call("POST", "/v1/articles", Role.editor, body)
    base = f"/v1/articles/{article}/translations/en-GB"
    for markdown in (first, second):
        service.call("PUT", f"{base}/draft", Role.editor, {"title": "Top-up", "markdown": markdown})
        service.call("POST", f"{base}/submit", Role.editor)
        service.call("POST", f"{base}/approve", Role.reviewer)
        service.call("POST", f"{base}/publish", Role.reviewer)
    page = _console(tab, service, Role.reviewer, f"&view=article&id={article}&locale=en-GB")
    expect(page.locator("[data-kb=rollback][data-version='1']")).to_be_visible()
    expect(page.locator("[data-kb=diff-from]")).to_have_value("1")
    expect(page.locator("[data-kb=diff-to]")).to_have_value("2")
    page.click("[data-kb=compare]")
    diff = page.locator("[data-kb=diff]")
    expect(diff.locator("del").first).to_be_visible()
    removed = " ".join(diff.locator("del").all_inner_texts()).split()
    added = " ".join(diff.locator("ins").all_inner_texts()).split()
    assert removed == ["with", "cash"] and added == ["or", "in", "the", "app"], (removed, added)
    assert diff.evaluate("el => getComputedStyle(el.querySelector('del')).textDecorationLine")
    diff.scroll_into_view_if_needed()
    shoot(page, "console-diff", full_page=True)


def test_insights_draw_charts_with_tables_and_csv(
    tab: Tab,
    service: Service,
) -> None:
    for question in ("How do I pay my bill?", "qwzx plorb vunt kree flimbo?"):
        for channel in ("chat", "email"):
            service.answer(question, channel, Role.agent)
    page = _console(tab, service, Role.editor, "&view=insights")
    for name in ("topics", "answered", "gaps"):
        canvas = page.locator(f"[data-kb=chart-{name}]")
        expect(canvas).to_have_attribute("role", "img")
        assert canvas.get_attribute("aria-label")
        page.wait_for_function("el => el.width > 0 && el.height > 0", arg=canvas.element_handle())
    answered = page.locator("[data-kb=table-answered-share] tbody tr")
    expect(answered.first).to_be_visible()
    channels = set(answered.locator("td:first-child").all_inner_texts())
    assert {"chat", "email"} <= channels
    expect(page.locator("[data-kb=table-topics-over-time] tbody tr").first).to_be_visible()
    expect(page.locator("[data-kb=table-gaps]")).to_be_attached()
    with page.expect_download() as caught:
        page.click("[data-kb=csv-answered-share]")
    csv = open(caught.value.path(), encoding="utf-8").read().splitlines()
    assert csv[0] == "channel,locale,answered,total,share_percent"
    assert len(csv) == answered.count() + 1
    shoot(page, "console-insights", full_page=True)


def test_list_filters_freshness_and_suggested_phrasings_views(
    tab: Tab,
    service: Service,
) -> None:
    page = _console(tab, service, Role.editor)
    page.select_option("[data-kb=filter-status]", "published")
    page.fill("[data-kb=filter-locale]", "pl-PL")
    page.click("[data-kb=apply-filters]")
    expect(page).to_have_url(re.compile(r"status=published&locale=pl-PL"))
    rows = page.locator("[data-kb=table-articles] tbody tr")
    expect(rows.first).to_be_visible()
    expected = service.call(
        "GET", "/v1/articles?status=published&locale=pl-PL&limit=200", Role.editor
    )
    expect(rows).to_have_count(len(expected["items"]))
    assert "#key=" not in page.url  # the key left the address bar
    page.click("[data-kb=nav-stale]")
    expect(page.locator("[data-kb=stale] h2")).to_be_focused()
    # A customer's confirmed answer becomes a suggested phrasing; the editor accepts it.
    asked = service.answer("How can I pay my phone bill by card?", "chat", Role.widget)
    assert asked["status"] == "answered", asked
    rating = {"helpful": True, "channel": "chat"}
    service.call("POST", f"/v1/answers/{asked['answer_id']}/feedback", Role.widget, rating)
    page.click("[data-kb=nav-phrasings]")
    expect(page.locator("[data-kb=suggested] h2")).to_be_focused()
    row = page.locator("[data-kb=table-suggested-phrasings] tbody tr", has_text="pay my phone bill")
    row.locator("[data-kb=accept]").click()
    expect(page.locator("[data-kb=status]")).to_have_text("Phrasing accepted.")
    expect(row).to_have_count(0)
    statuses = service.call("GET", "/v1/phrasings", Role.editor)["phrasings"]
    assert any(p["status"] == "active" and "pay my phone bill" in p["text"] for p in statuses)
    page.goto(f"{service.base}/console/?lang=pl#view=articles")
    expect(page.locator("[data-kb=nav-articles]")).to_have_text("Artykuły")
