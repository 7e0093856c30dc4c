"""The answer API through HTTP, with the real model: one canonical answer, four renderings."""

from __future__ import annotations

import re
from typing import Any

import pytest

from indexer.timing import parse_server_timing
from kb_service.models import Role
from tests.conftest import WIDGET_ORIGIN, Api, publish

pytestmark = pytest.mark.model

CANONICAL_FIELDS = (
    "article_id",
    "key",
    "version",
    "locale",
    "section_id",
    "content_hash",
    "kb_revision",
)


def _answer(
    api: Api, question: str, channel: str, role: Role = Role.agent, **extra: Any
) -> dict[str, Any]:
    response = api.post(
        "/v1/answers", role, json={"question": question, "channel": channel, **extra}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _wait(api: Api) -> None:
    import time

    for _ in range(100):
        health = api.client.get("/healthz").json()
        if health["index_revision"] == health["kb_revision"]:
            return
        time.sleep(0.02)
    raise AssertionError("index did not catch up")


def test_same_canonical_answer_on_every_channel(demo_api: Api) -> None:
    question = "Ile kosztuje roaming poza Unią Europejską?"
    answers = {c: _answer(demo_api, question, c) for c in ("chat", "email", "phone", "social")}
    blocks = {c: tuple(a["answer"][f] for f in CANONICAL_FIELDS) for c, a in answers.items()}
    assert len(set(blocks.values())) == 1, blocks
    assert answers["chat"]["answer"]["article_id"] == "mobile-roaming"
    assert all(a["status"] == "answered" for a in answers.values())
    # Each channel gets its own rendering (not one shape for all, nor another channel's).
    assert {c: a["rendering"]["channel"] for c, a in answers.items()} == {c: c for c in answers}
    social = answers["social"]["rendering"]["text"]
    assert len(social) <= 280
    phone = answers["phone"]["rendering"]["script"]
    assert not re.search(r"https?://|www\.|\*\*|\]\(|<|#", phone)
    assert answers["phone"]["rendering"]["estimated_seconds"] <= 60
    email = answers["email"]["rendering"]
    assert email["subject"] and "Dzień dobry" in email["text"]
    chat = answers["chat"]["rendering"]
    assert chat["link"] == answers["chat"]["answer"]["url"]
    assert f'href="{chat["link"]}"' in chat["html"] and "<p>" in chat["html"]


def test_new_version_is_cited_and_old_answer_replays(demo_api: Api) -> None:
    publish(
        demo_api,
        "pet-sim",
        "en-GB",
        "SIM cards for pet trackers",
        "A pet tracker SIM costs 2 EUR a month and works in the whole EU.\n",
    )
    _wait(demo_api)
    question = "How much is a SIM card for my dog's GPS pet tracker?"
    old = _answer(demo_api, question, "chat")
    assert old["answer"]["article_id"] == "pet-sim" and old["answer"]["version"] == 1
    publish(
        demo_api,
        "pet-sim",
        "en-GB",
        "SIM cards for pet trackers",
        "A pet tracker SIM costs 3 EUR a month and works in the whole EU.\n",
    )
    _wait(demo_api)
    new = _answer(demo_api, question, "chat")
    assert new["answer"]["version"] == 2 and "3 EUR" in new["answer"]["markdown"]
    assert new["kb_revision"] > old["kb_revision"]
    replay = demo_api.get(f"/v1/answers/{old['answer_id']}")
    assert replay.json() == old
    assert "2 EUR" in replay.json()["answer"]["markdown"]


def test_previously_told_across_channels(demo_api: Api) -> None:
    chat = _answer(demo_api, "Kako aktiviram eSIM?", "chat", customer_id="cust-x1")
    phone = _answer(demo_api, "Kaj pa gostovanje v tujini?", "phone", customer_id="cust-x1")
    told = phone["previously_told"]
    assert [t["answer_id"] for t in told] == [chat["answer_id"]]
    assert told[0]["channel"] == "chat" and told[0]["changed_since"] is False
    timeline = demo_api.get("/v1/customers/cust-x1/timeline").json()
    assert {e["channel"] for e in timeline["entries"]} == {"chat", "phone"}


def test_far_question_gets_no_answer(demo_api: Api) -> None:
    body = _answer(demo_api, "What is the boiling point of tungsten in kelvin?", "chat")
    assert body["status"] == "no_answer" and body["answer"] is None
    assert body["handoff"]["suggestion"]
    assert body["rendering"]["channel"] == "chat"


def test_internal_articles_never_on_public_channels(demo_api: Api) -> None:
    question = "What is the goodwill credit limit an agent may give without approval?"
    agent = _answer(demo_api, question, "chat")
    assert agent["answer"]["article_id"] == "internal-goodwill-credit-limits"
    for channel, role in (("social", Role.agent), ("chat", Role.bot)):
        body = _answer(demo_api, question, channel, role)
        cited = [a["article_id"] for a in [body["answer"], *body["alternatives"]] if a]
        assert cited, "nothing was cited, so nothing was checked"
        assert not [a for a in cited if a.startswith("internal-")], cited


def test_erasure_removes_customer_records(demo_api: Api) -> None:
    first = _answer(demo_api, "How do I change my Wi-Fi password?", "email", customer_id="c-del")
    feedback = demo_api.post(
        f"/v1/answers/{first['answer_id']}/feedback", Role.agent, json={"helpful": True}
    )
    assert feedback.status_code == 201
    timeline = demo_api.get("/v1/customers/c-del/timeline").json()
    assert [e["answer_id"] for e in timeline["entries"]] == [first["answer_id"]]
    erased = demo_api.delete("/v1/customers/c-del")
    assert erased.json()["erased_answers"] == 1
    assert demo_api.get(f"/v1/answers/{first['answer_id']}").status_code == 404
    timeline = demo_api.get("/v1/customers/c-del/timeline").json()
    assert timeline["entries"] == []
    assert demo_api.delete("/v1/customers/c-del", Role.agent).status_code == 403


def test_hostile_markup_renders_inert(demo_api: Api) -> None:
    publish(
        demo_api,
        "xss-probe",
        "en-GB",
        "Zebra-striped routers",
        "Zebra-striped routers are a limited edition.\n\n<script>alert(1)</script>\n\n"
        "<img src=x onerror=alert(1)> [click](javascript:alert(1))\n",
    )
    _wait(demo_api)
    for channel in ("chat", "email", "phone", "social"):
        body = _answer(demo_api, "Do you sell zebra-striped routers?", channel)
        assert body["answer"]["article_id"] == "xss-probe"
        rendered = str(body["rendering"]).lower()
        assert "zebra-striped routers" in rendered  # the article is there, only its markup not
        assert "<script" not in rendered and "onerror" not in rendered
        assert "javascript:" not in rendered


def test_unknown_answer_is_404_and_bad_channel_422(demo_api: Api) -> None:
    assert demo_api.get("/v1/answers/nope").status_code == 404
    bad = demo_api.post("/v1/answers", Role.agent, json={"question": "x", "channel": "fax"})
    assert bad.status_code == 422


def test_feedback_shows_on_article_and_gaps_report_lists_abstentions(demo_api: Api) -> None:
    answered = _answer(demo_api, "How do I restart my router?", "chat")
    article_id = answered["answer"]["article_id"]
    before = demo_api.get(f"/v1/articles/{article_id}").json()["feedback"]
    response = demo_api.post(
        f"/v1/answers/{answered['answer_id']}/feedback",
        Role.agent,
        json={"helpful": False, "reason": "Steps are for the old router", "channel": "phone"},
    )
    assert response.status_code == 201
    after = demo_api.get(f"/v1/articles/{article_id}").json()["feedback"]
    assert after["not_helpful"] == before["not_helpful"] + 1
    assert after["recent_reasons"][0] == "Steps are for the old router"
    _answer(demo_api, "Which dinosaur had the longest neck?", "social")
    gaps = demo_api.get("/v1/insights/gaps").json()
    assert any(
        g["question"] == "Which dinosaur had the longest neck?" and g["channel"] == "social"
        for g in gaps["unanswered"]
    )
    assert article_id in {a["article_id"] for a in gaps["unhelpful_articles"]}


def test_answer_links_open_a_public_page_at_the_section(demo_api: Api) -> None:
    body = _answer(demo_api, "Ile kosztuje roaming poza Unią Europejską?", "chat")
    url = body["answer"]["url"]
    path, anchor = url.split("localhost:8000", 1)[1].split("#", 1)
    page = demo_api.client.get(path)  # no key: customers follow these links
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'id="{anchor}"' in page.text and "<script" not in page.text
    internal = "internal-goodwill-credit-limits/translations/en-GB"
    assert demo_api.get(f"/v1/articles/{internal}").status_code == 200  # live, for agents
    assert demo_api.client.get("/kb/internal-goodwill-credit-limits/en-GB").status_code == 404
    publish(
        demo_api,
        "xss-page",
        "en-GB",
        "Hostile page",
        "Text.\n\n## Section\n<script>alert(1)</script><img src=x onerror=alert(1)>\n",
    )
    probe = demo_api.client.get("/kb/xss-page/en-GB")
    assert probe.status_code == 200 and 'id="section"' in probe.text
    assert "<script" not in probe.text.lower() and "onerror" not in probe.text.lower()


def test_staff_see_where_an_answers_time_went_public_keys_do_not(demo_api: Api) -> None:
    body = {"question": "Ile kosztuje roaming poza Unią Europejską?", "channel": "chat"}
    staff = demo_api.post("/v1/answers", Role.agent, json=body)
    assert staff.status_code == 200, staff.text
    timings = parse_server_timing(staff.headers["server-timing"])
    parts = {"queue", "encode", "search", "render", "record"}
    assert parts | {"app"} <= set(timings), timings
    assert timings["encode"] > 0 and timings["search"] > 0
    assert sum(timings[p] for p in parts) <= timings["app"] + 0.5  # steps of the handler
    for public in (Role.bot, Role.widget):
        headers = demo_api.headers(public) | {"Origin": WIDGET_ORIGIN}
        answer = demo_api.client.post("/v1/answers", headers=headers, json=body)
        assert answer.status_code == 200, answer.text
        assert "server-timing" not in answer.headers


def test_staff_see_where_a_searchs_time_went_bots_do_not(demo_api: Api) -> None:
    path = "/v1/search?q=Ile+kosztuje+roaming+poza+Uni%C4%85%3F&limit=5"
    staff = demo_api.get(path, Role.agent)
    assert staff.status_code == 200, staff.text
    timings = parse_server_timing(staff.headers["server-timing"])
    assert {"queue", "encode", "search", "app"} <= set(timings), timings
    assert timings["encode"] > 0 and timings["search"] > 0
    assert timings["encode"] + timings["search"] <= timings["app"] + 0.5
    bot = demo_api.get(path, Role.bot)
    assert bot.status_code == 200 and "server-timing" not in bot.headers
