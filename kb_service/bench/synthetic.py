"""A large synthetic knowledge base for ``kb bench scale``, grown from real articles.

Copy ``c`` of a live article (every locale of it) gets its own id (``<id>--c<c>``) and key, a
numbered title and a body from which a different eighth of every paragraph's words is dropped
(headings kept, so it splits into the same sections). Its sections' vectors are the original
section's real vectors plus Gaussian noise of norm ``NOISE``, renormalised (cosine ~0.93 with
the original, ~0.86 between two copies: as far apart as different real articles on one topic),
handed to the index build as precomputed embeddings: embedding 100,000 passages with the real
model would take hours on two cores.

The copies are written to the database in one transaction as the rows a direct publish
writes (``publishing.publish_direct``: article, published translation, version 1 with its
content hash) under one new KB revision: publishing them one by one would take longer than
the rest of the bench.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from indexer.build import StoredVectors, passage_hash
from indexer.documents import IndexedSection, SourceDocument
from indexer.hybrid import HybridIndex
from kb_service.models import Article, ArticleVersion, KbState, Status, Translation
from kb_service.services.publishing import content_hash

NOISE = 0.4
"""Norm of the noise added to a copy's vectors (see module docstring)."""
DROP_ONE_WORD_IN = 8
"""A copy drops about one word in this many from each paragraph."""
AUTHOR = "bench-scale"

_HEADING = re.compile(r"^\s*#")


def copy_id(article_id: str, copy: int) -> str:
    return f"{article_id}--c{copy}"


def original_id(article_id: str) -> str:
    return article_id.split("--c", 1)[0]


def variant(doc: SourceDocument, copy: int) -> SourceDocument:
    """Copy ``copy`` of ``doc`` (the same for every run)."""
    rng = random.Random(f"{doc.article_id}/{doc.locale}/{copy}")
    markdown = "\n".join(
        line if _HEADING.match(line) else _drop_words(line, rng)
        for line in doc.markdown.split("\n")
    )
    return replace(
        doc,
        article_id=copy_id(doc.article_id, copy),
        key=f"S{copy}-{doc.key}"[:20],
        title=f"{doc.title} ({copy})",
        markdown=markdown,
        content_hash=content_hash(markdown),
    )


def _drop_words(line: str, rng: random.Random) -> str:
    words = line.split(" ")
    if len(words) < DROP_ONE_WORD_IN:
        return line
    return " ".join(w for w in words if rng.randrange(DROP_ONE_WORD_IN))


def insert_copies(session: Session, copies: Sequence[SourceDocument]) -> int:
    """Write ``copies`` as published articles under one new KB revision; returns it."""
    revision = _next_revision(session)
    originals = {a.id: a for a in session.exec(select(Article))}
    sources = {
        (t.article_id, t.locale): t.translation_of_locale for t in session.exec(select(Translation))
    }
    articles: dict[str, dict[str, object]] = {}
    for doc in copies:
        source = originals[original_id(doc.article_id)]
        articles.setdefault(
            doc.article_id,
            {
                "id": doc.article_id,
                "key": doc.key,
                "tags": source.tags,
                "keywords": source.keywords,
                "synonyms": source.synonyms,
                "visibility": source.visibility,
                "meta": {},
            },
        )
    session.execute(insert(Article), list(articles.values()))
    session.execute(
        insert(Translation),
        [
            {
                "article_id": d.article_id,
                "locale": d.locale,
                "translation_of_locale": sources.get((original_id(d.article_id), d.locale)),
                "status": Status.published,
                "draft_title": d.title,
                "draft_markdown": d.markdown,
                "draft_author": AUTHOR,
                "live_version": 1,
            }
            for d in copies
        ],
    )
    session.execute(
        insert(ArticleVersion),
        [
            {
                "article_id": d.article_id,
                "locale": d.locale,
                "version": 1,
                "title": d.title,
                "markdown": d.markdown,
                "content_hash": d.content_hash,
                "author": AUTHOR,
                "kb_revision": revision,
            }
            for d in copies
        ],
    )
    session.commit()
    return revision


def _next_revision(session: Session) -> int:
    session.exec(
        update(KbState).where(col(KbState.id) == 1).values(revision=col(KbState.revision) + 1)
    )
    state = session.get(KbState, 1)
    assert state is not None  # made by the migrations
    return state.revision


class PrecomputedVectors:
    """A ``VectorStore`` holding every section's vectors before the build asks for them."""

    def __init__(self, vectors: dict[str, StoredVectors]) -> None:
        self._vectors = vectors

    def load(self, model: str, hashes: Sequence[str]) -> Mapping[str, StoredVectors]:
        return {h: self._vectors[h] for h in hashes if h in self._vectors}

    def save(self, model: str, vectors: Mapping[str, StoredVectors]) -> None:
        self._vectors.update(vectors)


def copy_vectors(sections: Sequence[IndexedSection], real: HybridIndex) -> PrecomputedVectors:
    """Every section's vectors: the real ones for the originals (and for a copy's section whose
    original is not found), the original's plus noise for the copies."""
    rows = {(s.article_id, s.locale, s.position): i for i, s in enumerate(real.sections)}
    rng = np.random.default_rng(7)
    out: dict[str, StoredVectors] = {}
    for section in sections:
        original = original_id(section.article_id)
        row = rows.get((original, section.locale, section.position))
        if row is None:
            row = rows.get((original, section.locale, 0), 0)
        vector, view = real.vectors[row], None if real.views is None else real.views[row]
        if original != section.article_id:
            vector = _noisy(vector, rng)
            view = None if view is None else _noisy(view, rng)
        out[passage_hash(section)] = (vector, view)
    return PrecomputedVectors(out)


def _noisy(vector: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    noise = rng.normal(size=vector.shape) * (NOISE / np.sqrt(vector.size))
    moved = vector + noise
    out: NDArray[np.float32] = (moved / np.linalg.norm(moved)).astype(np.float32)
    return out
