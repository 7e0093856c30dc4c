"""Input rules (``kb_service.validation``): a bad value is refused with 422 where it enters, so it
can never be stored and then break every later read (a 500 on each GET of the article)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from kb_service.config import Settings
from kb_service.db import make_engine
from kb_service.errors import ValidationFailed
from kb_service.models import Article, Role, Translation
from kb_service.schemas.common import RequestBody
from kb_service.services import keys
from kb_service.services.answering import is_question
from kb_service.services.content_io import import_folder
from kb_service.services.publishing import Actor
from kb_service.validation import (
    MAX_DB_INT,
    check_customer_id,
    check_db_int,
    customer_id_problem,
    line_problem,
    text_problem,
)
from tests.conftest import Api, publish

ARTICLE = {"id": "a1", "locale": "en-GB", "title": "T", "markdown": "Body text."}
QUESTION = {"question": "Roaming?", "channel": "chat"}
BASE = "/v1/articles/a1/translations/en-GB"
TOO_BIG = 2**63  # one more than SQLite's (and PostgreSQL's BIGINT) largest INTEGER


def _send(api: Api, method: str, url: str, payload: Any, role: Role = Role.admin) -> Any:
    """JSON as a hostile client writes it: ``\\ud800`` escapes survive (httpx would refuse)."""
    headers = {**api.headers(role), "Content-Type": "application/json"}
    return api.client.request(method, url, content=json.dumps(payload), headers=headers)


def _status(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def _invalid(response: Any) -> dict[str, Any]:
    body = _status(response, 422)
    assert response.headers["content-type"].startswith("application/problem+json")
    return body


def _reads_stay_200(api: Api) -> None:
    _status(api.get("/v1/articles"), 200)
    _status(api.get("/v1/articles?tag=billing"), 200)
    _status(api.get("/v1/articles/a1"), 200)


# --------------------------------------------------------------------------- lone surrogates


def test_lone_surrogate_in_tags_is_refused_and_reads_stay_200(api: Api) -> None:
    bad = {**ARTICLE, "id": "a2", "tags": ["billing", "\ud800"]}
    _invalid(_send(api, "POST", "/v1/articles", bad))
    _status(_send(api, "POST", "/v1/articles", {**ARTICLE, "tags": ["billing"]}), 201)
    _invalid(_send(api, "PATCH", "/v1/articles/a1", {"tags": ["\udfff"]}))
    _reads_stay_200(api)
    assert _status(api.get("/v1/articles/a1"), 200)["tags"] == ["billing"]
    assert _status(api.get("/v1/articles"), 200)["total"] == 1


def test_lone_surrogate_in_markdown_is_refused(api: Api) -> None:
    _invalid(_send(api, "POST", "/v1/articles", {**ARTICLE, "markdown": "Body \ud83d text"}))
    _status(_send(api, "POST", "/v1/articles", ARTICLE), 201)
    draft = {"title": "T", "markdown": "Edited \udc00"}
    _invalid(_send(api, "PUT", f"{BASE}/draft", draft, Role.editor))
    _reads_stay_200(api)


@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [
        ("POST", "/v1/articles", {**ARTICLE, "title": "T\ud800"}),
        ("POST", "/v1/articles", {**ARTICLE, "id": "a\ud800"}),
        ("POST", "/v1/answers", {"question": "Roaming \ud800?", "channel": "chat"}),
        ("POST", "/v1/answers", {**QUESTION, "customer_id": "\ud800"}),
        ("POST", "/v1/answers", {**QUESTION, "conversation_id": "\ud800"}),
        ("POST", "/v1/keys", {"role": "agent", "name": "bot \ud800"}),
        ("POST", f"{BASE}/reject", {"comment": "Fix \ud800"}),
    ],
)
def test_lone_surrogate_anywhere_in_a_body_is_422(
    api: Api, method: str, url: str, payload: dict[str, Any]
) -> None:
    _invalid(_send(api, method, url, payload))


# --------------------------------------------------------------------------- control characters


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("markdown", "Body\x00text"),
        ("markdown", "Body \x1b[31m red"),
        ("title", "Title\x00"),
        ("title", "Two\nlines"),
        ("title", "Tab\there"),
        ("tags", ["bill\ning"]),
        ("tags", ["nul\x00"]),
        ("tags", [""]),
        ("tags", ["x" * 101]),
    ],
)
def test_control_characters_in_stored_fields_are_refused(api: Api, field: str, value: Any) -> None:
    _invalid(api.post("/v1/articles", Role.editor, json={**ARTICLE, field: value}))
    _status(api.get("/v1/articles"), 200)
    assert _status(api.get("/v1/articles"), 200)["total"] == 0


def test_newlines_and_tabs_in_markdown_are_kept(api: Api) -> None:
    markdown = "Line one\r\nLine two\n\n\tindented code\n"
    _status(api.post("/v1/articles", Role.editor, json={**ARTICLE, "markdown": markdown}), 201)
    assert api.get("/v1/articles/a1").status_code == 200


def test_nul_in_question_reason_or_key_name_is_refused(api: Api) -> None:
    _invalid(api.post("/v1/answers", Role.agent, json={"question": "a\x00b", "channel": "chat"}))
    _invalid(api.post("/v1/keys", Role.admin, json={"role": "agent", "name": "a\x07b"}))
    answer = _status(
        api.post("/v1/answers", Role.agent, json={"question": "Roaming?", "channel": "chat"}), 200
    )
    feedback = {"helpful": False, "reason": "bad\x00"}
    _invalid(api.post(f"/v1/answers/{answer['answer_id']}/feedback", Role.agent, json=feedback))


def test_every_request_body_refuses_unstorable_strings_even_in_plain_str_fields() -> None:
    class Shape(RequestBody):
        note: str
        notes: dict[str, list[str]] = {}

    assert Shape(note="fine\nwith lines\tand tabs").note.startswith("fine")
    for bad in ({"note": "\ud800"}, {"note": "a\x00"}, {"note": "ok", "notes": {"k": ["\x01"]}}):
        with pytest.raises(ValueError, match="lone surrogate|control character"):
            Shape.model_validate(bad)
    with pytest.raises(ValueError, match="Extra inputs"):
        Shape.model_validate({"note": "ok", "other": 1})


def test_text_and_line_rules() -> None:
    assert text_problem("Markdown\n\twith\r\nlines") is None
    assert "lone surrogate (U+D800) at position 1" in (text_problem("a\ud800") or "")
    assert "control character (U+0000)" in (text_problem("\x00") or "")
    assert "control character (U+0085)" in (text_problem("\x85") or "")
    assert line_problem("Ünïcödé title – fine") is None
    assert "line break" in (line_problem("a\nb") or "")
    assert "line break" in (line_problem("a\u2028b") or "")
    assert "control character" in (line_problem("a\tb") or "")


# --------------------------------------------------------------------------- integers


def test_version_number_over_int64_is_422(api: Api) -> None:
    publish(api, "a1", "en-GB", "T", "Body text.")
    _invalid(api.get(f"{BASE}/versions/{TOO_BIG}"))
    _invalid(api.get(f"{BASE}/versions/{-TOO_BIG - 1}"))
    _status(api.get(f"{BASE}/versions/{MAX_DB_INT}"), 404)
    _status(api.get(f"{BASE}/versions/1"), 200)


def test_rollback_to_version_over_int64_is_422(api: Api) -> None:
    publish(api, "a1", "en-GB", "T", "Body text.")
    _invalid(api.post(f"{BASE}/rollback", json={"to_version": TOO_BIG}))
    _status(api.post(f"{BASE}/rollback", json={"to_version": MAX_DB_INT}), 404)


def test_key_id_over_int64_is_422(api: Api) -> None:
    _invalid(api.delete(f"/v1/keys/{TOO_BIG}"))
    _status(api.delete(f"/v1/keys/{MAX_DB_INT}"), 404)


def test_list_offset_over_int64_is_422(api: Api) -> None:
    _invalid(api.get(f"/v1/articles?offset={TOO_BIG}"))
    assert _status(api.get(f"/v1/articles?offset={MAX_DB_INT}"), 200)["items"] == []


def test_services_refuse_integers_over_int64(settings: Settings) -> None:
    check_db_int(MAX_DB_INT, "n")
    with pytest.raises(ValidationFailed, match="key id"):
        check_db_int(TOO_BIG, "key id")
    with Session(make_engine(settings)) as session, pytest.raises(ValidationFailed):
        keys.revoke_key(session, TOO_BIG)  # `kb keys revoke 9223372036854775808`


# --------------------------------------------------------------------------- ids and locales


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/v1/articles/a1/translations/en-GB%0A"),
        ("GET", "/v1/articles/a1/translations/en-GB%0A/versions"),
        ("GET", "/v1/articles/a1/translations/en-GB%0A/versions/1"),
        ("GET", "/v1/articles/a1/translations/en%20GB"),
        ("POST", "/v1/articles/a1/translations/en-GB%0A/submit"),
        ("POST", "/v1/articles/a1/translations/en-GB%0A/archive"),
    ],
)
def test_trailing_newline_in_locale_is_refused(api: Api, method: str, url: str) -> None:
    publish(api, "a1", "en-GB", "T", "Body text.")
    _invalid(api.client.request(method, url, headers=api.headers(Role.admin)))
    _invalid(api.post("/v1/articles", Role.editor, json={**ARTICLE, "locale": "en-GB\n"}))
    _status(api.get("/v1/articles/a1/translations/en-GB"), 200)


@pytest.mark.parametrize("article_id", ["a1%0A", "a1%0D", "a1%20", "-a1", "a" * 121])
def test_trailing_newline_in_article_id_is_refused(api: Api, article_id: str) -> None:
    publish(api, "a1", "en-GB", "T", "Body text.")
    _invalid(api.get(f"/v1/articles/{article_id}"))
    _invalid(api.get(f"/v1/articles/{article_id}/translations/en-GB"))
    draft = {"title": "T", "markdown": "x"}
    _invalid(api.put(f"/v1/articles/{article_id}/translations/pl-PL/draft", json=draft))
    _invalid(api.post("/v1/articles", Role.editor, json={**ARTICLE, "id": "a1\n"}))
    _status(api.get("/v1/articles/a1"), 200)
    _status(api.get("/v1/articles/KB-0001"), 200)  # the spoken key follows the same rule


def test_malformed_id_or_locale_on_public_page_is_404(api: Api) -> None:
    publish(api, "a1", "en-GB", "T", "Body text.")
    assert api.client.get("/kb/a1/en-GB").status_code == 200
    for url in ("/kb/a1%0A/en-GB", "/kb/a1/en-GB%0A", "/kb/a1/en%00GB", "/kb/-x/en-GB"):
        assert api.client.get(url).status_code == 404, url


# --------------------------------------------------------------------------- customer ids


@pytest.mark.parametrize(
    "customer_id", ["a/b", "a\\b", "..", " cust", "cust ", "cu\x00st", "cu\u200bst", "x" * 201]
)
def test_customer_id_with_slash_is_refused(api: Api, customer_id: str) -> None:
    question = {"question": "Roaming?", "channel": "chat", "customer_id": customer_id}
    _invalid(api.post("/v1/answers", Role.agent, json=question))
    assert customer_id_problem(customer_id) is not None
    with pytest.raises(ValidationFailed):
        check_customer_id(customer_id)


@pytest.mark.parametrize("customer_id", ["cust-1042", "anna@example.com", "+48 600 100 200"])
def test_a_customer_id_that_can_be_answered_can_be_listed_and_erased(
    api: Api, customer_id: str
) -> None:
    publish(api, "a1", "en-GB", "Roaming", "Roaming in the EU costs nothing extra.")
    question = {"question": "Roaming?", "channel": "chat", "customer_id": customer_id}
    _status(api.post("/v1/answers", Role.agent, json=question), 200)
    path = customer_id.replace("@", "%40").replace("+", "%2B").replace(" ", "%20")
    assert _status(api.get(f"/v1/customers/{path}/timeline"), 200)["customer_id"] == customer_id
    assert _status(api.delete(f"/v1/customers/{path}"), 200)["erased_answers"] == 1


def test_customer_id_path_parameter_follows_the_same_rule(api: Api) -> None:
    _invalid(api.get("/v1/customers/a%0Ab/timeline"))
    _invalid(api.get(f"/v1/customers/{'x' * 201}/timeline"))
    _invalid(api.delete("/v1/customers/%20a"))


# --------------------------------------------------------------------------- content-free questions

CONTENT_FREE = [".", "?!", "🙂", "\u200b\u200b", "👍🏽 …", " ", "¿¡"]


@pytest.fixture
def eager_api(make_api: Callable[..., Api], tmp_path: Path) -> Api:
    """Thresholds at 0: the index's score alone would answer anything it returns."""
    thresholds = {f"min_confidence_{c}": 0.0 for c in ("chat", "email", "phone", "social")}
    api = make_api(Settings(data_dir=tmp_path / "eager", embedding_model="hashing", **thresholds))
    publish(api, "a1", "en-GB", "Roaming", "Roaming in the EU costs nothing extra.")
    return api


@pytest.mark.parametrize("question", CONTENT_FREE)
def test_content_free_question_gets_no_answer(eager_api: Api, question: str) -> None:
    for channel in ("chat", "phone"):
        body = _status(
            eager_api.post(
                "/v1/answers", Role.agent, json={"question": question, "channel": channel}
            ),
            200,
        )
        assert body["status"] == "no_answer", body
        assert body["confidence"] == 0
        assert body["answer"] is None and body["alternatives"] == []
        assert body["handoff"]["reason"] == "no_question"


def test_a_question_with_letters_or_digits_is_still_searched(eager_api: Api) -> None:
    for question in ("Roaming?", "5", "漫游"):
        body = _status(
            eager_api.post(
                "/v1/answers", Role.agent, json={"question": question, "channel": "chat"}
            ),
            200,
        )
        assert body["status"] == "answered", (question, body)
    assert is_question("Ile kosztuje roaming?") and is_question("٣")
    assert not any(is_question(q) for q in CONTENT_FREE)


# --------------------------------------------------------------------------- imports and the CLI


def test_import_reports_unstorable_characters_by_line(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    good = "---\nid: good\ntitle: Good\nlocale: en-GB\n---\nFine.\n"
    (folder / "good.md").write_text(good)
    files = {
        "nul-body.md": ("---\nid: nb\ntitle: T\nlocale: en-GB\n---\nFine.\n\nNot\x00fine.\n", 8),
        "ctl-title.md": ('---\nid: ct\ntitle: "T\\x1b[31m"\nlocale: en-GB\n---\nBody\n', 3),
        "tab-tag.md": ('---\nid: tt\ntitle: T\nlocale: en-GB\ntags: ["a\\tb"]\n---\nBody\n', 5),
        "nl-id.md": ('---\nid: "nl\\n"\ntitle: T\nlocale: en-GB\n---\nBody\n', 2),
        "bad-key.md": ("---\nid: bk\ntitle: T\nlocale: en-GB\nkey: KB 1\n---\nBody\n", 5),
        "nul-meta.md": ('---\nid: nm\ntitle: T\nlocale: en-GB\nsource: "x\\0"\n---\nBody\n', 5),
        "bad-translation.md": (
            "---\nid: g.pl\ntitle: T\nlocale: pl_PL\ntranslation_of: good\n---\nBody\n",
            4,
        ),
    }
    for name, (text, _) in files.items():
        (folder / name).write_text(text)
    with Session(make_engine(settings)) as session:
        report = import_folder(session, folder, actor=Actor("test"))
        stored = set(session.exec(select(Article.id)).all())
        locales = set(session.exec(select(Translation.locale)).all())
    problems = {p.path.name: p for p in report.problems}
    assert set(problems) == set(files), problems
    for name, (_, line) in files.items():
        assert problems[name].line == line, problems[name]
    assert "control character" in problems["nul-body.md"].reason
    assert stored == {"good"} and locales == {"en-GB"}


def test_cli_key_name_with_control_character_is_refused(settings: Settings) -> None:
    with Session(make_engine(settings)) as session:
        for name in ("bot\x1b[2J", "two\nlines", "\udcff"):  # argv decodes bad bytes to surrogates
            with pytest.raises(ValidationFailed):
                keys.create_key(session, role=Role.agent, name=name)
        assert keys.list_keys(session) == []
