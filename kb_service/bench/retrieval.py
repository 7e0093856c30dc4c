"""``kb bench retrieval``: the same import, indexing and search code as the service."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from indexer.embed import Embedder, load_embedder
from kb_service.bench.dataset import load_dataset
from kb_service.bench.metrics import mrr_at, ndcg_at, percentile, recall_at, success_at_1
from kb_service.bench.noise import add_noise
from kb_service.config import Settings, get_settings
from kb_service.db import make_engine, session_scope
from kb_service.errors import ValidationFailed
from kb_service.services.content_io import (
    FileProblemError,
    article_folder,
    import_folder,
    read_article_file,
)
from kb_service.services.indexing import IndexService
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

    def as_json(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}

    def as_text(self) -> str:
        lines = [
            f"dataset {self.dataset} split {self.split or 'all'}: {self.queries} queries, "
            f"model {self.model}, {self.sections} sections",
            f"nDCG@10 {self.ndcg_at_10:.4f}  MRR@10 {self.mrr_at_10:.4f}  "
            f"Recall@10 {self.recall_at_10:.4f}  Success@1 {self.success_at_1:.4f}",
            f"model load {self.model_load_seconds:.1f} s, index build {self.index_seconds:.1f} s, "
            f"query latency p50 {self.latency_ms_p50:.1f} ms, p95 {self.latency_ms_p95:.1f} ms",
        ]
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

    ``embedder`` is for tests that already hold the model; the command loads it, and times
    the load, like the service does at start-up.
    """
    dataset = load_dataset(root, split)
    base = base or get_settings()
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        settings = base.model_copy(
            update={
                "data_dir": Path(tmp),
                "database_url": None,
                "embedding_model": model or base.embedding_model,
                "keyword_weight": keyword_weight
                if keyword_weight is not None
                else base.keyword_weight,
                "index_tags": base.index_tags if index_tags is None else index_tags,
            }
        )
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
            embedder = load_embedder(settings.embedding_model, model_cache=settings.model_cache)
        loaded = time.perf_counter()
        service = IndexService(settings, engine, embedder)
        service.refresh(progress=False)
        indexed = time.perf_counter()
        rankings, latencies = [], []
        changed = 0
        for query in dataset.queries:
            text = add_noise(
                query.text, key=query.id, typo_rate=typo_rate, strip_diacritics=strip_diacritics
            )
            changed += text != query.text
            t0 = time.perf_counter()
            response = search_sections(
                service,
                settings,
                text,
                locale=query.locale,
                limit=10,
                include_internal=True,
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            rankings.append([hit.article_id for hit in response.hits])
        sections = len(service.current) if service.current else 0
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
    return report


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
    dataset: Any,
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
