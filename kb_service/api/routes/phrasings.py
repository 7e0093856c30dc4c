"""Learned phrasings: what editors see, accept, reject and remove."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kb_service.api.deps import IndexDep, PhrasingCurator, SessionDep
from kb_service.api.problems import ERRORS
from kb_service.models import Phrasing, PhrasingStatus
from kb_service.schemas.phrasings import PhrasingList, PhrasingPublic
from kb_service.services import articles, phrasings
from kb_service.validation import ArticleId, DbInt

router = APIRouter(tags=["phrasings"])


def _public(row: Phrasing) -> PhrasingPublic:
    return PhrasingPublic.model_validate(row, from_attributes=True)


@router.get("/v1/phrasings", summary="List learned phrasings", responses=ERRORS)
def list_phrasings(
    session: SessionDep,
    _: PhrasingCurator,
    status: Annotated[
        PhrasingStatus | None, Query(description="e.g. `suggested`: waiting for an editor.")
    ] = None,
) -> PhrasingList:
    """Questions learned from feedback, oldest first. `suggested` ones came from customer-facing
    keys (`bot`, `widget`) and steer nothing until accepted.

    Editors, reviewers and admins only."""
    rows = phrasings.list_phrasings(session, status=status)
    return PhrasingList(phrasings=[_public(r) for r in rows])


@router.get(
    "/v1/articles/{article_id}/phrasings",
    summary="An article's learned phrasings",
    responses=ERRORS,
)
def article_phrasings(
    article_id: ArticleId, session: SessionDep, _: PhrasingCurator
) -> PhrasingList:
    """Every phrasing learned for the article (by id or key), whatever its status.

    Editors, reviewers and admins only."""
    article = articles.find_article(session, article_id)
    rows = phrasings.list_phrasings(session, article_id=article.id)
    return PhrasingList(phrasings=[_public(r) for r in rows])


@router.post("/v1/phrasings/{phrasing_id}/accept", summary="Accept a phrasing", responses=ERRORS)
def accept(
    phrasing_id: DbInt, session: SessionDep, index: IndexDep, key: PhrasingCurator
) -> PhrasingPublic:
    """The phrasing steers retrieval from now on (within seconds on every replica).

    Editors, reviewers and admins only."""
    row = phrasings.review(session, phrasing_id, accept=True, reviewer=key.name)
    index.refresh_phrasings()
    return _public(row)


@router.post("/v1/phrasings/{phrasing_id}/reject", summary="Reject a phrasing", responses=ERRORS)
def reject(
    phrasing_id: DbInt, session: SessionDep, index: IndexDep, key: PhrasingCurator
) -> PhrasingPublic:
    """The phrasing steers nothing; it is kept (so the same question is not suggested again)
    and not exported.

    Editors, reviewers and admins only."""
    row = phrasings.review(session, phrasing_id, accept=False, reviewer=key.name)
    index.refresh_phrasings()
    return _public(row)


@router.delete("/v1/phrasings/{phrasing_id}", summary="Remove a phrasing", responses=ERRORS)
def remove(
    phrasing_id: DbInt, session: SessionDep, index: IndexDep, _: PhrasingCurator
) -> PhrasingPublic:
    """Delete the phrasing for good; returns what was deleted.

    Editors, reviewers and admins only."""
    row = _public(phrasings.get_phrasing(session, phrasing_id))
    phrasings.delete(session, phrasing_id)
    index.refresh_phrasings()
    return row
