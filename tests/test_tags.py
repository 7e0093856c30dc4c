"""Tags, keywords and synonyms are searchable: they reach every section's keyword tokens and
passage text, a change re-embeds the article, and they round-trip through import/export."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import frontmatter
from sqlmodel import Session

from indexer.build import build_index
from indexer.documents import SourceDocument
from indexer.embed import HashingEmbedder, Vectors
from kb_service.bench.retrieval import run_retrieval_bench
from kb_service.config import Settings
from kb_service.db import make_engine
from kb_service.models import Article, Role
from kb_service.services.articles import kb_revision
from kb_service.services.content_io import export_folder, import_folder
from kb_service.services.indexing import IndexService
from kb_service.services.publishing import Actor
from tests.conftest import Api, publish

OPERATOR = Actor("operator")
BODY = "## Installing\n\nScan the activation code from the confirmation e-mail in Settings."


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.passages = 0

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        self.passages += len(texts)
        return super().embed_passages(texts)


def _doc(terms: tuple[str, ...] = (), markdown: str = BODY) -> SourceDocument:
    return SourceDocument(
        "esim", "KB-0001", "en-GB", 1, "Activating an eSIM", markdown, "h", False, terms
    )


def test_terms_reach_the_keyword_tokens_and_the_passage_text() -> None:
    index = build_index(
        [_doc(("virtual SIM", "QR code"))], embedder=HashingEmbedder(), kb_revision=1
    )
    section = index.sections[0]
    assert section.terms == ("virtual SIM", "QR code")
    assert section.passage_text().endswith("\nTags: virtual SIM, QR code")
    assert {"virtual", "qr"} <= set(index.tokens[0])
    assert index.manifest.terms
    plain = build_index(
        [_doc(("virtual SIM",))], embedder=HashingEmbedder(), kb_revision=1, index_terms=False
    )
    assert plain.sections[0].terms == () and "virtual" not in plain.tokens[0]
    assert "Tags" not in plain.sections[0].passage_text() and not plain.manifest.terms


def test_terms_are_cleaned_and_round_trip_through_the_section_json() -> None:
    index = build_index(
        [_doc(("QR  code", "qr code", " ", "kids"))], embedder=HashingEmbedder(), kb_revision=1
    )
    section = index.sections[0]
    assert section.terms == ("QR code", "kids")
    assert type(section).from_json(section.to_json()) == section
    old = {k: v for k, v in section.to_json().items() if k != "terms"}  # an older generation
    assert type(section).from_json(old).terms == ()


def test_a_term_change_re_embeds_the_article_and_nothing_else_does() -> None:
    embedder = CountingEmbedder()
    first = build_index([_doc(("kids",))], embedder=embedder, kb_revision=1)
    embedded = embedder.passages
    same = build_index([_doc(("kids",))], embedder=embedder, kb_revision=2, previous=first)
    assert embedder.passages == embedded  # reused
    changed = build_index([_doc(("children",))], embedder=embedder, kb_revision=3, previous=same)
    assert embedder.passages == 2 * embedded
    assert "child" in " ".join(changed.tokens[0]) and "kid" not in " ".join(changed.tokens[0])
    # the section id stays: what points at a section (citations, feedback) keeps pointing
    assert changed.sections[0].section_id == first.sections[0].section_id
    off = build_index(
        [_doc(("children",))], embedder=embedder, kb_revision=3, previous=changed, index_terms=False
    )
    assert embedder.passages == 3 * embedded and off.tokens[0] != changed.tokens[0]


def _search(api: Api, q: str) -> list[str]:
    response = api.get("/v1/search", params={"q": q, "locale": "en-GB", "limit": 3})
    assert response.status_code == 200, response.text
    return [hit["article_id"] for hit in response.json()["hits"]]


def test_a_question_in_a_tag_word_finds_the_tagged_article_over_http(
    make_api: Callable[..., Api], settings: Settings
) -> None:
    api = make_api(settings)
    publish(api, "esim", "en-GB", "Activating an eSIM", BODY)
    publish(api, "router", "en-GB", "Restarting the router", "Unplug it, wait, plug it in.")
    publish(api, "bills", "en-GB", "Paying your bill", "Pay by card or by bank transfer.")
    assert "esim" not in _search(api, "teleport")[:1]
    before = api.get("/v1/articles/esim").json()["kb_revision"]
    patched = api.client.patch(
        "/v1/articles/esim",
        headers=api.headers(Role.editor),
        json={"tags": ["sim"], "keywords": ["teleport"]},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["keywords"] == ["teleport"] and body["synonyms"] == []
    assert body["kb_revision"] == before + 1  # so every serving index rebuilds
    api.index.refresh()
    assert _search(api, "teleport")[0] == "esim"


def test_keywords_and_synonyms_round_trip_through_import_and_export(
    settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "esim.md").write_text(
        "---\nid: esim\ntitle: eSIM\nlocale: en-GB\ntags: [sim]\n"
        "keywords: [virtual SIM, QR code]\nsynonyms: [digital SIM]\nsource: crm\n---\n" + BODY,
        encoding="utf-8",
    )
    (source / "esim.pl-PL.md").write_text(
        "---\nid: esim.pl-PL\ntitle: eSIM\nlocale: pl-PL\ntranslation_of: esim\n---\n"
        "Zeskanuj kod aktywacyjny.\n",
        encoding="utf-8",
    )
    (source / "bad.md").write_text(
        "---\nid: bad\ntitle: Bad\nlocale: en-GB\nkeywords: not a list\n---\nText.\n",
        encoding="utf-8",
    )
    engine = make_engine(settings)
    with Session(engine) as session:
        report = import_folder(session, source, actor=OPERATOR)
        assert [(p.path.name, p.line) for p in report.problems] == [("bad.md", 5)]
        assert "'keywords' must be a list" in report.problems[0].reason
        article = session.get(Article, "esim")
        assert article is not None
        assert article.keywords == ["virtual SIM", "QR code"]
        assert article.synonyms == ["digital SIM"] and article.meta == {"source": "crm"}
        revision = kb_revision(session)
        export_folder(session, tmp_path / "out")
        assert import_folder(session, tmp_path / "out", actor=OPERATOR).problems == []
        assert kb_revision(session) == revision  # the export imports back as no change
    original = frontmatter.load(tmp_path / "out" / "esim.md")
    assert original["keywords"] == ["virtual SIM", "QR code"]
    assert original["synonyms"] == ["digital SIM"] and original["source"] == "crm"
    translation = frontmatter.load(tmp_path / "out" / "esim.pl-PL.md")
    assert translation["keywords"] == original["keywords"]  # the article's, shown on each file


def _two_locale_dataset(root: Path) -> Path:
    (root / "articles").mkdir(parents=True)
    files = {
        "esim.md": ("id: esim\ntitle: eSIM\nlocale: en-GB", "Scan the activation code."),
        "esim.pl-PL.md": (
            "id: esim.pl-PL\ntitle: eSIM\nlocale: pl-PL\ntranslation_of: esim",
            "Zeskanuj kod aktywacyjny.",
        ),
        "router.md": ("id: router\ntitle: Router\nlocale: en-GB", "Unplug the router."),
    }
    for name, (meta, body) in files.items():
        (root / "articles" / name).write_text(f"---\n{meta}\n---\n{body}\n", encoding="utf-8")
    queries = [("q1", "kod aktywacyjny", "pl-PL", "esim"), ("q2", "router", "en-GB", "router")]
    (root / "queries.jsonl").write_text(
        "".join(json.dumps({"id": q, "text": t, "locale": loc}) + "\n" for q, t, loc, _ in queries),
        encoding="utf-8",
    )
    (root / "qrels.tsv").write_text("".join(f"{q}\t{a}\t1\n" for q, _, _, a in queries))
    return root


def test_the_bench_keeps_only_one_locale_and_leaves_out_what_it_cannot_answer(
    tmp_path: Path,
) -> None:
    dataset = _two_locale_dataset(tmp_path / "set")
    base = Settings(data_dir=tmp_path / "unused", embedding_model="hashing")
    report = run_retrieval_bench(
        dataset, base=base, embedder=HashingEmbedder(), only_locale="pl-PL", index_tags=False
    )
    assert report.sections == 1 and report.queries == 1 and report.unanswerable == 1
    assert report.success_at_1 == 1.0  # the Polish translation, under the original's id
    text = report.as_text()
    assert "only the pl-PL articles; 1 questions whose article it lacks left out" in text
    assert "not indexed (--no-tags)" in text
    full = run_retrieval_bench(dataset, base=base, embedder=HashingEmbedder())
    assert full.sections == 3 and full.queries == 2 and full.unanswerable == 0


def test_switching_kb_index_tags_rebuilds_even_at_the_same_kb_revision(
    settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "esim.md").write_text(
        "---\nid: esim\ntitle: eSIM\nlocale: en-GB\ntags: [teleport]\n---\n" + BODY,
        encoding="utf-8",
    )
    engine = make_engine(settings)
    with Session(engine) as session:
        assert not import_folder(session, source, actor=OPERATOR).problems
    tagged = IndexService(settings, engine, HashingEmbedder())
    assert tagged.refresh() and tagged.current is not None and tagged.current.manifest.terms
    assert tagged.refresh() is False
    plain = IndexService(
        settings.model_copy(update={"index_tags": False}), engine, HashingEmbedder()
    )
    plain.current = tagged.current
    assert plain.refresh() is True  # same KB revision, but the terms must go
    assert plain.current is not None and not plain.current.manifest.terms
    assert "teleport" not in plain.current.tokens[0]


def test_a_term_on_many_of_a_languages_articles_is_left_out() -> None:
    docs = [
        SourceDocument(f"a{i}", f"K{i}", "en-GB", 1, f"Article {i}", BODY, "h", False, terms)
        for i, terms in enumerate([("billing", "direct debit"), ("billing",), ("billing",)])
    ]
    docs.append(SourceDocument("p", "K9", "pl-PL", 1, "Artykuł", BODY, "h", False, ("billing",)))
    index = build_index(docs, embedder=HashingEmbedder(), kb_revision=1)
    terms = {(s.article_id, s.locale): s.terms for s in index.sections}
    # three of three English articles: it tells none apart; the one Polish article keeps it
    assert terms[("a0", "en-GB")] == ("direct debit",) and terms[("a1", "en-GB")] == ()
    assert terms[("p", "pl-PL")] == ("billing",)
