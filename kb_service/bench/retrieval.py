"""``kb bench retrieval``: the same import, indexing and search code as the service."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from indexer.embed import Embedder
from indexer.locales import language_of
from kb_service.bench.dataset import Dataset, Query, load_dataset
from kb_service.bench.metrics import mrr_at, ndcg_at, percentile, recall_at, success_at_1
from kb_service.bench.noise import add_noise
from kb_service.config import Settings, get_settings
from kb_service.db import make_engine, session_scope
from kb_service.errors import ValidationFailed
from kb_service.models import Role
from kb_service.schemas.answers import AnswerRequest
from kb_service.services import answering, ledger, phrasings
from kb_service.services.access import viewer_of
from kb_service.services.content_io import (
    ArticleFile,
    FileProblemError,
    article_folder,
    import_folder,
    read_article_file,
)
from kb_service.services.indexing import IndexService
from kb_service.services.phrasings import Correction
from kb_service.services.publishing import Actor
from kb_service.services.searching import search_sections


@dataclass
class RetrievalReport:
    dataset: str
    split: str | None
    model: str
    queries: int
    ndcg_at_10: float
    mrr_at_10: float
    recall_at_10: float
    success_at_1: float
    index_seconds: float
    model_load_seconds: float
    sections: int
    latency_ms_p50: float
    latency_ms_p95: float
    typo_rate: float = 0.0
    strip_diacritics: bool = False
    questions_changed: int = 0
    only_locale: str | None = None
    unanswerable: int = 0
    index_tags: bool = True
    per_language: dict[str, dict[str, float]] = field(default_factory=dict)
    learn_split: str | None = None
    learn_mode: str = "phrasings"  # or "append": the naive method, questions added to articles
    taught: int = 0  # queries taught before scoring
    confirmed: int = 0  # of which the top answer was already relevant
    before: dict[str, Any] = field(default_factory=dict)  # the same queries, before learning

    def as_json(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}

    def _learning_lines(self) -> list[str]:
        if not self.learn_split:
            return []
        b = self.before
        lines = [
            f"learned from split {self.learn_split} ({self.learn_mode}): {self.taught} queries "
            f"taught, {self.confirmed} confirmed, {self.taught - self.confirmed} corrected",
            f"before learning: nDCG@10 {b['ndcg_at_10']:.4f}  MRR@10 {b['mrr_at_10']:.4f}  "
            f"Recall@10 {b['recall_at_10']:.4f}  Success@1 {b['success_at_1']:.4f}",
        ]
        for language, scores in sorted(b["per_language"].items()):
            lines.append(
                f"  before {language}: nDCG@10 {scores['ndcg_at_10']:.4f}, Success@1 "
                f"{scores['success_at_1']:.4f}"
            )
        lines.append("after learning:")
        return lines

    def as_text(self) -> str:
        lines = [
            f"dataset {self.dataset} split {self.split or 'all'}: {self.queries} queries, "
            f"model {self.model}, {self.sections} sections",
            f"nDCG@10 {self.ndcg_at_10:.4f}  MRR@10 {self.mrr_at_10:.4f}  "
            f"Recall@10 {self.recall_at_10:.4f}  Success@1 {self.success_at_1:.4f}",
            f"model load {self.model_load_seconds:.1f} s, index build {self.index_seconds:.1f} s, "
            f"query latency p50 {self.latency_ms_p50:.1f} ms, p95 {self.latency_ms_p95:.1f} ms",
        ]
        learning = self._learning_lines()
        if learning:
            lines[1:1] = learning
        if self.only_locale:
            lines.insert(
                1,
                f"knowledge base: only the {self.only_locale} articles; {self.unanswerable} "
                "questions whose article it lacks left out",
            )
        if not self.index_tags:
            lines.insert(1, "tags, keywords and synonyms not indexed (--no-tags)")
        if self.typo_rate or self.strip_diacritics:
            lines.insert(
                1,
                f"questions typed with noise: typo rate {self.typo_rate:g}, "
                f"diacritics {'stripped' if self.strip_diacritics else 'kept'}; "
                f"{self.questions_changed} of {self.queries} questions changed",
            )
        for language, scores in sorted(self.per_language.items()):
            lines.append(
                f"  {language}: {int(scores['queries'])} queries, "
                f"nDCG@10 {scores['ndcg_at_10']:.4f}, Success@1 "
                f"{scores['success_at_1']:.4f}"
            )
        return "\n".join(lines)


def run_retrieval_bench(
    root: Path,
    *,
    split: str | None = None,
    model: str | None = None,
    keyword_weight: float | None = None,
    typo_rate: float = 0.0,
    strip_diacritics: bool = False,
    learn_split: str | None = None,
    learn_mode: str = "phrasings",
    phrasing_weight: float | None = None,
    phrasing_margin: float | None = None,
    phrasing_cap: float | None = None,
    only_locale: str | None = None,
    index_tags: bool | None = None,
    base: Settings | None = None,
    embedder: Embedder | None = None,
) -> RetrievalReport:
    """Score ``root``'s queries (optionally one split, optionally typed with noise).

    ``only_locale`` keeps only that locale's articles (translations stand in for their
    original, under the original's id) while every question is still asked: questions in the
    other languages must cross languages. Questions whose relevant articles are all missing
    from that locale are left out (no ranking could find them). ``index_tags`` overrides
    ``KB_INDEX_TAGS``.

    With ``learn_split`` the queries of that split are taught first, through the same code
    path as an agent's feedback (``learn_mode`` "phrasings": confirmed when the top answer is
    relevant, corrected to the first relevant article otherwise), and the other queries are
    scored before and after. ``learn_mode`` "append" is the naive method to beat: the taught
    questions are appended to their articles' Markdown, and the knowledge base re-indexed.

    ``embedder`` is for tests that already hold the model; the command loads it, and times
    the load, like the service does at start-up.
    """
    if learn_mode not in ("phrasings", "append"):
        raise ValidationFailed(f"Unknown learn mode {learn_mode!r} (phrasings or append).")
    dataset = load_dataset(root, split)
    teach: list[Query] = []
    if learn_split is not None:
        teach = load_dataset(root, learn_split).queries
        taught_ids = {q.id for q in teach}
        dataset = replace(dataset, queries=[q for q in dataset.queries if q.id not in taught_ids])
    base = base or get_settings()
    overrides = _overrides(
        base,
        model=model,
        keyword_weight=keyword_weight,
        index_tags=index_tags,
        phrasing_weight=phrasing_weight,
        phrasing_margin=phrasing_margin,
        phrasing_cap=phrasing_cap,
    )
    noise: dict[str, Any] = {"typo_rate": typo_rate, "strip_diacritics": strip_diacritics}
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        settings = base.model_copy(update={**overrides, "data_dir": Path(tmp) / "kb"})
        engine = make_engine(settings)
        articles = root
        unanswerable = 0
        if only_locale:
            articles, kept = _one_locale_copy(root, only_locale, Path(tmp) / "articles")
            answerable = [q for q in dataset.queries if kept & set(dataset.qrels[q.id])]
            unanswerable = len(dataset.queries) - len(answerable)
            dataset = replace(dataset, queries=answerable)
        with session_scope(engine) as session:
            import_folder(session, articles, actor=Actor("bench"), max_chars=10**9)
        started = time.perf_counter()
        if embedder is None:
            embedder = settings.load_embedder()
        loaded = time.perf_counter()
        service = IndexService(settings, engine, embedder)
        service.refresh(progress=False)
        service.refresh_phrasings()
        indexed = time.perf_counter()
        rankings, latencies, changed = _score(service, settings, dataset, **noise)
        sections = len(service.current) if service.current else 0
        before: dict[str, Any] = {}
        confirmed = 0
        if teach:
            before = _report(dataset, rankings, latencies, split, "", 0, 0, 0).as_json()
            if learn_mode == "phrasings":
                confirmed = _teach(service, settings, engine, dataset, teach)
                service.refresh_phrasings()
                rankings, latencies, changed = _score(service, settings, dataset, **noise)
            else:
                confirmed, rankings, latencies = _append_and_score(
                    Path(tmp), root, settings, embedder, service, dataset, teach, noise
                )
        engine.dispose()
    report = _report(
        dataset,
        rankings,
        latencies,
        split,
        embedder.name,
        loaded - started,
        indexed - loaded,
        sections,
    )
    report.typo_rate, report.strip_diacritics = typo_rate, strip_diacritics
    report.questions_changed = changed
    report.only_locale, report.unanswerable = only_locale, unanswerable
    report.index_tags = settings.index_tags
    if teach:
        report.learn_split, report.learn_mode = learn_split, learn_mode
        report.taught, report.confirmed, report.before = len(teach), confirmed, before
    return report


def _overrides(
    base: Settings,
    *,
    model: str | None,
    keyword_weight: float | None,
    index_tags: bool | None,
    phrasing_weight: float | None,
    phrasing_margin: float | None,
    phrasing_cap: float | None,
) -> dict[str, Any]:
    """The settings the command line overrides for this run (None: keep the base's)."""
    chosen = {
        "keyword_weight": keyword_weight,
        "index_tags": index_tags,
        "phrasing_weight": phrasing_weight,
        "phrasing_margin": phrasing_margin,
        "phrasing_cap": phrasing_cap,
    }
    overrides: dict[str, Any] = {k: v for k, v in chosen.items() if v is not None}
    return {"database_url": None, "embedding_model": model or base.embedding_model, **overrides}


def _score(
    service: IndexService,
    settings: Settings,
    dataset: Dataset,
    *,
    typo_rate: float,
    strip_diacritics: bool,
) -> tuple[list[list[str]], list[float], int]:
    rankings, latencies = [], []
    changed = 0
    for query in dataset.queries:
        text = add_noise(
            query.text, key=query.id, typo_rate=typo_rate, strip_diacritics=strip_diacritics
        )
        changed += text != query.text
        t0 = time.perf_counter()
        response = search_sections(
            service, settings, text, locale=query.locale, limit=10, include_internal=True
        )
        latencies.append((time.perf_counter() - t0) * 1000)
        rankings.append([hit.article_id for hit in response.hits])
    return rankings, latencies, changed


def _first_relevant(dataset: Dataset, query: Query) -> str:
    grades = dataset.qrels[query.id]
    return max(grades, key=lambda article: grades[article])


def _teach(
    service: IndexService, settings: Settings, engine: Engine, dataset: Dataset, teach: list[Query]
) -> int:
    """An agent rates the answer to each teaching query, as through ``POST /v1/answers/{id}/
    feedback``: helpful when its article is relevant, else corrected to the most relevant
    article. Returns how many were confirmed."""
    agent = viewer_of(Role.agent)
    confirmed = 0
    with Session(engine, expire_on_commit=False) as session:
        for query in teach:
            request = AnswerRequest(question=query.text, channel="chat", locale=query.locale)
            response, _ = answering.answer(session, service, settings, request, agent)
            record = ledger.get_record(session, response.answer_id, include_internal=True)
            relevant = dataset.qrels[query.id]
            helpful = response.answer is not None and response.answer.article_id in relevant
            confirmed += helpful
            correction = None if helpful else Correction(_first_relevant(dataset, query))
            phrasings.learn(
                session,
                service.embedder,
                service.current,
                record,
                role=Role.agent,
                helpful=helpful,
                correction=correction,
            )
    return confirmed


def _append_and_score(
    tmp: Path,
    root: Path,
    settings: Settings,
    embedder: Embedder,
    service: IndexService,
    dataset: Dataset,
    teach: list[Query],
    noise: dict[str, Any],
) -> tuple[int, list[list[str]], list[float]]:
    """The naive method: each taught question appended to the article it was confirmed or
    corrected to (the translation in its locale, else its language, else the original), and
    the knowledge base re-indexed."""
    files = [
        read_article_file(p)
        for p in sorted(article_folder(root).rglob("*.md"))
        if p.name.lower() != "readme.md"
    ]
    additions: dict[Path, list[str]] = {}
    confirmed = 0
    for query in teach:
        result = service.search(query.text, locale=query.locale, limit=1, include_internal=True)
        top = result.hits[0].section.article_id if result.hits else None
        relevant = dataset.qrels[query.id]
        confirmed += top in relevant
        article_id = top if top in relevant else _first_relevant(dataset, query)
        assert article_id is not None
        target = _translation_file(files, article_id, query.locale)
        if target is not None:
            additions.setdefault(target.path, []).append(query.text)
    copy = tmp / "appended"
    shutil.copytree(article_folder(root), copy / "articles")
    for path, questions in additions.items():
        moved = copy / "articles" / path.relative_to(article_folder(root))
        with open(moved, "a", encoding="utf-8") as handle:
            handle.write("\n\n" + "\n\n".join(questions) + "\n")
    appended = settings.model_copy(update={"data_dir": tmp / "kb-appended"})
    engine = make_engine(appended)
    with session_scope(engine) as session:
        import_folder(session, copy, actor=Actor("bench"), max_chars=10**9)
    naive = IndexService(appended, engine, embedder)
    naive.refresh(progress=False)
    rankings, latencies, _ = _score(naive, appended, dataset, **noise)
    engine.dispose()
    return confirmed, rankings, latencies


def _translation_file(
    files: list[ArticleFile], article_id: str, locale: str | None
) -> ArticleFile | None:
    own = [f for f in files if f.article_id == article_id]
    language = language_of(locale) if locale else None
    for wanted in (
        [f for f in own if f.locale == locale],
        [f for f in own if language and language_of(f.locale) == language],
        [f for f in own if f.translation_of is None],
        own,
    ):
        if wanted:
            return wanted[0]
    return None


def _one_locale_copy(root: Path, locale: str, target: Path) -> tuple[Path, set[str]]:
    """Copy ``root``'s articles in ``locale`` to ``target``; a translation becomes a stand-alone
    article under its original's id, so the qrels (which name originals) still apply."""
    target.mkdir(parents=True)
    kept: set[str] = set()
    for path in sorted(article_folder(root).rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        try:
            item = read_article_file(path)
        except (FileProblemError, UnicodeDecodeError):
            continue  # the import of the full dataset reports these
        if item.locale != locale:
            continue
        kept.add(item.article_id)
        if item.translation_of is None:
            shutil.copyfile(path, target / path.name)
            continue
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"(?m)^translation_of:.*\n", "", text, count=1)
        text = re.sub(r"(?m)^id:.*$", f"id: {item.article_id}", text, count=1)
        (target / path.name).write_text(text, encoding="utf-8")
    if not kept:
        raise ValidationFailed(f"{root} has no articles in locale {locale!r}.")
    return target, kept


def _report(
    dataset: Dataset,
    rankings: list[list[str]],
    latencies: list[float],
    split: str | None,
    model: str,
    load_s: float,
    index_s: float,
    sections: int,
) -> RetrievalReport:
    per_query = []
    for query, ranked in zip(dataset.queries, rankings, strict=True):
        relevant = dataset.qrels[query.id]
        per_query.append(
            (
                query.locale or "unknown",
                ndcg_at(ranked, relevant),
                mrr_at(ranked, relevant),
                recall_at(ranked, relevant),
                success_at_1(ranked, relevant),
            )
        )

    def mean(column: int, rows: list[tuple[str, float, float, float, float]]) -> float:
        return sum(float(r[column]) for r in rows) / len(rows) if rows else 0.0

    per_language = {}
    for language in sorted({r[0] for r in per_query}):
        rows = [r for r in per_query if r[0] == language]
        per_language[language] = {
            "queries": float(len(rows)),
            "ndcg_at_10": mean(1, rows),
            "success_at_1": mean(4, rows),
        }
    return RetrievalReport(
        dataset=str(dataset.root),
        split=split,
        model=model,
        queries=len(per_query),
        ndcg_at_10=mean(1, per_query),
        mrr_at_10=mean(2, per_query),
        recall_at_10=mean(3, per_query),
        success_at_1=mean(4, per_query),
        index_seconds=index_s,
        model_load_seconds=load_s,
        sections=sections,
        latency_ms_p50=percentile(latencies, 0.5),
        latency_ms_p95=percentile(latencies, 0.95),
        per_language=per_language,
    )
