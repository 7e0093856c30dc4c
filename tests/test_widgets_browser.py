"""The four channel tools in real headless Chromium, against the service on a real port.

The service, browser and tab are shared with the console's tests (`tests/browser.py`); the
service runs with the real model over the demo content. The tests drive the tools by the
page contract (`data-kb=...`) and check what a person sees against what `POST /v1/answers`
says for the same question. They also refresh the screenshots in docs/screenshots/.
Chromium is Debian's (`make install` installs it); Playwright only drives it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from kb_service.models import Role
from tests.browser import Service, Tab, open_tab, shoot, wait_for_index
from tests.conftest import CONTENT

pytestmark = pytest.mark.model

CHANNELS = ("chat", "email", "phone", "social")
TOOL_PAGES = {"email": "/widgets/email/", "phone": "/widgets/phone/", "social": "/widgets/social/"}
UNRELATED = "qwzx plorb vunt kree flimbo?"
QUESTIONS = {  # id -> text, from content/queries.jsonl
    json.loads(line)["id"]: json.loads(line)["text"]
    for line in (CONTENT / "queries.jsonl").read_text().splitlines()
}
EXPECTED = {  # id -> article, from content/qrels.tsv
    line.split("\t")[0]: line.split("\t")[1]
    for line in (CONTENT / "qrels.tsv").read_text().splitlines()
}


def _tool(tab: Tab, service: Service, channel: str, query: str = "") -> Page:
    """Open a tool by the page contract: the key in the fragment."""
    page = tab.page
    if channel == "chat":
        page.goto(f"{service.base}/widgets/chat/demo.html{query}#key={service.keys[Role.widget]}")
        page.click("[data-kb=launcher]")
    else:
        page.goto(f"{service.base}{TOOL_PAGES[channel]}{query}#key={service.keys[Role.agent]}")
    return page


def _ask(page: Page, question: str) -> None:
    """Ask and wait for this answer (or handoff) to be shown."""
    before = page.locator("[data-kb=citation], [data-kb=handoff]").count()
    if page.locator("[data-kb=result]").count():  # agent tools replace their result
        page.evaluate("document.querySelector('[data-kb=result]').replaceChildren()")
        before = 0
    page.fill("[data-kb=question]", question)
    page.click("[data-kb=ask]")
    page.wait_for_function(
        "n => document.querySelectorAll('[data-kb=citation], [data-kb=handoff]').length > n"
        " || (document.querySelector('kb-chat')?.shadowRoot?.querySelectorAll("
        "'[data-kb=citation], [data-kb=handoff]').length ?? 0) > n",
        arg=before,
    )


def _citation(page: Page) -> tuple[str | None, ...]:
    cite = page.locator("[data-kb=citation]").last
    return tuple(
        cite.get_attribute(a) for a in ("data-article-id", "data-version", "data-kb-revision")
    )


def _expected(answer: dict[str, Any]) -> tuple[str, ...]:
    canonical = answer["answer"]
    return canonical["article_id"], str(canonical["version"]), str(canonical["kb_revision"])


def _role(channel: str) -> Role:
    return Role.widget if channel == "chat" else Role.agent


# --------------------------------------------------------------------------- the same answer


@pytest.mark.parametrize("query_id", ["q05", "q22", "q41"])
def test_every_tool_cites_what_the_api_answers(tab: Tab, service: Service, query_id: str) -> None:
    question = QUESTIONS[query_id]
    for channel in CHANNELS:
        expected = service.answer(question, channel, _role(channel))
        assert expected["status"] == "answered"
        assert expected["answer"]["article_id"] == EXPECTED[query_id]
        page = _tool(tab, service, channel)
        _ask(page, question)
        assert _citation(page) == _expected(expected), channel
        if query_id == "q22" and channel in ("email", "social"):
            shoot(page, channel, full_page=True)
    # The key reached the tools through the fragment and never travelled in a URL.
    assert not any(service.keys[r] in url for r in (Role.agent, Role.widget) for url in tab.urls)


def test_email_drafter_shows_subject_body_copies_and_switches(
    browser: Browser, service: Service
) -> None:
    tab = open_tab(browser)
    tab.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=service.base)
    page = _tool(tab, service, "email")
    question = QUESTIONS["q22"]  # Polish: the reply is drafted in Polish
    expected = service.answer(question, "email", Role.agent)
    _ask(page, question)
    assert page.input_value("[data-kb=subject]") == expected["rendering"]["subject"]
    assert "Dzień dobry" in page.inner_text("[data-kb=reply-html]")
    page.click("[data-kb=copy-text]")
    page.wait_for_function("() => document.querySelector('[role=status].muted').textContent")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == expected["rendering"]["text"]
    # Switch to an alternative: the draft is now from that article (or the tool says it can't).
    alternative = page.locator("[data-kb=alternative]").first
    wanted = alternative.get_attribute("data-article-id")
    alternative.locator("[data-kb=use-alternative]").click()
    page.wait_for_function(
        "id => document.querySelector('[data-kb=citation]')?.dataset.articleId === id"
        " || !document.querySelector('[data-kb=error]').hidden",
        arg=wanted,
    )
    assert page.locator("[data-kb=citation]").get_attribute("data-article-id") == wanted
    page.context.close()
    assert not tab.problems, tab.problems


def test_social_reply_counts_characters_for_people_and_screen_readers(
    tab: Tab, service: Service
) -> None:
    page = _tool(tab, service, "social")
    _ask(page, QUESTIONS["q05"])
    reply = page.input_value("[data-kb=reply]")
    assert 0 < len(reply) <= 280
    assert page.inner_text("[data-kb=counter]") == f"{len(reply)} / 280"
    assert page.get_attribute("[data-kb=counter-live]", "aria-live") == "polite"
    assert page.get_attribute("[data-kb=article-link]", "href").startswith(service.base + "/kb/")
    page.fill("[data-kb=reply]", "x" * 300)
    assert page.inner_text("[data-kb=counter]") == "300 / 280"
    assert page.get_attribute("[data-kb=reply]", "aria-invalid") == "true"
    page.wait_for_function(
        "() => document.querySelector('[data-kb=counter-live]').textContent.includes('20')"
    )


# --------------------------------------------------------------------------- chat widget

HOST_ELEMENTS = ("body", "#host-title", "#host-text", "#host-box", "#host-button", "#host-link")
STYLE_PROPERTIES = (
    "font-family", "font-size", "font-style", "color", "background-color", "border-top-style",
    "padding-top", "margin-top", "text-transform", "letter-spacing", "line-height",
)  # fmt: skip
COMPUTED = """([selectors, properties]) => selectors.map(s => {
  const style = getComputedStyle(document.querySelector(s));
  return properties.map(p => style.getPropertyValue(p));
})"""
WIDGET_STYLE = """(selector) => {
  const el = document.querySelector('kb-chat').shadowRoot.querySelector(selector);
  const s = getComputedStyle(el);
  return {font: s.fontFamily, transform: s.textTransform, background: s.backgroundColor,
          border: s.borderTopStyle, style: s.fontStyle, color: s.color};
}"""


def test_chat_widget_keeps_out_of_the_host_pages_styles(tab: Tab, service: Service) -> None:
    page = tab.page
    page.goto(f"{service.base}/widgets/chat/demo.html")  # no key yet: no widget yet
    page.wait_for_selector("[data-kb=key-form]:not([hidden])")
    before = page.evaluate(COMPUTED, [HOST_ELEMENTS, STYLE_PROPERTIES])
    page.fill("[data-kb=key-input]", service.keys[Role.widget])
    page.click("[data-kb=key-form] button")
    page.click("[data-kb=launcher]")
    question = QUESTIONS["q22"]
    _ask(page, question)
    assert page.evaluate(COMPUTED, [HOST_ELEMENTS, STYLE_PROPERTIES]) == before
    # The widget is in an open shadow root, and the host's rules do not reach it.
    assert page.evaluate("document.querySelectorAll('[data-kb=launcher]').length") == 0
    launcher = page.evaluate(WIDGET_STYLE, "[data-kb=launcher]")
    assert "Courier" not in launcher["font"] and "Georgia" not in launcher["font"]
    assert launcher["transform"] == "none" and launcher["border"] == "none"
    assert launcher["background"] == "rgb(11, 92, 173)"
    text = page.evaluate(WIDGET_STYLE, "[data-kb=answer] p")
    assert text["style"] == "normal" and "Georgia" not in text["font"]
    assert text["color"] == "rgb(27, 27, 27)" and text["transform"] == "none"
    expected = service.answer(question, "chat", Role.widget)
    assert _citation(page) == _expected(expected)
    assert (
        page.locator("[data-kb=answer] a").first.get_attribute("href")
        == expected["rendering"]["link"]
    )
    shoot(page, "chat")


def test_chat_feedback_and_customer_reach_the_api(tab: Tab, service: Service) -> None:
    page = _tool(tab, service, "chat", "?customer=c-browser-chat")  # demo page → data-customer-id
    question = QUESTIONS["q05"]
    article = service.answer(question, "chat", Role.widget)["answer"]["article_id"]
    before = service.call("GET", f"/v1/articles/{article}", Role.agent)["feedback"]
    _ask(page, question)
    page.click("[data-kb=helpful]")
    page.wait_for_selector("text=Thanks for your feedback.")
    after = service.call("GET", f"/v1/articles/{article}", Role.agent)["feedback"]
    assert after["helpful"] == before["helpful"] + 1
    assert after["not_helpful"] == before["not_helpful"]
    assert page.locator("[data-kb=not-helpful]").is_disabled()
    timeline = service.call("GET", "/v1/customers/c-browser-chat/timeline", Role.agent)
    assert [(e["channel"], e["article_id"]) for e in timeline["entries"]] == [("chat", article)]
    conversation = page.evaluate("sessionStorage.getItem('kb.chat.conversation')")
    assert conversation and conversation.startswith("chat-")


def test_no_answer_shows_the_handoff_everywhere(tab: Tab, service: Service) -> None:
    for channel in CHANNELS:
        assert service.answer(UNRELATED, channel, _role(channel))["status"] == "no_answer"
        page = _tool(tab, service, channel)
        _ask(page, UNRELATED)
        assert page.locator("[data-kb=handoff]").is_visible(), channel
        assert page.locator("[data-kb=citation]").count() == 0
        if channel == "chat":  # the offer of a person reaches the host page as an event
            page.click("[data-kb=handoff-offer]")
            page.wait_for_selector("#host-handoff:not([hidden])")


def test_chat_panel_by_keyboard(tab: Tab, service: Service) -> None:
    page = tab.page
    page.goto(f"{service.base}/widgets/chat/demo.html#key={service.keys[Role.widget]}")
    launcher = page.locator("[data-kb=launcher]")
    assert launcher.get_attribute("aria-expanded") == "false"
    expect(launcher).to_be_visible()  # shown once the widget's styles are in; a person waits too
    launcher.focus()
    page.keyboard.press("Enter")
    expect(launcher).to_have_attribute("aria-expanded", "true")  # set once the panel is open
    panel = page.locator("[data-kb=panel]")
    assert panel.get_attribute("role") == "dialog" and panel.get_attribute("aria-modal") == "true"
    focused = "() => document.querySelector('kb-chat').shadowRoot.activeElement?.dataset.kb ?? null"
    inside = """() => { const root = document.querySelector('kb-chat').shadowRoot;
      return root.querySelector('[data-kb=panel]').contains(root.activeElement); }"""
    assert page.evaluate(focused) == "question"
    page.keyboard.type(QUESTIONS["q41"])
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-kb=citation]")
    # The answer is announced politely.
    announcer = page.locator("[data-kb=announcer]")
    assert announcer.get_attribute("aria-live") == "polite"
    assert announcer.text_content().strip()
    for key in ["Tab"] * 9 + ["Shift+Tab"] * 9:  # round the panel both ways: focus stays in
        page.keyboard.press(key)
        assert page.evaluate(inside), key
    page.keyboard.press("Escape")
    assert panel.is_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert page.evaluate(focused) == "launcher"


def test_chat_panel_fills_a_phone_screen(browser: Browser, service: Service) -> None:
    tab = open_tab(browser, viewport={"width": 375, "height": 667}, is_mobile=True)
    page = _tool(tab, service, "chat")
    box = page.locator("[data-kb=panel]").bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 667)
    page.context.close()
    assert not tab.problems, tab.problems


# --------------------------------------------------------------------------- phone timeline


def test_phone_panel_shows_what_the_customer_was_told_and_what_changed(
    tab: Tab, service: Service
) -> None:
    customer = "c-browser-phone"
    told = service.answer(QUESTIONS["q05"], "chat", Role.widget, customer_id=customer)["answer"]
    _publish(service, told["article_id"], told["locale"], extra="Ask us for a new password.")
    page = _tool(tab, service, "phone")
    page.fill("[data-kb=customer-id]", customer)
    page.click("[data-kb=load-timeline]")
    entry = page.locator("[data-kb=timeline-entry][data-channel=chat]")
    entry.wait_for()
    assert entry.get_attribute("data-article-id") == told["article_id"]
    assert entry.get_attribute("data-changed-since") == "true"
    assert f"now version {told['version'] + 1}" in entry.inner_text()
    question = QUESTIONS["q22"]
    expected = service.answer(question, "phone", Role.agent)
    _ask(page, question)
    assert _citation(page) == _expected(expected)
    assert page.inner_text("[data-kb=script]") == expected["rendering"]["script"]
    assert expected["answer"]["key"] in page.inner_text("[data-kb=spoken-key]")
    page.locator("[data-kb=timeline-entry][data-channel=phone]").wait_for()
    shoot(page, "phone", full_page=True)


def _publish(service: Service, article_id: str, locale: str, extra: str) -> None:
    """A new live version of a translation, through the review workflow."""
    base = f"/v1/articles/{article_id}/translations/{locale}"
    live = service.call("GET", base, Role.agent)
    draft = {"title": live["title"], "markdown": f"{live['markdown']}\n\n{extra}\n"}
    service.call("PUT", f"{base}/draft", Role.editor, draft)
    service.call("POST", f"{base}/submit", Role.editor)
    for step in ("approve", "publish"):
        service.call("POST", f"{base}/{step}", Role.reviewer)
    wait_for_index(service)


# --------------------------------------------------------------------------- hostile content

HOSTILE = """Calibrate the Zorblax modem once a year from the Zorblax settings page.

<script>window.__kbPwned = 'script'; alert('script')</script>
<img src="x" onerror="window.__kbPwned = 'onerror'; alert('onerror')">
<body onload="window.__kbPwned = 'onload'">
<a href="javascript:window.__kbPwned='href'" onclick="window.__kbPwned='onclick'">Zorblax help</a>
[Zorblax guide](javascript:alert('markdown-link'))
<p onmouseover="alert('hover')">Hover over the Zorblax calibration steps.</p>
<svg onload="alert('svg')"></svg><iframe src="javascript:alert('frame')"></iframe>
"""
ZORBLAX = "How do I calibrate my Zorblax modem?"
ARMED = """() => {
  const roots = [document, document.querySelector('kb-chat')?.shadowRoot].filter(Boolean);
  const all = roots.flatMap(r => [...r.querySelectorAll('*')]);
  return {
    flag: window.__kbPwned ?? null,
    handlers: all.flatMap(el => [...el.attributes].filter(a => a.name.startsWith('on'))
      .map(a => `${el.tagName}.${a.name}`)),
    scripts: roots.flatMap(r => [...r.querySelectorAll('script:not([src])')]).length,
    links: all.filter(el => /^\\s*javascript:/i.test(el.getAttribute('href') ?? ''))
      .map(el => el.outerHTML),
  };
}"""


def test_hostile_article_shows_as_text_and_runs_nothing(tab: Tab, service: Service) -> None:
    article = {"id": "zorblax-hostile", "locale": "en-GB", "title": "Zorblax modem"}
    service.call("POST", "/v1/articles", Role.editor, {**article, "markdown": HOSTILE})
    base = "/v1/articles/zorblax-hostile/translations/en-GB"
    service.call("POST", f"{base}/submit", Role.editor)
    for step in ("approve", "publish"):
        service.call("POST", f"{base}/{step}", Role.reviewer)
    wait_for_index(service)
    for channel in CHANNELS:
        page = _tool(tab, service, channel)
        _ask(page, ZORBLAX)
        assert _citation(page)[0] == "zorblax-hostile", channel
        page.locator("[data-kb=citation]").hover()
        page.mouse.move(5, 5)
        armed = page.evaluate(ARMED)
        assert armed == {"flag": None, "handlers": [], "scripts": 0, "links": []}, channel
        shown = {
            "chat": lambda p: p.locator("[data-kb=answer]").inner_text(),
            "email": lambda p: p.inner_text("[data-kb=reply-html]"),
            "phone": lambda p: p.inner_text("[data-kb=script]"),
            "social": lambda p: p.input_value("[data-kb=reply]"),
        }[channel](page)
        assert "Calibrate the Zorblax modem" in shown, channel
    tab.page.goto(f"{service.base}/kb/zorblax-hostile/en-GB")
    assert tab.page.evaluate(ARMED) == {"flag": None, "handlers": [], "scripts": 0, "links": []}


# --------------------------------------------------------------------------- language and keys


@pytest.mark.parametrize(
    ("channel", "query", "selector", "text"),
    [
        ("email", "?lang=pl", "[data-kb=ask]", "Przygotuj odpowiedź"),
        ("phone", "?lang=uk", "[data-kb=ask]", "Знайти відповідь"),
        ("social", "?lang=sl", "[data-kb=ask]", "Pripravi odgovor"),
        ("chat", "?lang=pl", "[data-kb=ask]", "Wyślij"),
    ],
)
def test_ui_language_follows_lang(
    tab: Tab, service: Service, channel: str, query: str, selector: str, text: str
) -> None:
    page = _tool(tab, service, channel, query)
    assert page.inner_text(selector) == text
    if channel != "chat":
        assert page.evaluate("document.documentElement.lang") == query[-2:]
        page.select_option("[data-kb=lang]", "en")
        assert page.inner_text(selector) != text


def test_ui_language_follows_the_browser(browser: Browser, service: Service) -> None:
    tab = open_tab(browser, locale="sl-SI")
    page = _tool(tab, service, "email")
    assert page.inner_text("[data-kb=ask]") == "Pripravi odgovor"
    page.context.close()
    assert not tab.problems, tab.problems


def test_key_from_the_fragment_or_the_form_never_from_storage_that_lasts(
    tab: Tab, service: Service
) -> None:
    page = _tool(tab, service, "phone")
    assert "#" not in page.url and "key" not in page.url  # removed from the address bar
    stored = page.evaluate("sessionStorage.getItem('kb.agentKey')")
    assert stored == service.keys[Role.agent]
    assert page.evaluate("localStorage.length") == 0
    # A wrong key: the tool asks again, and the form's key is used from then on.
    page.click("[data-kb=forget-key]")
    page.fill("[data-kb=key-input]", "kb_not-a-key")
    page.click("[data-kb=key-form] button")
    page.fill("[data-kb=question]", QUESTIONS["q05"])
    page.click("[data-kb=ask]")
    page.wait_for_selector("[data-kb=key-error]:not([hidden])")
    assert [p for p in tab.problems if not p.startswith("HTTP 401")] == []
    tab.problems.clear()  # the 401 was the point
    page.fill("[data-kb=key-input]", service.keys[Role.agent])
    page.click("[data-kb=key-form] button")
    _ask(page, QUESTIONS["q05"])
    assert page.locator("[data-kb=citation]").count() == 1
    assert not any(service.keys[Role.agent] in url for url in tab.urls)


# --------------------------------------------------------------------------- the widget key


def test_widget_key_is_refused_from_an_origin_not_on_its_list(
    browser: Browser, service: Service
) -> None:
    """The same demo page served under another name (localhost, not 127.0.0.1) is another
    origin: the widget's key is refused there, and the panel says so instead of answering."""
    other = service.base.replace("127.0.0.1", "localhost")
    tab = open_tab(browser)
    page = tab.page
    page.goto(f"{other}/widgets/chat/demo.html#key={service.keys[Role.widget]}")
    page.click("[data-kb=launcher]")
    page.fill("[data-kb=question]", QUESTIONS["q05"])
    page.click("[data-kb=ask]")
    error = page.locator("kb-chat .msg.error")
    error.wait_for()
    assert page.locator("[data-kb=citation]").count() == 0
    assert any("HTTP 403" in p and "/v1/answers" in p for p in tab.problems), tab.problems
    page.context.close()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/articles/billing-payment-methods/translations/en-GB/publish"),
        ("GET", "/v1/customers/c-1/timeline"),
        ("GET", "/v1/search?q=roaming"),
    ],
)
def test_widget_key_cannot_publish_or_read_timelines(
    service: Service, method: str, path: str
) -> None:
    assert service.request(method, path, Role.widget).status_code == 403
