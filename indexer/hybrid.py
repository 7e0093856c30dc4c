"""One complete, immutable index generation in memory, and hybrid search over it.

Searches hold a reference to one ``HybridIndex``; a rebuild makes a new one and the owner swaps
the reference, so a search never sees a half-built index.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from indexer import timing
from indexer.analysis import analyze, preload
from indexer.dense import (
    ANN_CANDIDATES,
    SPREAD_SAMPLE,
    inner_products,
    inner_products_at,
    kind_of,
    nearest,
)
from indexer.diacritics import DiacriticRestorer
from indexer.documents import IndexedSection
from indexer.embed import Embedded, Embedder
from indexer.fusion import (
    CONFIDENCE_MIDPOINT,
    CROSS_LANGUAGE_KEYWORD_FACTOR,
    KEYWORD_WEIGHT,
    SECOND_SECTION_WEIGHT,
    FloatVector,
    Spread,
    Spreads,
    confidence,
    fuse,
)
from indexer.keyword import KeywordIndex
from indexer.locales import detect_language, language_of
from indexer.phrasings import (
    PHRASING_CAP,
    PHRASING_MARGIN,
    PHRASING_WEIGHT,
    PhrasingIndex,
    PhrasingTarget,
    phrasing_bonus,
)

# How many top sections we look through to fill ``limit`` distinct articles.
_CANDIDATE_FACTOR = 30


@dataclass(frozen=True)
class Manifest:
    model: str
    dimension: int
    normalized: bool
    kb_revision: int
    built_at: str
    sections: int
    dense_index: str
    keyword_index: str = "bm25s"
    view: str = ""  # the second dense view's name ("" when none); it must match the embedder
    terms: bool = False  # articles' tags/keywords/synonyms indexed (older generations: no)
    format: int = 1

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Hit:
    section: IndexedSection
    score: float
    dense_score: float
    keyword_score: float
    confidence: float
    fallback_locale: bool


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    language: str | None  # the question's language (given or detected)
    kb_revision: int  # the KB revision of the index generation the hits came from
    query: str  # the question as searched (diacritics put back where they were missing)


@dataclass
class HybridIndex:
    manifest: Manifest
    sections: list[IndexedSection]
    tokens: list[list[str]]
    vectors: NDArray[np.float32]
    dense: faiss.Index
    keyword: KeywordIndex
    views: NDArray[np.float32] | None = None
    _by_article: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _by_section: dict[str, int] = field(default_factory=dict, repr=False)
    # each section's article as a number (``_article_ids[code]``): ranking articles by their
    # best sections is then array work, not a Python loop over hundreds of sections
    _article_codes: NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(0, np.int64), repr=False
    )
    _article_ids: list[str] = field(default_factory=list, repr=False)
    _languages: frozenset[str] = field(default_factory=frozenset, repr=False)
    _section_languages: NDArray[np.str_] = field(
        default_factory=lambda: np.zeros(0, str), repr=False
    )
    _internal: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool), repr=False)
    _restorer: DiacriticRestorer = field(default_factory=lambda: DiacriticRestorer(()), repr=False)
    # On an approximate index: the rows whose scores stand for the whole KB's spread, copied
    # once (gathering them per question cost more than the product)
    _sample: tuple[NDArray[np.float32], NDArray[np.float32] | None] | None = field(
        default=None, repr=False
    )

    def __post_init__(self) -> None:
        grouped: dict[str, list[int]] = defaultdict(list)
        for i, section in enumerate(self.sections):
            grouped[section.article_id].append(i)
        self._by_article = dict(grouped)
        self._article_ids = list(grouped)
        code_of = {article_id: code for code, article_id in enumerate(self._article_ids)}
        self._article_codes = np.fromiter(
            (code_of[s.article_id] for s in self.sections), dtype=np.int64, count=len(self.sections)
        )
        self._by_section = {s.section_id: i for i, s in enumerate(self.sections)}
        self._section_languages = np.array([language_of(s.locale) for s in self.sections])
        self._languages = frozenset(self._section_languages.tolist())
        self._internal = np.fromiter((s.internal for s in self.sections), dtype=bool)
        self._restorer = DiacriticRestorer(s.passage_text() for s in self.sections)
        if kind_of(self.dense) != "flat":
            sample = self._spread_sample()
            views = None if self.views is None else np.ascontiguousarray(self.views[sample])
            self._sample = (np.ascontiguousarray(self.vectors[sample]), views)
        preload(self._languages)  # before the first question, not by it

    def __len__(self) -> int:
        return len(self.sections)

    def search(
        self,
        query: str,
        embedder: Embedder,
        *,
        locale: str | None = None,
        limit: int = 10,
        include_internal: bool = True,
        keyword_weight: float = KEYWORD_WEIGHT,
        confidence_midpoint: float = CONFIDENCE_MIDPOINT,
        phrasings: PhrasingIndex | None = None,
        phrasing_weight: float = PHRASING_WEIGHT,
        phrasing_margin: float = PHRASING_MARGIN,
        phrasing_cap: float = PHRASING_CAP,
    ) -> SearchResult:
        """Best section of each of the ``limit`` best articles, in the question's language.

        A question typed without diacritics gets them back from the KB's own spelling first
        (:mod:`indexer.diacritics`); everything after that sees the restored question.
        """
        started = time.perf_counter()
        query = self._restorer.restore(query)
        language = language_of(locale) if locale else detect_language(query, self._languages)
        revision = self.manifest.kb_revision
        if not self.sections or not query.strip():
            return SearchResult([], language, revision, query)
        asked = time.perf_counter()
        encoded = embedder.embed([query], "query")
        encoded_at = time.perf_counter()
        scores = self._scores(
            encoded,
            analyze(query, language),
            _Weights(language, keyword_weight, include_internal),
            phrasings if phrasing_weight else None,
            phrasing_weight,
            (phrasing_margin, phrasing_cap),
        )
        chosen = self._collect(scores, locale, language, limit)
        fused, dense, keyword = scores.of(np.array([i for i, _ in chosen], dtype=np.int64))
        hits = [
            Hit(
                section=self.sections[i],
                score=float(fused[k]),
                dense_score=float(dense[k]),
                keyword_score=float(keyword[k]),
                confidence=confidence(float(dense[k]), midpoint=confidence_midpoint),
                fallback_locale=fallback,
            )
            for k, (i, fallback) in enumerate(chosen)
        ]
        # the search's own time: restoring, analysing, scoring (encoding is the embedder's)
        timing.add("search", (time.perf_counter() - encoded_at + asked - started) * 1000)
        return SearchResult(hits, language, revision, query)

    def _scores(
        self,
        encoded: Embedded,
        query_tokens: list[str],
        weights: _Weights,
        phrasings: PhrasingIndex | None,
        phrasing_weight: float,
        phrasing_bars: tuple[float, float],  # margin and cap (indexer.phrasings)
    ) -> _QueryScores:
        """The question's scores: every section on an exact index; on IVF the dense candidates
        and the keyword side's best, on the scale of the whole KB (``fusion.Spread``)."""
        vector = encoded.vectors[0]
        view = encoded.views[0] if self.views is not None and encoded.views is not None else None
        keyword = self.keyword.scores(query_tokens)  # every section, from postings: cheap
        if kind_of(self.dense) == "flat":
            # every section's cosine: one pass over the rows, no FAISS search (whose k = N
            # sort took 3 to 5 ms at 20,000 sections, and whose OpenMP threads then spin)
            dense_all = inner_products(self.vectors, vector)
            view_all = (
                None if view is None or self.views is None else inner_products(self.views, view)
            )
            spreads = Spreads(
                Spread.of(dense_all),
                Spread.of(keyword),
                None if view_all is None else Spread.of(view_all),
            )
            candidates = np.arange(len(self.sections))
            exact: tuple[FloatVector, FloatVector | None] | None = (dense_all, view_all)
            dense = (float(np.std(dense_all)), float(np.max(dense_all)), len(self.sections))
        else:
            exact = None
            assert self._sample is not None
            sample_vectors, sample_views = self._sample
            spreads = Spreads(
                Spread.of(inner_products(sample_vectors, vector)),
                Spread.of(keyword),
                None
                if view is None or sample_views is None
                else Spread.of(inner_products(sample_views, view)),
            )
            found = nearest(self.dense, self.vectors, vector, ANN_CANDIDATES)  # best first
            best = float(inner_products_at(self.vectors, found[:1], vector).max(initial=0.0))
            dense = (spreads.dense.std, best, len(self.sections))
            candidates = _union(len(self.sections), found, _top(keyword, ANN_CANDIDATES))
        bonus = None
        if phrasings is not None and len(phrasings):
            cosines = inner_products(phrasings.vectors, vector)
            rows = [self.rows_of(target) for target in phrasings.targets]
            margin, cap = phrasing_bars
            evidence = phrasing_bonus(
                cosines, phrasings.targets, rows, dense, margin=margin, cap=cap
            )
            if evidence is not None:
                bonus = np.float32(phrasing_weight) * evidence
                candidates = _union(len(self.sections), candidates, np.flatnonzero(bonus))
        return _QueryScores(self, vector, view, keyword, spreads, weights, bonus, candidates, exact)

    def _spread_sample(self) -> NDArray[np.int64]:
        count = min(SPREAD_SAMPLE, len(self.sections))
        return np.linspace(0, len(self.sections) - 1, count).astype(np.int64)

    def keyword_weights(
        self, rows: NDArray[np.int64], weights: _Weights
    ) -> float | NDArray[np.float32]:
        """The keyword weight per section: lowered where the section's language is not the
        question's (lemmas of two languages rarely meet; names, numbers and tags still may).
        An unknown question language keeps the one weight."""
        if weights.language is None or CROSS_LANGUAGE_KEYWORD_FACTOR == 1.0:
            return weights.keyword
        cross = weights.keyword * CROSS_LANGUAGE_KEYWORD_FACTOR
        same = self._section_languages[rows] == weights.language
        return np.where(same, weights.keyword, cross).astype(np.float32)

    def internal(self, rows: NDArray[np.int64]) -> NDArray[np.bool_]:
        return self._internal[rows]

    def rows_of(self, target: PhrasingTarget) -> list[int]:
        """The sections a phrasing stands for: its section; after a republish changed the
        section's id, the section with the same anchor in the same locale; for an article-wide
        phrasing (or a section no longer found), every section of the article (the article is
        then ranked by its best section, as always). Empty if the article is not indexed."""
        if target.section_id is not None:
            row = self._by_section.get(target.section_id)
            if row is not None:
                return [row]
        rows = self._by_article.get(target.article_id, [])
        if target.anchor:
            same = [
                i
                for i in rows
                if self.sections[i].anchor == target.anchor
                and self.sections[i].locale == target.locale
            ]
            if same:
                return same[:1]
        return list(rows)

    def _collect(
        self, scores: _QueryScores, locale: str | None, language: str | None, limit: int
    ) -> list[tuple[int, bool]]:
        """(section, is fallback locale) for the best section of each of the best articles."""
        fused, _, _ = scores.of(scores.candidates)
        order = np.argsort(-fused, kind="stable")[: max(limit, 1) * _CANDIDATE_FACTOR]
        order = order[np.isfinite(fused[order])]  # hidden (-inf) sort last: a tail, cut off
        # the articles of those sections by their best section, best first
        codes = self._article_codes[scores.candidates[order]]
        _, first = np.unique(codes, return_index=True)
        articles = [self._article_ids[c] for c in codes[np.sort(first)].tolist()]
        if language is not None and language not in self._languages and SECOND_SECTION_WEIGHT:
            articles = self._by_two_sections(articles, scores)
        return self._best_sections(articles[:limit], scores, locale, language)

    def _by_two_sections(self, articles: list[str], scores: _QueryScores) -> list[str]:
        """``articles`` ordered by best + SECOND_SECTION_WEIGHT x second-best section (the best
        again for an article of one section), for a question in a language the knowledge base
        lacks (``fusion.SECOND_SECTION_WEIGHT`` says why)."""
        rows = [self._by_article[a] for a in articles]
        fused, _, _ = scores.of(np.fromiter(chain.from_iterable(rows), dtype=np.int64))
        ranked: list[tuple[float, int, str]] = []
        start = 0
        for n, (article_id, some) in enumerate(zip(articles, rows, strict=True)):
            mine = np.sort(fused[start : start + len(some)])[::-1]
            start += len(some)
            if not np.isfinite(mine[0]):
                continue
            second = mine[1] if len(mine) > 1 and np.isfinite(mine[1]) else mine[0]
            ranked.append(
                (-(float(mine[0]) + SECOND_SECTION_WEIGHT * float(second)), n, article_id)
            )
        return [article_id for *_, article_id in sorted(ranked)]

    def _best_sections(
        self, articles: list[str], scores: _QueryScores, locale: str | None, language: str | None
    ) -> list[tuple[int, bool]]:
        """Each article's best section in the exact locale, else the language, else any (the
        sections of all of them scored in one call: per article it cost ~0.1 ms each)."""
        rows = [self._by_article[a] for a in articles]
        fused, _, _ = scores.of(np.fromiter(chain.from_iterable(rows), dtype=np.int64))
        chosen: list[tuple[int, bool]] = []
        start = 0
        for some in rows:
            mine = fused[start : start + len(some)].tolist()
            start += len(some)
            score = {i: f for i, f in zip(some, mine, strict=True) if math.isfinite(f)}
            indices = list(score)
            for wanted in (
                [i for i in indices if locale and self.sections[i].locale == locale],
                [
                    i
                    for i in indices
                    if language and language_of(self.sections[i].locale) == language
                ],
            ):
                if wanted:
                    chosen.append((max(wanted, key=score.__getitem__), False))
                    break
            else:
                chosen.append((max(indices, key=score.__getitem__), language is not None))
        return chosen


@dataclass(frozen=True)
class _Weights:
    language: str | None  # the question's
    keyword: float
    include_internal: bool


@dataclass(frozen=True)
class _QueryScores:
    """One question's fused, dense and keyword scores, for whichever sections are asked: the
    candidates, then the other sections of the articles they belong to."""

    index: HybridIndex
    vector: NDArray[np.float32]
    view: NDArray[np.float32] | None
    keyword: NDArray[np.float32]  # every section's
    spreads: Spreads
    weights: _Weights
    bonus: NDArray[np.float32] | None  # learned phrasings, every section's (or none)
    candidates: NDArray[np.int64]
    # On an exact index, every section's dense and view scores, computed once
    exact: tuple[FloatVector, FloatVector | None] | None = None

    def of(self, rows: NDArray[np.int64]) -> tuple[FloatVector, FloatVector, FloatVector]:
        index = self.index
        keyword = self.keyword[rows]
        if self.exact is not None:
            dense_all, view_all = self.exact
            dense, view = dense_all[rows], None if view_all is None else view_all[rows]
        else:
            dense = inner_products_at(index.vectors, rows, self.vector)
            views = index.views
            view = (
                None
                if self.view is None or views is None
                else inner_products_at(views, rows, self.view)
            )
        fused = fuse(
            dense,
            keyword,
            keyword_weight=index.keyword_weights(rows, self.weights),
            view=view,
            spreads=self.spreads,
        )
        if self.bonus is not None:
            fused = (fused + self.bonus[rows]).astype(np.float32)
        if not self.weights.include_internal:
            fused = np.where(index.internal(rows), -np.inf, fused).astype(np.float32)
        return fused, dense.astype(np.float32), keyword


def _union(size: int, *rows: NDArray[np.int64]) -> NDArray[np.int64]:
    """The rows in any of ``rows``, sorted (``np.union1d``, which sorts: 1 ms at 100,000
    sections against 0.1 for a mask)."""
    mask = np.zeros(size, dtype=bool)
    for some in rows:
        mask[some] = True
    return np.flatnonzero(mask).astype(np.int64)


def _top(scores: NDArray[np.float32], k: int) -> NDArray[np.int64]:
    """The rows of the ``k`` highest positive scores (in no particular order)."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) <= k:
        return positive.astype(np.int64)
    best = np.argpartition(-scores[positive], k - 1)[:k]
    return positive[best].astype(np.int64)
