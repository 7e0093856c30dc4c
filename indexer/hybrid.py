"""One complete, immutable index generation in memory, and hybrid search over it.

Searches hold a reference to one ``HybridIndex``; a rebuild makes a new one and the owner swaps
the reference, so a search never sees a half-built index.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from indexer.analysis import analyze, preload
from indexer.dense import dense_scores
from indexer.diacritics import DiacriticRestorer
from indexer.documents import IndexedSection
from indexer.embed import Embedder
from indexer.fusion import (
    CONFIDENCE_MIDPOINT,
    CROSS_LANGUAGE_KEYWORD_FACTOR,
    KEYWORD_WEIGHT,
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
    _languages: frozenset[str] = field(default_factory=frozenset, repr=False)
    _section_languages: NDArray[np.str_] = field(
        default_factory=lambda: np.zeros(0, str), repr=False
    )
    _internal: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool), repr=False)
    _restorer: DiacriticRestorer = field(default_factory=lambda: DiacriticRestorer(()), repr=False)

    def __post_init__(self) -> None:
        grouped: dict[str, list[int]] = defaultdict(list)
        for i, section in enumerate(self.sections):
            grouped[section.article_id].append(i)
        self._by_article = dict(grouped)
        self._by_section = {s.section_id: i for i, s in enumerate(self.sections)}
        self._section_languages = np.array([language_of(s.locale) for s in self.sections])
        self._languages = frozenset(self._section_languages.tolist())
        self._internal = np.fromiter((s.internal for s in self.sections), dtype=bool)
        self._restorer = DiacriticRestorer(s.passage_text() for s in self.sections)
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
        query = self._restorer.restore(query)
        language = language_of(locale) if locale else detect_language(query, self._languages)
        revision = self.manifest.kb_revision
        if not self.sections or not query.strip():
            return SearchResult([], language, revision, query)
        encoded = embedder.embed([query], "query")
        dense = dense_scores(self.dense, encoded.vectors[0])
        keyword = self.keyword.scores(analyze(query, language))
        view = None
        if self.views is not None and encoded.views is not None:
            view = self.views @ encoded.views[0]
        weights = self._keyword_weights(language, keyword_weight)
        fused = fuse(dense, keyword, view=view, keyword_weight=weights)
        if phrasings is not None and len(phrasings) and phrasing_weight:
            cosines = phrasings.vectors @ encoded.vectors[0]
            rows = [self.rows_of(target) for target in phrasings.targets]
            bonus = phrasing_bonus(
                cosines,
                phrasings.targets,
                rows,
                dense,
                margin=phrasing_margin,
                cap=phrasing_cap,
            )
            if bonus is not None:
                fused = (fused + np.float32(phrasing_weight) * bonus).astype(np.float32)
        if not include_internal:
            fused = np.where(self._internal, -np.inf, fused).astype(np.float32)
        hits = [
            Hit(
                section=self.sections[i],
                score=float(fused[i]),
                dense_score=float(dense[i]),
                keyword_score=float(keyword[i]),
                confidence=confidence(float(dense[i]), midpoint=confidence_midpoint),
                fallback_locale=fallback,
            )
            for i, fallback in self._collect(fused, locale, language, limit)
        ]
        return SearchResult(hits, language, revision, query)

    def _keyword_weights(
        self, language: str | None, keyword_weight: float
    ) -> float | NDArray[np.float32]:
        """The keyword weight per section: lowered where the section's language is not the
        question's (lemmas of two languages rarely meet; names, numbers and tags still may).
        An unknown question language keeps the one weight."""
        if language is None or CROSS_LANGUAGE_KEYWORD_FACTOR == 1.0:
            return keyword_weight
        cross = keyword_weight * CROSS_LANGUAGE_KEYWORD_FACTOR
        return np.where(self._section_languages == language, keyword_weight, cross).astype(
            np.float32
        )

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
        self, fused: NDArray[np.float32], locale: str | None, language: str | None, limit: int
    ) -> list[tuple[int, bool]]:
        """(section, is fallback locale) for the best section of each of the best articles."""
        order = np.argsort(-fused, kind="stable")[: max(limit, 1) * _CANDIDATE_FACTOR]
        chosen: list[tuple[int, bool]] = []
        seen: set[str] = set()
        for i in order:
            if not np.isfinite(fused[i]) or len(chosen) >= limit:
                break
            article_id = self.sections[i].article_id
            if article_id not in seen:
                seen.add(article_id)
                chosen.append(self._best_in_language(article_id, fused, locale, language))
        return chosen

    def _best_in_language(
        self, article_id: str, fused: NDArray[np.float32], locale: str | None, language: str | None
    ) -> tuple[int, bool]:
        """The article's best section in the exact locale, else the language, else any."""
        indices = [i for i in self._by_article[article_id] if np.isfinite(fused[i])]
        for wanted in (
            [i for i in indices if locale and self.sections[i].locale == locale],
            [i for i in indices if language and language_of(self.sections[i].locale) == language],
        ):
            if wanted:
                return max(wanted, key=lambda i: float(fused[i])), False
        best = max(indices, key=lambda i: float(fused[i]))
        return best, language is not None
