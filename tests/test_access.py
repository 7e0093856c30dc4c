"""Who may read what: a key that can sit on a public page (`bot`) sees only what a customer may
see, on every route; internal articles are 404 to it, staff-only reads are 403.

Plumbing tests with the hashing embedder; every channel's abstention threshold is 0 here so
that the top hit is always the answer and the tests can say which article answered.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kb_service.config import Settings
from kb_service.models import Role
from tests.conftest import Api

PUBLIC = "roaming-eu"
INTERNAL = "goodwill-credit-limits"
PUBLIC_MD = "Roaming in the EU costs nothing extra.\n\n## Outside the EU\nA daily pass is 5 EUR.\n"
INTERNAL_MD = (
    "Agents may grant goodwill credit up to 50 EUR per customer per year without approval.\n"
)
GOODWILL_Q = "How much goodwill credit may agents grant without approval?"
ROAMING_Q = "Does roaming in the EU cost anything extra?"


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _publish(api: Api, article_id: str, title: str, markdown: str, visibility: str) -> None:
    article = {
        "id": article_id,
        "locale": "en-GB",
        "title": title,
        "markdown": markdown,
        "tags": ["shared"],
        "visibility": visibility,
    }
    _ok(api.post("/v1/articles", Role.editor, json=article), 201)
    base = f"/v1/articles/{article_id}/translations/en-GB"
    _ok(api.post(f"{base}/submit", Role.editor))
    _ok(api.post(f"{base}/approve", Role.reviewer))
    _ok(api.post(f"{base}/publish", Role.reviewer))


@pytest.fixture
def kb(make_api: Callable[..., Api], tmp_path: Path) -> Api:
    """One public and one internal article, published; answers never abstain."""
    settings = Settings(
        data_dir=tmp_path / "kb",
        embedding_model="hashing",
        min_confidence_chat=0.0,
        min_confidence_email=0.0,
        min_confidence_phone=0.0,
        min_confidence_social=0.0,
    )
    api = make_api(settings)
    _publish(api, PUBLIC, "Roaming in the EU", PUBLIC_MD, "public")
    _publish(api, INTERNAL, "Goodwill credit limits", INTERNAL_MD, "internal")
    return api


def _answer(api: Api, question: str, channel: str, role: Role, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = _ok(
        api.post("/v1/answers", role, json={"question": question, "channel": channel, **extra})
    )
    return body


def _articles_named(body: dict[str, Any]) -> set[str]:
    """Every article an answer names: the answer, the alternatives, what was told before."""
    named = {a["article_id"] for a in body["alternatives"]}
    named |= {t["article_id"] for t in body["previously_told"]}
    if body["answer"]:
        named.add(body["answer"]["article_id"])
    return named


def _not_found_like_unknown(api: Api, url: str, unknown_url: str, role: Role) -> None:
    """404, worded exactly as for an article that does not exist: existence does not leak."""
    hidden, unknown = api.get(url, role), api.get(unknown_url, role)
    assert hidden.status_code == 404, hidden.text
    assert unknown.status_code == 404, unknown.text
    hidden_detail = hidden.json()["detail"].replace(INTERNAL, "X")
    unknown_detail = unknown.json()["detail"].replace("no-such-article", "X")
    assert hidden_detail == unknown_detail


# --------------------------------------------------------------------------- search and lists


def test_bot_key_search_never_returns_internal_articles(kb: Api) -> None:
    for question in (GOODWILL_Q, "goodwill credit", ROAMING_Q):
        hits = _ok(kb.get("/v1/search", Role.bot, params={"q": question}))["hits"]
        assert hits and INTERNAL not in {h["article_id"] for h in hits}
    agent_hits = _ok(kb.get("/v1/search", Role.agent, params={"q": GOODWILL_Q}))["hits"]
    assert agent_hits[0]["article_id"] == INTERNAL  # staff still find it


def test_bot_key_cannot_read_the_editorial_workflow(kb: Api) -> None:
    for url in ("/v1/articles", f"/v1/articles/{PUBLIC}", f"/v1/articles/{INTERNAL}"):
        assert kb.get(url, Role.bot).status_code == 403


def test_article_list_shows_staff_every_article(kb: Api) -> None:
    for params in ({}, {"tag": "shared"}):
        staff = _ok(kb.get("/v1/articles", Role.agent, params=params))
        assert {a["id"] for a in staff["items"]} == {PUBLIC, INTERNAL}
        assert staff["total"] == 2


# --------------------------------------------------------------------------- article reads


@pytest.mark.parametrize(
    "tail",
    ["/translations/en-GB", "/translations/en-GB/versions", "/translations/en-GB/versions/1"],
)
def test_bot_key_cannot_read_internal_versions(kb: Api, tail: str) -> None:
    _not_found_like_unknown(
        kb, f"/v1/articles/{INTERNAL}{tail}", f"/v1/articles/no-such-article{tail}", Role.bot
    )
    assert INTERNAL_MD not in kb.get(f"/v1/articles/{INTERNAL}{tail}", Role.bot).text
    _ok(kb.get(f"/v1/articles/{INTERNAL}{tail}", Role.agent))  # staff still read it


def test_bot_key_reads_public_articles_and_versions(kb: Api) -> None:
    base = f"/v1/articles/{PUBLIC}"
    assert _ok(kb.get(f"{base}/translations/en-GB", Role.bot))["markdown"] == PUBLIC_MD
    assert [v["version"] for v in _ok(kb.get(f"{base}/translations/en-GB/versions", Role.bot))] == [
        1
    ]
    assert _ok(kb.get(f"{base}/translations/en-GB/versions/1", Role.bot))["markdown"] == PUBLIC_MD


def test_public_page_of_an_internal_article_is_404_like_an_unknown_one(kb: Api) -> None:
    assert kb.client.get(f"/kb/{PUBLIC}/en-GB").status_code == 200
    hidden = kb.client.get(f"/kb/{INTERNAL}/en-GB")
    unknown = kb.client.get("/kb/no-such-article/en-GB")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["detail"].replace(INTERNAL, "X") == unknown.json()["detail"].replace(
        "no-such-article", "X"
    )


# --------------------------------------------------------------------------- answers and the ledger


def test_bot_key_cannot_replay_an_answer_citing_an_internal_article(kb: Api) -> None:
    agent = _answer(kb, GOODWILL_Q, "chat", Role.agent)
    assert agent["answer"]["article_id"] == INTERNAL
    _not_found_like_unknown_answer(kb, agent["answer_id"])
    assert kb.get(f"/v1/answers/{agent['answer_id']}", Role.agent).status_code == 200


def test_bot_key_cannot_replay_an_answer_listing_an_internal_alternative(kb: Api) -> None:
    agent = _answer(kb, ROAMING_Q, "chat", Role.agent)
    assert agent["answer"]["article_id"] == PUBLIC
    assert INTERNAL in {a["article_id"] for a in agent["alternatives"]}
    _not_found_like_unknown_answer(kb, agent["answer_id"])


def test_bot_key_cannot_replay_an_answer_that_told_of_an_internal_article(kb: Api) -> None:
    _answer(kb, GOODWILL_Q, "chat", Role.agent, customer_id="cust-1")
    later = _answer(kb, ROAMING_Q, "email", Role.agent, customer_id="cust-1")
    assert INTERNAL in {t["article_id"] for t in later["previously_told"]}
    _not_found_like_unknown_answer(kb, later["answer_id"])


def _not_found_like_unknown_answer(api: Api, answer_id: str) -> None:
    hidden = api.get(f"/v1/answers/{answer_id}", Role.bot)
    unknown = api.get("/v1/answers/no-such-answer", Role.bot)
    assert hidden.status_code == unknown.status_code == 404, hidden.text
    assert INTERNAL not in hidden.text
    assert hidden.json()["detail"].replace(answer_id, "X") == unknown.json()["detail"].replace(
        "no-such-answer", "X"
    )


def test_bot_key_replays_answers_that_cite_only_public_articles(kb: Api) -> None:
    response = kb.post("/v1/answers", Role.bot, json={"question": ROAMING_Q, "channel": "chat"})
    sent = _ok(response)
    assert _articles_named(sent) == {PUBLIC}
    replay = kb.get(f"/v1/answers/{sent['answer_id']}", Role.bot)
    assert replay.status_code == 200
    assert replay.content == response.content


def test_bot_key_cannot_rate_an_answer_it_cannot_replay(kb: Api) -> None:
    agent = _answer(kb, GOODWILL_Q, "chat", Role.agent)
    url = f"/v1/answers/{agent['answer_id']}/feedback"
    assert kb.post(url, Role.bot, json={"helpful": False}).status_code == 404
    assert kb.post(url, Role.agent, json={"helpful": True}).status_code == 201


def test_bot_answer_never_reads_back_a_customers_history(kb: Api) -> None:
    _answer(kb, GOODWILL_Q, "chat", Role.agent, customer_id="cust-2")
    _answer(kb, ROAMING_Q, "chat", Role.bot, customer_id="cust-2")
    bot = _answer(kb, ROAMING_Q, "chat", Role.bot, customer_id="cust-2")
    assert bot["previously_told"] == []  # a public key cannot prove who the customer is
    assert INTERNAL not in _articles_named(bot)
    agent = _answer(kb, ROAMING_Q, "chat", Role.agent, customer_id="cust-2")
    told = {t["article_id"] for t in agent["previously_told"]}
    assert told == {PUBLIC, INTERNAL}  # the bot's answers were recorded; staff see it all


def test_previously_told_on_a_public_channel_leaves_out_internal_articles(kb: Api) -> None:
    _answer(kb, GOODWILL_Q, "chat", Role.agent, customer_id="cust-3")
    social = _answer(kb, ROAMING_Q, "social", Role.agent, customer_id="cust-3")
    assert INTERNAL not in _articles_named(social)


def test_bot_key_cannot_read_customer_timelines(kb: Api) -> None:
    _answer(kb, ROAMING_Q, "chat", Role.bot, customer_id="cust-4")
    forbidden = kb.get("/v1/customers/cust-4/timeline", Role.bot)
    assert forbidden.status_code == 403
    assert "entries" not in forbidden.json()
    assert len(_ok(kb.get("/v1/customers/cust-4/timeline", Role.agent))["entries"]) == 1


def test_bot_key_cannot_read_the_gap_report(kb: Api) -> None:
    assert kb.get("/v1/insights/gaps", Role.bot).status_code == 403
    _ok(kb.get("/v1/insights/gaps", Role.agent))


# --------------------------------------------------------------------------- one place


def test_a_role_added_to_public_roles_sees_only_public_content(
    kb: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding a public role is two lines in the policy module (the role and its areas); here
    the `agent` role stands in for it and is at once held to what a customer may see."""
    from kb_service.services import access

    monkeypatch.setattr(access, "PUBLIC_ROLES", access.PUBLIC_ROLES | {Role.agent})
    areas = {**access.PUBLIC_AREAS, Role.agent: access.PUBLIC_AREAS[Role.bot]}
    monkeypatch.setattr(access, "PUBLIC_AREAS", areas)
    hits = _ok(kb.get("/v1/search", Role.agent, params={"q": GOODWILL_Q}))["hits"]
    assert INTERNAL not in {h["article_id"] for h in hits}
    hidden = kb.get(f"/v1/articles/{INTERNAL}/translations/en-GB", Role.agent)
    assert hidden.status_code == 404
    assert kb.get("/v1/articles", Role.agent).status_code == 403
    assert INTERNAL not in _articles_named(_answer(kb, GOODWILL_Q, "chat", Role.agent))
    assert kb.get("/v1/customers/c/timeline", Role.agent).status_code == 403
    assert kb.get("/v1/insights/gaps", Role.agent).status_code == 403


def test_public_roles_and_channels_are_defined_only_in_the_access_module() -> None:
    from kb_service.services import access, answering, channels

    assert Role.bot in access.PUBLIC_ROLES and "social" in access.PUBLIC_CHANNELS
    for module in (answering, channels):
        assert not hasattr(module, "PUBLIC_ROLES") and not hasattr(module, "PUBLIC_CHANNELS")


def test_routes_do_not_hand_roll_read_checks() -> None:
    """Routes take what a key may read from dependencies; none names a role or a visibility."""
    routes = Path(__file__).resolve().parent.parent / "kb_service" / "api" / "routes"
    for source in routes.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        for banned in ("Role.", "Visibility.", "include_internal=True", "include_internal=False"):
            assert banned not in text, f"{source.name} hand-rolls a read check: {banned}"


# --------------------------------------------------------------------------- visibility changes


def test_article_made_internal_stops_answering_public_channels_at_once(kb: Api) -> None:
    assert _answer(kb, ROAMING_Q, "chat", Role.bot)["answer"]["article_id"] == PUBLIC
    assert _answer(kb, ROAMING_Q, "social", Role.agent)["answer"]["article_id"] == PUBLIC

    _ok(
        kb.client.patch(
            f"/v1/articles/{PUBLIC}",
            headers=kb.headers(Role.reviewer),
            json={"visibility": "internal"},
        )
    )

    # No waiting: the index was refreshed before the PATCH returned (a background task).
    health = kb.client.get("/healthz").json()
    assert health["index_revision"] == health["kb_revision"]
    for channel, role in (("chat", Role.bot), ("social", Role.agent), ("social", Role.bot)):
        body = _answer(kb, ROAMING_Q, channel, role)
        assert PUBLIC not in _articles_named(body), (channel, role)
    hits = _ok(kb.get("/v1/search", Role.bot, params={"q": ROAMING_Q}))["hits"]
    assert PUBLIC not in {h["article_id"] for h in hits}
    gone = kb.get(f"/v1/articles/{PUBLIC}/translations/en-GB", Role.bot)
    assert gone.status_code == 404
    assert kb.client.get(f"/kb/{PUBLIC}/en-GB").status_code == 404
    # Agents on private channels are still answered from it.
    assert _answer(kb, ROAMING_Q, "chat", Role.agent)["answer"]["article_id"] == PUBLIC


def test_article_made_public_answers_public_channels_at_once(kb: Api) -> None:
    assert _answer(kb, GOODWILL_Q, "chat", Role.bot)["answer"]["article_id"] != INTERNAL
    _ok(
        kb.client.patch(
            f"/v1/articles/{INTERNAL}",
            headers=kb.headers(Role.reviewer),
            json={"visibility": "public"},
        )
    )
    assert _answer(kb, GOODWILL_Q, "chat", Role.bot)["answer"]["article_id"] == INTERNAL
    assert _answer(kb, GOODWILL_Q, "social", Role.agent)["answer"]["article_id"] == INTERNAL
