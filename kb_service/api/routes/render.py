"""Rendering a draft for the editors' console: the server's renderers, never a copy in JS."""

from __future__ import annotations

from fastapi import APIRouter

from kb_service.api.deps import Editor, IndexDep, SessionDep, SettingsDep
from kb_service.api.problems import ERRORS
from kb_service.schemas.render import RenderRequest, RenderResult
from kb_service.services import preview

router = APIRouter(prefix="/v1/render", tags=["render"])


@router.post("", summary="Preview a draft on a channel", responses=ERRORS)
def render_draft(
    body: RenderRequest, session: SessionDep, settings: SettingsDep, index: IndexDep, _: Editor
) -> RenderResult:
    """The draft cut into the sections the index would make, each rendered for `channel`
    exactly as an answer from it would be (chat by default). Nothing is stored. Editors,
    reviewers and admins."""
    return preview.render_draft(
        session,
        settings,
        index.embedder,
        markdown=body.markdown,
        title=body.title,
        locale=body.locale,
        channel=body.channel,
        article_id=body.article_id,
    )
