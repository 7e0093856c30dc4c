"""Dependencies: the DB session, the start-up resources and the caller's role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from kb_service.config import Settings
from kb_service.errors import Forbidden, Unauthenticated
from kb_service.models import ApiKey, Role
from kb_service.services import keys
from kb_service.services.indexing import IndexService
from kb_service.services.publishing import Actor

_bearer = HTTPBearer(auto_error=False, description="An API key from `kb keys create`.")


def get_session(request: Request) -> Iterator[Session]:
    """The handler's session. It takes a connection from the pool at its first query and gives
    it back at commit or close; closed when the handler returns (scope "function"), not after
    the response has been sent to a client that may be slow to read it."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


# async: a plain attribute read needs no trip through the thread pool.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_index(request: Request) -> IndexService:
    service: IndexService = request.app.state.index
    return service


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
IndexDep = Annotated[IndexService, Depends(get_index)]


def current_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("Send an API key as 'Authorization: Bearer KEY'.")
    # A short session of its own: the connection goes back to the pool before the handler
    # runs, so no request holds one while it embeds a question or searches.
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        return keys.authenticate(session, credentials.credentials)


CurrentKey = Annotated[ApiKey, Depends(current_key)]


def require(*roles: Role) -> Callable[[ApiKey], ApiKey]:
    """A dependency that lets only these roles (and admin) through."""
    allowed = {*roles, Role.admin}

    def check(key: CurrentKey) -> ApiKey:
        if key.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(
                f"The role {key.role.value!r} may not do this; it needs one of: {names}."
            )
        return key

    return check


def actor_of(key: ApiKey) -> Actor:
    return Actor(name=key.name)


Editor = Annotated[ApiKey, Depends(require(Role.editor, Role.reviewer))]
Reviewer = Annotated[ApiKey, Depends(require(Role.reviewer))]
Reader = Annotated[ApiKey, Depends(require(Role.agent, Role.bot, Role.editor, Role.reviewer))]
Admin = Annotated[ApiKey, Depends(require())]
