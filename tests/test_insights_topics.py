"""Topics, gaps, pre-publish impact and stale articles (issue 13), with the real model where
grouping questions across languages is the point."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kb_service.config import Settings
from kb_service.models import Role
from tests.conftest import Api, DemoTemplate, _copy_data_dir, publish

DINOSAURS = [  # the biggest gap: 6 questions, 3 languages, 3 channels
    ("Which dinosaur had the longest neck?", "chat", "en-GB"),
    ("How long was the neck of the longest dinosaur?", "email", "en-GB"),
    ("Który dinozaur miał najdłuższą szyję?", "chat", "pl-PL"),
    ("Jak długą szyję miał najdłuższy dinozaur?", "phone", "pl-PL"),
    ("Який динозавр мав найдовшу шию?", "chat", "uk-UA"),
    ("Якої довжини була шия найдовшого динозавра?", "email", "uk-UA"),
]
FOOTBALL = [  # 4 questions
    ("Who won the football World Cup in 1998?", "email", "en-GB"),
    ("Kto wygrał mistrzostwa świata w piłce nożnej w 1998 roku?", "chat", "pl-PL"),
    ("Który kraj zdobył mundial w 1998?", "phone", "pl-PL"),
    ("Хто виграв чемпіонат світу з футболу 1998 року?", "chat", "uk-UA"),
]
PIEROGI = [  # 3 questions
    ("What is a good recipe for pierogi dough?", "social", "en-GB"),
    ("Jaki jest dobry przepis na ciasto na pierogi?", "chat", "pl-PL"),
    ("Який хороший рецепт тіста для вареників?", "phone", "uk-UA"),
]
DINOSAUR_ARTICLE = """The Nordlink Kids quiz asks about dinosaurs; here are the answers.

## The dinosaur with the longest neck
Mamenchisaurus had the longest neck of any dinosaur: about 15 metres, half its body length.
Sauroposeidon and Supersaurus had necks almost as long.
"""


@pytest.fixture
def kb(
    make_api: Callable[..., Api],
    tmp_path: Path,
    demo_template: DemoTemplate,
    real_embedder: Any,
) -> Api:
    """A private copy of the demo knowledge base, served with the real model."""
    data_dir = _copy_data_dir(demo_template.data_dir, tmp_path / "kb")
    return make_api(Settings(data_dir=data_dir, embedding_model="default"), embedder=real_embedder)


def _ask(api: Api, questions: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    out = []
    for question, channel, locale in questions:
        response = api.post(
            "/v1/answers",
            Role.agent,
            json={"question": question, "channel": channel, "locale": locale},
        )
        assert response.status_code == 200, response.text
        out.append(response.json())
    return out


def test_unanswerable_themes_become_gaps_that_close_once_answered(kb: Api) -> None:
    asked = _ask(kb, DINOSAURS + FOOTBALL + PIEROGI)
    assert all(a["status"] == "no_answer" for a in asked), [
        (a["question"], a["confidence"]) for a in asked if a["status"] != "no_answer"
    ]
    report = kb.get("/v1/insights/gaps", params={"days": 7}).json()
    gaps = report["gaps"]
    assert [g["count"] for g in gaps[:3]] == [6, 4, 3], gaps
    for gap, theme in zip(gaps[:3], (DINOSAURS, FOOTBALL, PIEROGI), strict=True):
        detail = kb.get(f"/v1/insights/topics/{gap['topic_id']}", params={"days": 7}).json()
        assert {q["question"] for q in detail["questions"]} == {q for q, _, _ in theme}
        # A no_answer is recorded with the question's language (an answer with its locale).
        assert {locale[:2] for locale in gap["by_locale"]} == {"en", "pl", "uk"}
        assert set(gap["by_channel"]) == {c for _, c, _ in theme}
        assert gap["open"] == gap["count"] and gap["closed"] == 0
        assert gap["nearest_article"] is not None
        assert 1 <= len(gap["examples"]) <= 3
    assert len(report["unanswered"]) == 13  # the flat list of earlier versions stays

    top, second = gaps[0]["topic_id"], gaps[1]["topic_id"]
    publish(kb, "dinosaurs", "en-GB", "Dinosaur necks", DINOSAUR_ARTICLE)
    later = _ask(
        kb,
        [
            ("Which dinosaur had the longest neck?", "chat", "en-GB"),
            ("What dinosaur had the longest neck of all?", "phone", "en-GB"),
        ],
    )
    assert all(a["status"] == "answered" for a in later), later
    assert {a["answer"]["article_id"] for a in later} == {"dinosaurs"}
    gaps = kb.get("/v1/insights/gaps", params={"days": 7}).json()["gaps"]
    closed = next(g for g in gaps if g["topic_id"] == top)
    assert closed["open"] == 0 and closed["closed"] == 6
    football = next(g for g in gaps if g["topic_id"] == second)
    assert football["open"] == 4  # other gaps stay open
    topics = kb.get("/v1/insights/topics", params={"days": 7}).json()["topics"]
    assert topics[0]["topic_id"] == top and topics[0]["count"] == 8
    assert topics[0]["label"] == "Dinosaur necks"  # the article now answering it


def test_topics_keep_their_ids_and_group_languages(kb: Api) -> None:
    roaming = [
        ("Ile kosztuje roaming poza UE?", "chat", "pl-PL"),
        ("How much does roaming cost outside the EU?", "email", "en-GB"),
        ("Скільки коштує роумінг за межами ЄС?", "phone", "uk-UA"),
    ]
    _ask(kb, roaming + [("How do I change my wifi password?", "chat", "en-GB")])
    first = kb.get("/v1/insights/topics", params={"days": 1}).json()
    assert first["days"] == 1
    top = first["topics"][0]
    assert top["count"] == 3 and set(top["by_locale"]) == {"pl-PL", "en-GB", "uk-UA"}
    assert top["trend"]["first_half"] + top["trend"]["second_half"] == 3
    assert sum(top["trend"]["per_day"].values()) == 3
    assert len(first["topics"]) == 2  # wifi is a topic of its own
    _ask(kb, [("Roaming w USA, jakie są opłaty?", "social", "pl-PL")])
    second = kb.get("/v1/insights/topics", params={"days": 1}).json()["topics"]
    assert second[0]["topic_id"] == top["topic_id"] and second[0]["count"] == 4
    assert {t["topic_id"] for t in second} == {t["topic_id"] for t in first["topics"]}
    detail = kb.get(f"/v1/insights/topics/{top['topic_id']}", params={"limit": 2}).json()
    assert detail["count"] == 4 and len(detail["questions"]) == 2
    assert detail["questions"][0]["question"] == "Roaming w USA, jakie są opłaty?"
    assert kb.get("/v1/insights/topics/999999").status_code == 404


def test_impact_lists_questions_a_draft_would_answer_differently(kb: Api) -> None:
    _ask(kb, DINOSAURS[:3] + [("How do I change my wifi password?", "chat", "en-GB")])
    created = kb.post(
        "/v1/articles",
        Role.editor,
        json={
            "id": "dinosaurs",
            "locale": "en-GB",
            "title": "Dinosaur necks",
            "markdown": DINOSAUR_ARTICLE,
        },
    )
    assert created.status_code == 201, created.text
    url = "/v1/articles/dinosaurs/translations/en-GB/impact"
    report = kb.get(url, Role.editor, params={"limit": 10}).json()
    assert report["checked"] == 4
    changed = {c["question"]: c for c in report["changed"]}
    assert "How do I change my wifi password?" not in changed
    first = changed["Which dinosaur had the longest neck?"]
    assert first["before"] is None and first["channel"] == "chat"
    assert first["after"]["article_id"] == "dinosaurs"
    assert first["after"]["version"] == 1
    # Nothing was published: the serving index and the answers are unchanged.
    again = _ask(kb, DINOSAURS[:1])[0]
    assert again["status"] == "no_answer"
    assert kb.get(url, Role.reviewer, params={"limit": 1}).json()["checked"] == 1
    assert kb.get(url, Role.agent).status_code == 403
    assert kb.get(url, Role.editor, params={"limit": 201}).status_code == 422


# ------------------------------------------------------------------ the hashing model


def test_insights_are_staff_only_and_impact_editor_plus(api: Api) -> None:
    for path in ("/v1/insights/topics", "/v1/insights/gaps", "/v1/insights/stale"):
        for role in (Role.agent, Role.editor, Role.reviewer, Role.admin):
            assert api.get(path, role).status_code == 200, (path, role)
        assert api.get(path, Role.bot).status_code == 403
    publish(api, "a1", "en-GB", "Router", "Restart the router.\n")
    api.put("/v1/articles/a1/translations/en-GB/draft", json={"title": "R", "markdown": "New."})
    url = "/v1/articles/a1/translations/en-GB/impact"
    for role in (Role.editor, Role.reviewer, Role.admin):
        assert api.get(url, role).status_code == 200, role
    for role in (Role.agent, Role.bot):
        assert api.get(url, role).status_code == 403, role
    assert api.get("/v1/articles/nope/translations/en-GB/impact", Role.editor).status_code == 404


def test_stale_lists_articles_past_review_by_ranked_by_answers(api: Api) -> None:
    publish(api, "old", "en-GB", "Old prices", "Prices from 2019.\n")
    publish(api, "busy", "en-GB", "Busy", "Asked about a lot.\n")
    publish(api, "fresh", "en-GB", "Fresh", "Reviewed soon.\n")
    for article_id, day in (("old", "2020-01-01"), ("busy", "2021-01-01"), ("fresh", "2999-01-01")):
        response = api.client.patch(
            f"/v1/articles/{article_id}", headers=api.headers(Role.editor), json={"review_by": day}
        )
        assert response.status_code == 200, response.text
        assert response.json()["review_by"] == day
    for _ in range(2):
        api.post(
            "/v1/answers", Role.agent, json={"question": "Asked about a lot", "channel": "chat"}
        )
    stale = api.get("/v1/insights/stale").json()["articles"]
    assert [a["article_id"] for a in stale][:2] in (["busy", "old"], ["old", "busy"])
    assert "fresh" not in {a["article_id"] for a in stale}
    served = {a["article_id"]: a["answers_30d"] for a in stale}
    assert served["busy"] + served["old"] >= 0
    stale_sorted = sorted(stale, key=lambda a: -a["answers_30d"])
    assert stale == stale_sorted
    # Tags alone leave the date; null clears it.
    api.client.patch("/v1/articles/old", headers=api.headers(Role.editor), json={"tags": ["x"]})
    assert api.get("/v1/articles/old", Role.editor).json()["review_by"] == "2020-01-01"
    api.client.patch("/v1/articles/old", headers=api.headers(Role.editor), json={"review_by": None})
    assert "old" not in {a["article_id"] for a in api.get("/v1/insights/stale").json()["articles"]}


def test_review_by_round_trips_through_import_and_export(tmp_path: Path, api: Api) -> None:
    from sqlmodel import Session

    from kb_service.services.content_io import export_folder, import_folder
    from kb_service.services.publishing import Actor

    source = tmp_path / "in"
    source.mkdir()
    (source / "a.md").write_text(
        "---\nid: a\ntitle: A\nlocale: en-GB\nreview_by: 2026-06-30\n---\nBody.\n", "utf-8"
    )
    (source / "b.md").write_text(
        "---\nid: b\ntitle: B\nlocale: en-GB\nreview_by: soon\n---\nBody.\n", "utf-8"
    )
    with Session(api.app.state.engine) as session:
        report = import_folder(session, source, actor=Actor("t"))
        assert [p.line for p in report.problems] == [5]
        assert export_folder(session, tmp_path / "out") == 1
    assert "review_by: '2026-06-30'" in (tmp_path / "out" / "a.md").read_text("utf-8") or (
        "review_by: 2026-06-30" in (tmp_path / "out" / "a.md").read_text("utf-8")
    )
    assert api.get("/v1/articles/a", Role.editor).json()["review_by"] == "2026-06-30"


def test_erasure_removes_a_customers_questions_from_their_topics(api: Api) -> None:
    for customer in ("c-1", "c-2"):
        body = {"question": "Is there an outage?", "channel": "chat", "customer_id": customer}
        assert api.post("/v1/answers", Role.agent, json=body).status_code == 200
    topics = api.get("/v1/insights/topics").json()["topics"]
    assert sum(t["count"] for t in topics) == 2
    assert api.delete("/v1/customers/c-1").status_code == 200
    topics = api.get("/v1/insights/topics").json()["topics"]
    assert sum(t["count"] for t in topics) == 1


def test_bench_topics_scores_merged_and_purity() -> None:
    from kb_service.bench.topics import score

    groups = {"a1": "roaming", "a2": "roaming", "a3": "sim", "a4": "sim", "a5": "jobs"}
    report = score(groups, {"a1": 1, "a2": 1, "a3": 2, "a4": 3, "a5": 3})
    assert report.merged == pytest.approx(2 / 3)  # roaming and jobs whole; sim split
    assert report.split_groups == {"sim": [2, 3]}
    # a4 and a5 share topic 3 one each: its majority is whichever Counter met first (sim).
    assert report.purity == pytest.approx(4 / 5)
    assert report.as_json()["topics"] == 3
