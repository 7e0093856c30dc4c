"""Topics: the questions of every channel grouped by what they ask, across languages.

Assignment is incremental and lazy (when insights are read, never on ``POST /v1/answers``):
questions of the ledger without a topic are embedded in batches with the serving model and
each joins the nearest topic whose centroid's cosine with it is at least ``THRESHOLD``, else
starts a new one; a topic keeps its id as questions join it. A question answered from an
article may join that article's topic at a lower bar, ``HINT_THRESHOLD`` (the same answered
article is evidence of the same topic, not proof: answers can be wrong).

Vectors are *language-centred* before they are compared: the e5 question vector of a text
carries its language as well as its meaning, so the mean query vector of the knowledge base's
own text in that language is subtracted (Libovický et al., 2020, "On the language neutrality
of pre-trained multilingual representations"). The means come from the KB, not from the
questions, so they exist from the first question on; they are computed once per process.
``THRESHOLD`` was chosen in the middle of the plateau where ``kb bench topics`` keeps both
``merged`` and ``purity`` high on ``bench_data/topics``, not at its best point.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from indexer.dense import inner_products
from indexer.documents import IndexedSection
from indexer.embed import Embedder
from indexer.hybrid import HybridIndex
from indexer.locales import detect_language, language_of
from kb_service.models import AnswerRecord, QuestionTopic, Topic

if TYPE_CHECKING:
    from kb_service.services.indexing import IndexService

THRESHOLD = 0.4
"""Cosine between a language-centred question vector and a topic centroid to join it."""
HINT_THRESHOLD = 0.3
"""The lower bar for joining the topic of the article the question was answered from."""
BATCH = 64
MAX_PER_CALL = 2000
"""At most this many questions are assigned per insights request (the rest the next time)."""
_SAMPLE_PER_LANGUAGE = 150  # sections
_TEXT_CHARS = 300

Vector = NDArray[np.float32]

_lock = threading.Lock()


@dataclass
class _Space:
    model: str
    means: dict[str, Vector]  # language -> mean query vector of the KB's text in it
    fallback: Vector  # for a question whose language is unknown


_spaces: dict[str, _Space] = {}  # model name -> its space, made once per process


def _space(index: IndexService) -> _Space:
    """The language means of this model; made again when the KB gains a language."""
    current = index.current
    languages = {language_of(s.locale) for s in current.sections} if current else set()
    space = _spaces.get(index.embedder.name)
    if space is None or not languages <= set(space.means):
        space = _build_space(index.embedder, current)
        _spaces[index.embedder.name] = space
    return space


def _build_space(embedder: Embedder, current: HybridIndex | None) -> _Space:
    """Every language's mean question vector over (an even sample of) the KB's sections: their
    title and headings, and the start of their text."""
    sections: dict[str, list[IndexedSection]] = {}
    for section in current.sections if current else []:
        sections.setdefault(language_of(section.locale), []).append(section)
    texts: dict[str, list[str]] = {}
    for language, rows in sections.items():
        step = max(1, len(rows) // _SAMPLE_PER_LANGUAGE)
        texts[language] = [
            text
            for section in rows[::step][:_SAMPLE_PER_LANGUAGE]
            for text in (
                " > ".join((section.title, *section.heading_path)),
                section.text[:_TEXT_CHARS],
            )
        ]
    means: dict[str, Vector] = {}
    for language, samples in texts.items():
        vectors = embedder.embed(samples, "query").vectors
        means[language] = vectors.mean(axis=0).astype(np.float32)
    if means:
        fallback = np.mean(list(means.values()), axis=0).astype(np.float32)
    else:
        fallback = np.zeros(embedder.dimension, dtype=np.float32)
    return _Space(embedder.name, means, fallback)


def centred(space: _Space, vectors: Vector, languages: Sequence[str | None]) -> Vector:
    """Question vectors with their language's mean removed, L2-normalised again."""
    out = vectors.astype(np.float32).copy()
    for row, language in enumerate(languages):
        out[row] -= space.means.get(language or "", space.fallback)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.where(norms == 0, 1, norms)).astype(np.float32)


def _language(record: AnswerRecord, known: Sequence[str]) -> str | None:
    """The question's language as the answer saw it (given or detected); not the answer's
    locale, which may be a fallback in another language."""
    language = json.loads(record.response_json).get("language")
    if isinstance(language, str) and language:
        return language_of(language)
    return detect_language(record.question, known)


def assign_pending(session: Session, index: IndexService, *, limit: int = MAX_PER_CALL) -> int:
    """Give every question without a topic one (oldest first); returns how many were assigned."""
    with _lock:
        pending = session.exec(
            select(AnswerRecord)
            .outerjoin(QuestionTopic, QuestionTopic.answer_id == AnswerRecord.id)  # type: ignore[arg-type]
            .where(col(QuestionTopic.topic_id).is_(None))
            .order_by(col(AnswerRecord.created_at), col(AnswerRecord.id))
            .limit(limit)
        ).all()
        if not pending:
            return 0
        space = _space(index)
        topics = list(session.exec(select(Topic).order_by(col(Topic.id))).all())
        known = list(space.means)
        for start in range(0, len(pending), BATCH):
            batch = pending[start : start + BATCH]
            raw = index.embedder.embed([r.question for r in batch], "query").vectors
            vectors = centred(space, raw, [_language(r, known) for r in batch])
            for record, vector in zip(batch, vectors, strict=True):
                topic = _choose(topics, vector, record)
                if topic is None:
                    topic = Topic(
                        label=record.question[:200],
                        article_id=record.article_id,
                        centroid=[float(x) for x in vector],
                        size=0,
                        model=index.embedder.name,
                    )
                    session.add(topic)
                    session.flush()
                    topics.append(topic)
                _join(topic, vector, record)
                session.add(topic)
                assert topic.id is not None
                session.add(QuestionTopic(answer_id=record.id, topic_id=topic.id))
        try:
            session.commit()
        except IntegrityError:  # another process assigned them first: theirs stand
            session.rollback()
            return 0
        return len(pending)


def _choose(topics: list[Topic], vector: Vector, record: AnswerRecord) -> Topic | None:
    """The nearest topic at ``THRESHOLD`` or more; for a question answered from an article,
    the topic of that article already at ``HINT_THRESHOLD`` or more (the answer is evidence,
    not proof: a wrong answer must not pull an unrelated question in)."""
    if not topics:
        return None
    centroids = np.asarray([t.centroid for t in topics], dtype=np.float32)
    if centroids.shape[1] != vector.shape[0]:
        return None
    scores = inner_products(centroids, vector)
    best = int(np.argmax(scores))
    if float(scores[best]) >= THRESHOLD:
        return topics[best]
    if record.status == "answered" and record.article_id:
        same = [i for i, t in enumerate(topics) if t.article_id == record.article_id]
        if same:
            nearest = max(same, key=lambda i: float(scores[i]))
            if float(scores[nearest]) >= HINT_THRESHOLD:
                return topics[nearest]
    return None


def _join(topic: Topic, vector: Vector, record: AnswerRecord) -> None:
    """Move the centroid to the running mean of its questions (kept at unit length)."""
    if topic.size == 0 or len(topic.centroid) != vector.shape[0]:
        total = vector
    else:
        total = np.asarray(topic.centroid, dtype=np.float32) * topic.size + vector
    norm = float(np.linalg.norm(total)) or 1.0
    topic.centroid = [float(x) for x in total / norm]
    topic.size += 1
    if topic.article_id is None and record.status == "answered":
        topic.article_id = record.article_id
