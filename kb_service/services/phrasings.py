"""Learned phrasings: every confirmed or corrected answer is a labelled example.

A question becomes a *phrasing* of a section when an answer to it is rated helpful, or rated
unhelpful with the article (and optionally the section) that should have answered it. From
staff keys it takes effect at once; from customer-facing keys it waits as a suggestion until an
editor accepts it (the rule: ``access.phrasing_takes_effect``).

Privacy: a phrasing keeps no customer id, only the id of the answer record it came from (so
erasing the customer removes it), and its text is masked (``mask``) before it is stored.

Retrieval: each phrasing's vector (the question embedded as a query) is stored with it, so the
serving process builds its phrasing index from the database without embedding anything but new
phrasings; ``KbState.phrasing_revision`` rises with every change of the active set, which is
how the poll thread and other replicas notice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from indexer.embed import Embedder
from indexer.hybrid import HybridIndex
from indexer.locales import language_of
from indexer.phrasings import PhrasingIndex, PhrasingTarget
from kb_service.db import begin_write
from kb_service.errors import NotFoundError, ValidationFailed
from kb_service.models import AnswerRecord, Article, KbState, Phrasing, PhrasingStatus, Role
from kb_service.services import access
from kb_service.services.articles import find_article

EXPORT_FILE = "phrasings.jsonl"
"""Written beside the articles by ``kb export``; read by ``kb import``."""

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]){10,30}\b")
_DIGITS = re.compile(r"\+?\d(?:[\d\s./()-]*\d)?")


def mask(text: str) -> str:
    """The question as it may be stored: e-mail addresses become ``[email]``, account numbers
    (IBANs) and every run of digits (phone, account, order and card numbers, dates, prices)
    become ``#``. Applied before a phrasing is stored, whoever taught it."""
    text = _EMAIL.sub("[email]", text)
    text = _IBAN.sub("#", text)
    return _DIGITS.sub("#", text)


@dataclass(frozen=True)
class Correction:
    article_id: str
    section_id: str | None = None


def learn(
    session: Session,
    embedder: Embedder,
    index: HybridIndex | None,
    answer: AnswerRecord,
    *,
    role: Role,
    helpful: bool,
    correction: Correction | None,
) -> Phrasing | None:
    """Turn a rating into a phrasing (or none: an unhelpful rating without a correction, or a
    helpful one of a ``no_answer``). A public key may only name a public article."""
    if helpful:
        if answer.article_id is None or answer.status != "answered":
            return None
        target = PhrasingTarget(answer.article_id, answer.locale, answer.section_id)
        target = _with_anchor(target, index)
        source = "confirmed"
    elif correction is not None:
        target = _corrected_target(session, index, correction, access.viewer_of(role).internal)
        source = "corrected"
    else:
        return None
    return add(
        session,
        embedder,
        text=answer.question,
        target=target,
        language=language_of(answer.locale) if answer.locale else None,
        status=PhrasingStatus.active
        if access.phrasing_takes_effect(role)
        else PhrasingStatus.suggested,
        source=source,
        role=role.value,
        answer_id=answer.id,
    )


def _with_anchor(target: PhrasingTarget, index: HybridIndex | None) -> PhrasingTarget:
    if index is None or target.section_id is None:
        return target
    for section in index.sections:
        if section.section_id == target.section_id:
            return PhrasingTarget(
                target.article_id, section.locale, section.section_id, section.anchor
            )
    return target


def _corrected_target(
    session: Session, index: HybridIndex | None, correction: Correction, include_internal: bool
) -> PhrasingTarget:
    try:
        article = find_article(session, correction.article_id, include_internal=include_internal)
    except NotFoundError as exc:
        raise ValidationFailed(
            f"correct_article_id: no article with id or key {correction.article_id!r}."
        ) from exc
    if correction.section_id is None:
        return PhrasingTarget(article.id)
    for section in index.sections if index else []:
        if section.section_id == correction.section_id and section.article_id == article.id:
            return PhrasingTarget(article.id, section.locale, section.section_id, section.anchor)
    raise ValidationFailed(
        f"correct_section_id: article {article.id!r} has no live section {correction.section_id!r}."
    )


def add(
    session: Session,
    embedder: Embedder | None,
    *,
    text: str,
    target: PhrasingTarget,
    language: str | None,
    status: PhrasingStatus,
    source: str,
    role: str,
    answer_id: str | None = None,
) -> Phrasing:
    """Store a phrasing (masked; embedded when an embedder is given, else when the index next
    loads it). The same text for the same target is stored once (a rejected one stays
    rejected)."""
    masked = mask(text).strip()
    if not masked:
        raise ValidationFailed("A phrasing needs some text.")
    vector = _embed(embedder, masked) if embedder is not None else None
    begin_write(session)
    existing = session.exec(
        select(Phrasing).where(
            Phrasing.article_id == target.article_id,
            Phrasing.section_id == target.section_id,
            Phrasing.text == masked,
        )
    ).first()
    if existing is not None:
        if existing.status == PhrasingStatus.suggested and status == PhrasingStatus.active:
            existing.status = status
            session.add(existing)
            _bump(session)
        session.commit()
        return existing
    phrasing = Phrasing(
        article_id=target.article_id,
        locale=target.locale,
        section_id=target.section_id,
        anchor=target.anchor,
        text=masked,
        language=language,
        status=status,
        source=source,
        role=role,
        answer_id=answer_id,
        model=embedder.name if embedder is not None else None,
        vector=vector,
    )
    session.add(phrasing)
    if status == PhrasingStatus.active:
        _bump(session)
    session.commit()
    session.refresh(phrasing)
    return phrasing


def _embed(embedder: Embedder, text: str) -> bytes:
    vector = embedder.embed([text], "query").vectors[0]
    return np.asarray(vector, dtype=np.float32).tobytes()


def _bump(session: Session) -> None:
    state = session.get(KbState, 1)
    if state is None:
        state = KbState(id=1)
    state.phrasing_revision += 1
    session.add(state)


def phrasing_revision(session: Session) -> int:
    state = session.get(KbState, 1)
    return state.phrasing_revision if state else 0


# ------------------------------------------------------------------ editors


def list_phrasings(
    session: Session, *, status: PhrasingStatus | None = None, article_id: str | None = None
) -> list[Phrasing]:
    query = select(Phrasing)
    if status is not None:
        query = query.where(Phrasing.status == status)
    if article_id is not None:
        query = query.where(Phrasing.article_id == article_id)
    return list(session.exec(query.order_by(col(Phrasing.id))).all())


def get_phrasing(session: Session, phrasing_id: int) -> Phrasing:
    phrasing = session.get(Phrasing, phrasing_id)
    if phrasing is None:
        raise NotFoundError(f"No phrasing with id {phrasing_id}.")
    return phrasing


def review(session: Session, phrasing_id: int, *, accept: bool, reviewer: str) -> Phrasing:
    """Accept (it takes effect) or reject (it stops steering retrieval) a phrasing."""
    begin_write(session)
    phrasing = get_phrasing(session, phrasing_id)
    new = PhrasingStatus.active if accept else PhrasingStatus.rejected
    if phrasing.status != new:
        if PhrasingStatus.active in (new, phrasing.status):
            _bump(session)
        phrasing.status = new
        phrasing.reviewed_by = reviewer
        session.add(phrasing)
    session.commit()
    session.refresh(phrasing)
    return phrasing


def delete(session: Session, phrasing_id: int) -> None:
    begin_write(session)
    phrasing = get_phrasing(session, phrasing_id)
    if phrasing.status == PhrasingStatus.active:
        _bump(session)
    session.delete(phrasing)
    session.commit()


def delete_for_answers(session: Session, answer_ids: list[str]) -> int:
    """Erasure: remove the phrasings learned from these answers (in the caller's transaction,
    before the answers themselves go)."""
    if not answer_ids:
        return 0
    rows = session.exec(select(Phrasing).where(col(Phrasing.answer_id).in_(answer_ids))).all()
    if any(row.status == PhrasingStatus.active for row in rows):
        _bump(session)
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


# ------------------------------------------------------------------ the index


def load_index(session: Session, embedder: Embedder) -> PhrasingIndex:
    """The active phrasings as an index; phrasings without a vector of this embedder (imported,
    or stored by another model) are embedded now and their vectors stored."""
    revision = phrasing_revision(session)
    rows = list_phrasings(session, status=PhrasingStatus.active)
    missing = [row for row in rows if row.vector is None or row.model != embedder.name]
    if missing:
        vectors = embedder.embed([row.text for row in missing], "query").vectors
        for row, vector in zip(missing, vectors, strict=True):
            row.vector = np.asarray(vector, dtype=np.float32).tobytes()
            row.model = embedder.name
            session.add(row)
        session.commit()
    if not rows:
        return PhrasingIndex(revision, [])
    matrix = np.stack([np.frombuffer(row.vector or b"", dtype=np.float32) for row in rows]).astype(
        np.float32
    )
    targets = [PhrasingTarget(r.article_id, r.locale, r.section_id, r.anchor) for r in rows]
    return PhrasingIndex(revision, targets, matrix)


# ------------------------------------------------------------------ export / import


def export_jsonl(session: Session, directory: Path) -> int:
    """``phrasings.jsonl`` beside the exported articles: every phrasing but rejected ones
    (masked text, target, status, how it was learned; no vector, no answer link)."""
    rows = [r for r in list_phrasings(session) if r.status != PhrasingStatus.rejected]
    if not rows:
        return 0
    with open(directory / EXPORT_FILE, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(_exported(row), ensure_ascii=False) + "\n")
    return len(rows)


def _exported(row: Phrasing) -> dict[str, Any]:
    return {
        "text": row.text,
        "article_id": row.article_id,
        "locale": row.locale,
        "section_id": row.section_id,
        "anchor": row.anchor,
        "language": row.language,
        "status": row.status.value,
        "source": row.source,
        "role": row.role,
    }


def import_jsonl(session: Session, directory: Path) -> int:
    """Read ``phrasings.jsonl`` (if there is one); phrasings of unknown articles are skipped.
    They are embedded when the index next loads them."""
    path = directory / EXPORT_FILE
    if not path.is_file():
        return 0
    count = 0
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                status = PhrasingStatus(data.get("status", "suggested"))
                target = PhrasingTarget(
                    str(data["article_id"]),
                    data.get("locale"),
                    data.get("section_id"),
                    data.get("anchor"),
                )
                text = str(data["text"])
            except (ValueError, KeyError, TypeError) as exc:
                raise ValidationFailed(f"{path}:{number}: not a phrasing ({exc}).") from exc
            if session.get(Article, target.article_id) is None:
                continue
            add(
                session,
                None,
                text=text,
                target=target,
                language=data.get("language"),
                status=status,
                source=str(data.get("source", "imported")),
                role=str(data.get("role", "import")),
            )
            count += 1
    return count
