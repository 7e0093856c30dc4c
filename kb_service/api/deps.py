"""Dependencies: the DB session, the start-up resources and what the caller's role allows.

Read permissions come from ``services.access`` (the one place that decides them): ``Reader``
and friends check the read area and hand the route a ``Viewer``; ``VisibleArticle`` and
``VisibleAnswer`` resolve the path's article or answer as that viewer may see it (404 when
hidden). Routes use these and never check roles or visibility themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from kb_service.config import Settings
from kb_service.errors import Forbidden, Unauthenticated
from kb_service.models import AnswerRecord, ApiKey, Article, Role
from kb_service.services import access, articles, keys, ledger
from kb_service.services.access import Area, Viewer
from kb_service.services.group_commit import GroupCommitter
from kb_service.services.indexing import IndexService
from kb_service.services.publishing import Actor
from kb_service.validation import ArticleId

_bearer = HTTPBearer(auto_error=False, description="An API key from `kb keys create`.")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The handler's session. It takes a connection from the pool at its first query and gives
    it back at commit or close; closed when the handler returns (scope "function"), not after
    the response has been sent to a client that may be slow to read it.

    ``async``: making a session touches no database, and neither does closing one that holds
    no transaction (never used, or committed), so neither costs a trip through the thread pool
    (two per request as a sync dependency). Closing one that still holds a connection rolls
    it back over the network, so that happens on a worker thread."""
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


# async: a plain attribute read needs no trip through the thread pool.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_index(request: Request) -> IndexService:
    service: IndexService = request.app.state.index
    return service


async def get_committer(request: Request) -> GroupCommitter | None:
    committer: GroupCommitter | None = getattr(request.app.state, "committer", None)
    return committer


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
CommitterDep = Annotated[GroupCommitter | None, Depends(get_committer)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
IndexDep = Annotated[IndexService, Depends(get_index)]


async def current_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    """The caller's active key; a widget key only from its origins and within its rate.

    ``async``: a key checked lately (``keys.CheckedKeys``) is let in on the event loop; only
    one due for another look goes to a worker thread for the query."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("Send an API key as 'Authorization: Bearer KEY'.")
    checked: keys.CheckedKeys = request.app.state.checked_keys
    key = checked.fresh(credentials.credentials)
    if key is None:
        key = await run_in_threadpool(_look_up, request, checked, credentials.credentials)
    origin = request.headers.get("origin")
    if not access.origin_allowed(key.role, key.origins, origin):
        raise Forbidden(f"This widget key may not be used from the origin {origin!r}.")
    if key.role == Role.widget:
        assert key.id is not None
        client = request.client.host if request.client else "unknown"
        request.app.state.widget_limiter.hit(key.id, client)
    return key


CurrentKey = Annotated[ApiKey, Depends(current_key)]


def _look_up(request: Request, checked: keys.CheckedKeys, plain: str) -> ApiKey:
    # A short session of its own: the connection goes back to the pool before the handler
    # runs, so no request holds one while it embeds a question or searches.
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        return checked.check(session, plain)


async def get_checked_keys(request: Request) -> keys.CheckedKeys:
    checked: keys.CheckedKeys = request.app.state.checked_keys
    return checked


CheckedKeysDep = Annotated[keys.CheckedKeys, Depends(get_checked_keys)]


def _forbidden(role: Role, allowed: frozenset[Role] | set[Role]) -> Forbidden:
    names = ", ".join(sorted(r.value for r in allowed))
    return Forbidden(f"The role {role.value!r} may not do this; it needs one of: {names}.")


# The role checks are pure and quick, so they are ``async``: a sync dependency costs a hop to a
# worker thread and back, which under load waits for the event loop each time.


def require(*roles: Role) -> Callable[[ApiKey], Awaitable[ApiKey]]:
    """A dependency that lets only these roles (and admin) through."""
    allowed = {*roles, Role.admin}

    async def check(key: CurrentKey) -> ApiKey:
        if key.role not in allowed:
            raise _forbidden(key.role, allowed)
        return key

    return check


def reader(area: Area) -> Callable[[ApiKey], Awaitable[Viewer]]:
    """A dependency for read routes: 403 unless the role may read ``area``; else the viewer."""

    async def check(key: CurrentKey) -> Viewer:
        if not access.may_read(key.role, area):
            raise _forbidden(key.role, access.readers(area))
        return access.viewer_of(key.role)

    return check


def actor_of(key: ApiKey) -> Actor:
    return Actor(name=key.name)


Editor = Annotated[ApiKey, Depends(require(Role.editor, *access.PUBLISHING_ROLES))]
Reviewer = Annotated[ApiKey, Depends(require(*access.PUBLISHING_ROLES))]
Admin = Annotated[ApiKey, Depends(require())]
PhrasingCurator = Annotated[ApiKey, Depends(require(*access.PHRASING_CURATORS))]
"""Editors, reviewers and admins: see, accept, reject and remove learned phrasings."""

Asker = Annotated[Viewer, Depends(reader(Area.ask))]
"""Any key that may ask and rate answers (widget keys included)."""
Reader = Annotated[Viewer, Depends(reader(Area.content))]
"""Any reading key; public roles (bot) see public content only."""
WorkflowReader = Annotated[Viewer, Depends(reader(Area.workflow))]
"""Staff only: articles with their workflow state (drafts, authors, comments, ratings)."""
CustomerReader = Annotated[Viewer, Depends(reader(Area.customers))]
"""Staff only: customer timelines."""
InsightReader = Annotated[Viewer, Depends(reader(Area.insights))]
"""Staff only: the gap report."""


def visible_article(article_id: ArticleId, session: SessionDep, viewer: Reader) -> Article:
    """The path's article (by id or key) if this viewer may see it; 404 as if unknown if not."""
    return articles.find_article(session, article_id, include_internal=viewer.internal)


def visible_answer(answer_id: str, session: SessionDep, viewer: Reader) -> AnswerRecord:
    """The path's answer if this viewer may see everything it names; 404 as if unknown if not."""
    return ledger.get_record(session, answer_id, include_internal=viewer.internal)


def rateable_answer(answer_id: str, session: SessionDep, viewer: Asker) -> AnswerRecord:
    """The path's answer, for feedback: as ``visible_answer``, for every key that may ask."""
    return ledger.get_record(session, answer_id, include_internal=viewer.internal)


def public_article(article_id: str, session: SessionDep) -> Article:
    """The path's article as an anonymous visitor of the public pages may see it."""
    return articles.get_article(session, article_id, include_internal=access.ANONYMOUS.internal)


def workflow_article(article_id: ArticleId, session: SessionDep, viewer: WorkflowReader) -> Article:
    """The path's article (by id or key) with its workflow state: staff only."""
    return articles.find_article(session, article_id, include_internal=viewer.internal)


VisibleArticle = Annotated[Article, Depends(visible_article)]
WorkflowArticle = Annotated[Article, Depends(workflow_article)]
VisibleAnswer = Annotated[AnswerRecord, Depends(visible_answer)]
RateableAnswer = Annotated[AnswerRecord, Depends(rateable_answer)]
PublicArticle = Annotated[Article, Depends(public_article)]
