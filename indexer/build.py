"""Build a new index generation from the live documents.

Sections whose reuse key (section id, plus the article's terms) is already in the previous
generation reuse its vector and keyword tokens, so publishing one article embeds only that
article's changed sections, and a tag change re-embeds that article's sections. A
``VectorStore`` (given by the caller, e.g. the service's database) is asked for the vectors of the
other sections before any is embedded, and is given the vectors embedded here: replicas that
share one store embed each passage once between them. The indexer knows only the protocol.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from indexer.analysis import analyze
from indexer.dense import ANN_THRESHOLD, build_dense, held_vectors, kind_of
from indexer.documents import IndexedSection, SourceDocument
from indexer.embed import Embedder
from indexer.hybrid import HybridIndex, Manifest
from indexer.keyword import KeywordIndex
from indexer.locales import language_of
from indexer.split import MarkdownSplitter

log = logging.getLogger(__name__)
EMBED_BATCH = 64

INDEX_TERMS = True
"""Index each article's tags, keywords and synonyms with its sections (``KB_INDEX_TAGS``)."""

TERM_MAX_SHARE = 0.1
"""A term carried by more than this share of a language's articles (and by more than
``TERM_MIN_SPREAD`` of them) is left out of that language's sections: a category tag
("billing" on a quarter of the articles) tells no article apart, and in every passage it pulls
their vectors together."""
TERM_MIN_SPREAD = 2


def split_documents(
    documents: Sequence[SourceDocument], splitter: MarkdownSplitter, *, index_terms: bool = True
) -> list[IndexedSection]:
    sections: list[IndexedSection] = []
    common = _common_terms(documents) if index_terms else {}
    for doc in documents:
        language = language_of(doc.locale)
        terms = _clean_terms(doc.terms, common.get(language, frozenset())) if index_terms else ()
        namespace = f"{doc.article_id}\x1f{doc.locale}\x1f{doc.title}"
        for part in splitter.split(doc.markdown, namespace=namespace):
            sections.append(
                IndexedSection(
                    section_id=part.section_id,
                    article_id=doc.article_id,
                    key=doc.key,
                    locale=doc.locale,
                    version=doc.version,
                    title=doc.title,
                    heading_path=part.heading_path,
                    anchor=part.anchor,
                    text=part.text,
                    content_hash=doc.content_hash,
                    internal=doc.internal,
                    position=part.position,
                    terms=terms,
                )
            )
    return sections


Row = NDArray[np.float32]
Reusable = dict[str, tuple[Row, Row | None, list[str]]]
StoredVectors = tuple[Row, Row | None]  # the sentence vector and the second view (or None)


class VectorStore(Protocol):
    """Vectors kept outside the index, keyed by model and ``passage_hash`` of the passage."""

    def load(self, model: str, hashes: Sequence[str]) -> Mapping[str, StoredVectors]: ...
    def save(self, model: str, vectors: Mapping[str, StoredVectors]) -> None: ...


def passage_hash(section: IndexedSection) -> str:
    """sha256 of exactly what the embedder sees for a section."""
    return hashlib.sha256(section.passage_text().encode()).hexdigest()


def store_model_key(embedder: Embedder) -> str:
    """Vectors are interchangeable only between the same model, dimension and view."""
    return f"{embedder.name}|{embedder.dimension}|{embedder.view_name}"


def _clean_terms(terms: Sequence[str], common: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Terms once each (case-insensitively), in the editor's order, without blanks and
    without the ``common`` ones (casefolded)."""
    seen: set[str] = set(common)
    kept: list[str] = []
    for term in terms:
        text = " ".join(term.split())
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            kept.append(text)
    return tuple(kept)


def _common_terms(documents: Sequence[SourceDocument]) -> dict[str, frozenset[str]]:
    """Per language, the casefolded terms on too many of its articles to tell them apart
    (see ``TERM_MAX_SHARE``)."""
    by_language: dict[str, dict[str, set[str]]] = {}
    for doc in documents:
        articles = by_language.setdefault(language_of(doc.locale), {})
        articles.setdefault(doc.article_id, set()).update(
            " ".join(t.split()).casefold() for t in doc.terms
        )
    common = {}
    for language, articles in by_language.items():
        counts = Counter(term for terms in articles.values() for term in terms)
        limit = max(TERM_MIN_SPREAD, TERM_MAX_SHARE * len(articles))
        common[language] = frozenset(term for term, count in counts.items() if count > limit)
    return common


def splitter_for(embedder: Embedder) -> MarkdownSplitter:
    """How articles are cut into sections for this model (also what a draft preview shows)."""
    return MarkdownSplitter(
        max_tokens=max(64, embedder.max_tokens - 40), count_tokens=embedder.count_tokens
    )


def build_index(
    documents: Sequence[SourceDocument],
    *,
    embedder: Embedder,
    kb_revision: int,
    previous: HybridIndex | None = None,
    ann_threshold: int = ANN_THRESHOLD,
    progress: bool | None = None,
    store: VectorStore | None = None,
    index_terms: bool = INDEX_TERMS,
) -> HybridIndex:
    """A complete new generation; ``previous`` is only read, never changed.

    ``index_terms``: add each article's terms (tags, keywords, synonyms) to its sections."""
    sections = split_documents(documents, splitter_for(embedder), index_terms=index_terms)
    return index_sections(
        sections,
        embedder=embedder,
        kb_revision=kb_revision,
        previous=previous,
        ann_threshold=ann_threshold,
        progress=progress,
        store=store,
        index_terms=index_terms,
    )


def index_sections(
    sections: list[IndexedSection],
    *,
    embedder: Embedder,
    kb_revision: int,
    previous: HybridIndex | None = None,
    ann_threshold: int = ANN_THRESHOLD,
    progress: bool | None = None,
    store: VectorStore | None = None,
    index_terms: bool = INDEX_TERMS,
) -> HybridIndex:
    """``build_index`` after the split (``split_documents``); ``index_terms`` only says, in the
    manifest, whether the sections carry their articles' terms."""
    known = _reusable(previous)
    missing = [s for s in sections if s.reuse_key() not in known]
    if store is not None and missing:
        known.update(_stored(missing, embedder, store))
        missing = [s for s in sections if s.reuse_key() not in known]
    fresh = _embed(missing, embedder, progress)
    if store is not None and fresh:
        by_hash = {s.reuse_key(): passage_hash(s) for s in missing}
        store.save(
            store_model_key(embedder),
            {by_hash[key]: (vector, view) for key, (vector, view, _) in fresh.items()},
        )
    vectors = np.zeros((len(sections), embedder.dimension), dtype=np.float32)
    views = np.zeros_like(vectors) if embedder.view_name else None
    tokens: list[list[str]] = []
    for row, section in enumerate(sections):
        key = section.reuse_key()
        vector, view, words = known.get(key) or fresh[key]
        vectors[row] = vector
        if views is not None and view is not None:
            views[row] = view
        tokens.append(words)
    log.info(
        "index: %d sections, %d embedded, %d reused",
        len(sections),
        len(missing),
        len(sections) - len(missing),
    )
    dense = build_dense(vectors, ann_threshold=ann_threshold)
    held = held_vectors(dense)
    if held is not None:  # the index's copy; the one built above is freed
        vectors = held
    manifest = Manifest(
        model=embedder.name,
        dimension=embedder.dimension,
        normalized=True,
        kb_revision=kb_revision,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sections=len(sections),
        dense_index=kind_of(dense),
        view=embedder.view_name,
        terms=index_terms,
    )
    keyword = KeywordIndex.build(tokens)
    return HybridIndex(manifest, sections, tokens, vectors, dense, keyword, views)


def _stored(sections: list[IndexedSection], embedder: Embedder, store: VectorStore) -> Reusable:
    hashes = {s.reuse_key(): passage_hash(s) for s in sections}
    found = store.load(store_model_key(embedder), sorted(set(hashes.values())))
    out: Reusable = {}
    for section in sections:
        stored = found.get(hashes[section.reuse_key()])
        if stored is None or (embedder.view_name and stored[1] is None):
            continue
        words = section_tokens(section)
        out[section.reuse_key()] = (stored[0], stored[1], words)
    return out


def section_tokens(section: IndexedSection) -> list[str]:
    """The section's keyword tokens, interned: the same few thousand words recur in every
    section, and one string object each keeps 100,000 sections' tokens in tens of MB."""
    return [sys.intern(t) for t in analyze(section.passage_text(), language_of(section.locale))]


def _reusable(previous: HybridIndex | None) -> Reusable:
    if previous is None:
        return {}
    views, vectors, tokens = previous.views, previous.vectors, previous.tokens
    return {
        s.reuse_key(): (vectors[i], None if views is None else views[i], tokens[i])
        for i, s in enumerate(previous.sections)
    }


def _embed(sections: list[IndexedSection], embedder: Embedder, progress: bool | None) -> Reusable:
    out: Reusable = {}
    for batch in _batches(sections, progress):
        encoded = embedder.embed([s.passage_text() for s in batch], "passage")
        for row, section in enumerate(batch):
            words = section_tokens(section)
            view = None if encoded.views is None else encoded.views[row]
            out[section.reuse_key()] = (encoded.vectors[row], view, words)
    return out


def _batches(
    sections: list[IndexedSection], progress: bool | None
) -> Iterator[list[IndexedSection]]:
    """Batches of sections, with a progress bar on a terminal and log lines otherwise."""
    show_bar = sys.stderr.isatty() if progress is None else progress
    total = len(sections)
    bar = tqdm(total=total, unit="section", desc="embedding", disable=not show_bar or total == 0)
    try:
        for start in range(0, total, EMBED_BATCH):
            batch = sections[start : start + EMBED_BATCH]
            yield batch
            bar.update(len(batch))
            if not show_bar and total > EMBED_BATCH:
                log.info("embedding: %d/%d sections", min(start + EMBED_BATCH, total), total)
    finally:
        bar.close()
