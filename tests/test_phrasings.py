"""Learned phrasings: feedback teaches retrieval, customers only suggest, privacy holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from indexer.phrasings import PhrasingIndex, PhrasingTarget
from kb_service.config import Settings
from kb_service.db import make_engine
from kb_service.models import Phrasing, PhrasingStatus, Role
from kb_service.services import phrasings
from kb_service.services.content_io import import_folder
from kb_service.services.publishing import Actor
from tests.conftest import CONTENT, WIDGET_ORIGIN, Api, publish

ROAMING = "# Roaming\n\nRoaming in the EU costs nothing extra. Outside the EU buy a day pass."
LOST = "# Lost SIM\n\nIf your SIM card is lost or stolen, block it in the app at once."
WIFI = "# Wi-Fi password\n\nChange the Wi-Fi password in the router's settings page."
ODD = "roaming outside the EU zorblax frobnicate quux"  # answered from roaming, wrongly
REWORDED = "quux frobnicate zorblax: roaming outside EU?"  # the same question, reworded


HASHING_CAP = 10.0


@pytest.fixture
def kb(make_api: Callable[..., Api], settings: Settings) -> Api:
    # The hashing embedder's three sections sit further apart (in z-units) than e5's do: a
    # larger cap lets one phrasing move them, which is all this plumbing needs.
    api = make_api(settings.model_copy(update={"phrasing_cap": HASHING_CAP}))
    publish(api, "roaming", "en-GB", "Roaming", ROAMING)
    publish(api, "lost-sim", "en-GB", "Lost SIM", LOST)
    publish(api, "wifi", "en-GB", "Wi-Fi password", WIFI)
    assert _top(api, ODD) == _top(api, REWORDED) == "roaming"
    return api


def _ask(api: Api, question: str, role: Role = Role.agent, **extra: str) -> dict[str, object]:
    headers = api.headers(role)
    if role == Role.widget:
        headers["Origin"] = WIDGET_ORIGIN
    body = {"question": question, "channel": "chat", "locale": "en-GB", **extra}
    response = api.client.post("/v1/answers", headers=headers, json=body)
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def _rate(api: Api, answer: dict[str, object], role: Role, **body: object) -> dict[str, object]:
    headers = api.headers(role)
    if role == Role.widget:
        headers["Origin"] = WIDGET_ORIGIN
    url = f"/v1/answers/{answer['answer_id']}/feedback"
    response = api.client.post(url, headers=headers, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data


def _top(api: Api, question: str) -> str:
    hits = api.get("/v1/search", params={"q": question, "locale": "en-GB"}).json()["hits"]
    return str(hits[0]["article_id"])


def _stored(api: Api) -> list[Phrasing]:
    with Session(api.app.state.engine) as session:
        return list(session.exec(select(Phrasing)).all())


# ------------------------------------------------------------------ masking


@pytest.mark.parametrize(
    ("question", "masked"),
    [
        ("my email is jan.kowalski+tv@example.co.uk, help", "my email is [email], help"),
        ("call me on +48 601 234 567 please", "call me on # please"),
        ("account PL61 1090 1014 0000 0712 1981 2874 blocked", "account # blocked"),
        ("order 12345 and card 4111-1111-1111-1111", "order # and card #"),
        ("roaming in 2 countries", "roaming in # countries"),
        ("no digits here", "no digits here"),
    ],
)
def test_mask_hides_emails_account_numbers_and_digit_runs(question: str, masked: str) -> None:
    assert phrasings.mask(question) == masked


# ------------------------------------------------------------------ teaching (plumbing)


def test_a_correction_teaches_retrieval_at_once(kb: Api) -> None:
    answer = _ask(kb, ODD)
    feedback = _rate(kb, answer, Role.agent, helpful=False, correct_article_id="lost-sim")
    assert feedback["phrasing"] == {"id": 1, "status": "active", "article_id": "lost-sim"}
    assert _top(kb, REWORDED) == "lost-sim"
    listed = kb.get("/v1/articles/lost-sim/phrasings", Role.editor).json()["phrasings"]
    assert [p["text"] for p in listed] == [ODD]
    assert listed[0]["source"] == "corrected" and listed[0]["role"] == "agent"


def test_helpful_feedback_confirms_the_answered_section(kb: Api) -> None:
    answer = _ask(kb, "roaming day pass outside the EU")
    feedback = _rate(kb, answer, Role.editor, helpful=True)
    if answer["status"] == "answered":
        assert feedback["phrasing"] is not None
    else:  # nothing was answered: nothing to confirm
        assert feedback["phrasing"] is None


def test_unhelpful_without_correction_teaches_nothing(kb: Api) -> None:
    _rate(kb, _ask(kb, ODD), Role.agent, helpful=False, reason="wrong")
    assert _stored(kb) == []


def test_a_correction_must_name_an_existing_article_and_section(kb: Api) -> None:
    answer = _ask(kb, ODD)
    url = f"/v1/answers/{answer['answer_id']}/feedback"
    for body in (
        {"helpful": False, "correct_article_id": "no-such-article"},
        {"helpful": False, "correct_article_id": "lost-sim", "correct_section_id": "nope"},
        {"helpful": True, "correct_article_id": "lost-sim"},
        {"helpful": False, "correct_section_id": "x"},
    ):
        response = kb.post(url, Role.agent, json=body)
        assert response.status_code == 422, (body, response.text)
    assert _stored(kb) == []


def test_a_public_key_may_not_name_an_internal_article(kb: Api) -> None:
    publish(kb, "secret", "en-GB", "Secret", "# Secret\n\nGoodwill credit limits for agents.")
    made = kb.client.patch(
        "/v1/articles/secret", headers=kb.headers(Role.reviewer), json={"visibility": "internal"}
    )
    assert made.status_code == 200, made.text
    answer = _ask(kb, ODD, Role.bot)
    url = f"/v1/answers/{answer['answer_id']}/feedback"
    body = {"helpful": False, "correct_article_id": "secret"}
    assert kb.post(url, Role.bot, json=body).status_code == 422
    assert _stored(kb) == []


@pytest.mark.parametrize("role", [Role.bot, Role.widget])
def test_a_customer_facing_key_only_suggests_until_an_editor_accepts(kb: Api, role: Role) -> None:
    answer = _ask(kb, ODD, role)
    feedback = _rate(kb, answer, role, helpful=False, correct_article_id="lost-sim")
    phrasing = feedback["phrasing"]
    assert isinstance(phrasing, dict) and phrasing["status"] == "suggested"
    assert _top(kb, REWORDED) == "roaming"  # nothing changed
    assert kb.index.phrasings is not None and len(kb.index.phrasings) == 0
    for who in (Role.agent, Role.bot):
        assert kb.get("/v1/phrasings", who, params={"status": "suggested"}).status_code == 403
        assert kb.post(f"/v1/phrasings/{phrasing['id']}/accept", who).status_code == 403
    waiting = kb.get("/v1/phrasings", Role.editor, params={"status": "suggested"}).json()
    assert [p["id"] for p in waiting["phrasings"]] == [phrasing["id"]]
    accepted = kb.post(f"/v1/phrasings/{phrasing['id']}/accept", Role.editor)
    assert accepted.status_code == 200 and accepted.json()["status"] == "active"
    assert _top(kb, REWORDED) == "lost-sim"
    rejected = kb.post(f"/v1/phrasings/{phrasing['id']}/reject", Role.reviewer)
    assert rejected.json()["status"] == "rejected"
    assert _top(kb, REWORDED) == "roaming"


def test_editors_remove_a_phrasing(kb: Api) -> None:
    answer = _ask(kb, ODD)
    phrasing = _rate(kb, answer, Role.agent, helpful=False, correct_article_id="lost-sim")
    assert isinstance(phrasing["phrasing"], dict)
    url = f"/v1/phrasings/{phrasing['phrasing']['id']}"
    assert kb.delete(url, Role.agent).status_code == 403
    assert kb.delete(url, Role.editor).status_code == 200
    assert kb.delete(url, Role.editor).status_code == 404
    assert _top(kb, REWORDED) == "roaming"


# ------------------------------------------------------------------ privacy


def test_masked_digits_and_no_customer_id_reach_storage(kb: Api) -> None:
    question = (
        "roaming outside the EU zorblax, I am anna@example.com, account 9876543210, "
        "call 601-234-567"
    )
    answer = _ask(kb, question, customer_id="cust-4242")
    _rate(kb, answer, Role.agent, helpful=False, correct_article_id="lost-sim")
    with Session(kb.app.state.engine) as session:
        rows = session.execute(text("SELECT * FROM phrasing")).mappings().all()
    assert len(rows) == 1
    # Every stored value but the vector and the time, and the answer's id (a random UUID):
    # those may hold "234" by chance (a UUID did once, failing CI).
    assert rows[0]["answer_id"] == answer["answer_id"]
    skipped = ("vector", "created_at", "answer_id")
    stored = " ".join(str(v) for k, v in rows[0].items() if k not in skipped)
    assert rows[0]["text"] == "roaming outside the EU zorblax, I am [email], account #, call #"
    for secret in ("anna", "example.com", "9876543210", "234", "cust-4242"):
        assert secret not in stored


def test_erasing_a_customer_removes_their_phrasings(kb: Api) -> None:
    mine = _ask(kb, ODD, customer_id="cust-1")
    _rate(kb, mine, Role.agent, helpful=False, correct_article_id="lost-sim")
    other = _ask(kb, "my sim card was stolen", customer_id="cust-2")
    _rate(kb, other, Role.agent, helpful=False, correct_article_id="lost-sim")
    assert kb.delete("/v1/customers/cust-1", Role.admin).status_code == 200
    assert [p.text for p in _stored(kb)] == ["my sim card was stolen"]
    assert kb.index.phrasings is not None and len(kb.index.phrasings) == 1
    assert _top(kb, REWORDED) == "roaming"


# ------------------------------------------------------------------ fusion and index


def test_no_phrasings_reproduce_the_ranking_exactly(kb: Api) -> None:
    index = kb.index.current
    assert index is not None
    embedder = kb.index.embedder
    plain = index.search(ODD, embedder, limit=5)
    empty = index.search(ODD, embedder, limit=5, phrasings=PhrasingIndex(1, []))
    vector = embedder.embed(["something else entirely"], "query").vectors
    far = PhrasingIndex(1, [PhrasingTarget("lost-sim")], vector)
    unrelated = index.search(ODD, embedder, limit=5, phrasings=far, phrasing_margin=1.0)
    for other in (empty, unrelated):
        assert [(h.section.section_id, h.score) for h in other.hits] == [
            (h.section.section_id, h.score) for h in plain.hits
        ]


def test_the_poll_picks_up_phrasings_taught_by_another_process(
    make_api: Callable[..., Api], settings: Settings
) -> None:
    update = {"index_poll_seconds": 0.2, "phrasing_cap": HASHING_CAP}
    api = make_api(settings.model_copy(update=update))
    publish(api, "roaming", "en-GB", "Roaming", ROAMING)
    publish(api, "lost-sim", "en-GB", "Lost SIM", LOST)
    publish(api, "wifi", "en-GB", "Wi-Fi password", WIFI)
    with Session(api.app.state.engine) as session:  # as `kb import` or another replica would
        phrasings.add(
            session,
            None,
            text=ODD,
            target=PhrasingTarget("lost-sim"),
            language="en",
            status=PhrasingStatus.active,
            source="imported",
            role="import",
        )
    deadline = time.monotonic() + 5
    while _top(api, REWORDED) != "lost-sim":
        assert time.monotonic() < deadline, "the poll did not pick up the phrasing"
        time.sleep(0.1)


def test_export_and_import_carry_phrasings(kb: Api, tmp_path: Path) -> None:
    answer = _ask(kb, ODD + " 42")
    _rate(kb, answer, Role.agent, helpful=False, correct_article_id="lost-sim")
    with Session(kb.app.state.engine) as session:
        assert phrasings.export_jsonl(session, tmp_path) == 1
    other = tmp_path / "other"  # a second knowledge base, in a database of its own on any engine
    url = f"sqlite:///{other / 'kb.sqlite3'}"
    engine = make_engine(Settings(data_dir=other, embedding_model="hashing", database_url=url))
    with Session(engine) as session:
        import_folder(session, CONTENT, actor=Actor("test"))
        session.commit()
        publish_ok = session.exec(select(Phrasing)).all() == []
        assert publish_ok
    (tmp_path / "articles").mkdir()
    with Session(engine) as session:
        # lost-sim is not in the demo content: skipped; one for a demo article is kept
        line = '{"text": "sim gone", "article_id": "mobile-lost-stolen-sim", "status": "active"}'
        with open(tmp_path / phrasings.EXPORT_FILE, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        assert phrasings.import_jsonl(session, tmp_path) == 1
        rows = session.exec(select(Phrasing)).all()
        assert [(r.article_id, r.text, r.vector) for r in rows] == [
            ("mobile-lost-stolen-sim", "sim gone", None)
        ]
    engine.dispose()


# ------------------------------------------------------------------ the real model


def _answer_of(api: Api, question: str) -> dict[str, object]:
    body = {"question": question, "channel": "chat", "locale": "en-GB"}
    response = api.post("/v1/answers", Role.agent, json=body)
    assert response.status_code == 200, response.text
    data: dict[str, object] = response.json()
    return data


def _article(answer: dict[str, object]) -> str:
    chosen = answer["answer"]
    assert isinstance(chosen, dict), answer
    return str(chosen["article_id"])


def test_an_agents_correction_answers_the_next_rewording_within_5_s(demo_api: Api) -> None:
    first = "the sim card got wet and stopped working, I need a new one"
    reworded = "my SIM was damaged by water and doesn't work any more, how do I get another?"
    answer = _answer_of(demo_api, first)
    wrong = _article(answer)
    alternatives = answer["alternatives"]
    assert isinstance(alternatives, list) and alternatives
    right = str(alternatives[0]["article_id"])  # the agent knows better: the runner-up
    assert _article(_answer_of(demo_api, reworded)) == wrong
    taught = time.monotonic()
    feedback = demo_api.post(
        f"/v1/answers/{answer['answer_id']}/feedback",
        Role.agent,
        json={"helpful": False, "correct_article_id": right},
    )
    assert feedback.status_code == 201, feedback.text
    while _article(_answer_of(demo_api, reworded)) != right:
        assert time.monotonic() - taught < 5, "the correction did not take effect within 5 s"
        time.sleep(0.2)
