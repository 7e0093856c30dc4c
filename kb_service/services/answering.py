"""One answer for every channel: search → choose a section → confidence or abstain →
canonical answer → this channel's rendering → ledger.

Abstention is decided here, once: a question without a letter or digit (``no_question``), no
hit (``no_match``) or a confidence under the channel's threshold (``low_confidence``).

The canonical block depends only on the question, the locale and the index generation (KB
revision); the channel changes only the rendering, the abstention threshold, and whether
internal articles may be used: never on public channels nor for public keys (``access``), and
then nowhere in the answer, ``previously_told`` included.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session

from indexer import timing
from indexer.hybrid import Hit
from indexer.locales import locale_for_language
from kb_service.config import Settings
from kb_service.models import utcnow
from kb_service.rendering import RenderInput, render, render_no_answer
from kb_service.schemas.answers import (
    Alternative,
    AnswerRequest,
    AnswerResponse,
    CanonicalAnswer,
    Handoff,
)
from kb_service.services import access, ledger
from kb_service.services.access import Viewer
from kb_service.services.channels import HANDOFF_SUGGESTIONS
from kb_service.services.group_commit import GroupCommitter
from kb_service.services.indexing import IndexService
from kb_service.services.searching import confidence_of, section_ref

MAX_ALTERNATIVES = 3


def answer(
    session: Session,
    index: IndexService,
    settings: Settings,
    request: AnswerRequest,
    viewer: Viewer,
    committer: GroupCommitter | None = None,
) -> tuple[AnswerResponse, str]:
    """Returns the response and the exact JSON stored in the ledger (and sent); ``committer``
    commits the record together with concurrent answers' (``services.group_commit``)."""
    include_internal = access.answer_may_use_internal(viewer, request.channel)
    asked = is_question(request.question)
    result = index.search(
        request.question if asked else "",  # nothing to search for: no hits, same revision
        locale=request.locale,
        limit=MAX_ALTERNATIVES + 1,
        include_internal=include_internal,
    )
    revision = result.kb_revision  # the generation the hits came from, not a later one
    hits = result.hits if asked else []
    top = hits[0] if hits else None
    confidence = confidence_of(top) if top else 0.0
    answered = top is not None and confidence >= settings.min_confidence(request.channel)
    reply_locale = request.locale or locale_for_language(result.language, settings.default_locale)
    if answered and top is not None:
        canonical = _canonical(settings, top, revision)
        with timing.timed("render"):
            rendering = render(
                request.channel,
                RenderInput(
                    locale=canonical.locale,
                    article_key=canonical.key,
                    article_title=canonical.title,
                    heading_path=canonical.heading_path,
                    markdown=canonical.markdown,
                    article_url=canonical.url,
                ),
            )
        handoff = None
    else:
        with timing.timed("render"):
            canonical, rendering = None, render_no_answer(request.channel, reply_locale)
        handoff = Handoff(
            reason=_abstention_reason(asked=asked, matched=top is not None),
            suggestion=HANDOFF_SUGGESTIONS[request.channel],
        )
    response = AnswerResponse(
        answer_id=str(uuid.uuid4()),
        created_at=utcnow(),
        status="answered" if canonical else "no_answer",
        confidence=confidence,
        channel=request.channel,
        question=request.question,
        language=result.language,
        kb_revision=revision,
        answer=canonical,
        alternatives=[_alternative(settings, h) for h in hits[1 if canonical else 0 :]][
            :MAX_ALTERNATIVES
        ],
        rendering=rendering,
        handoff=handoff,
        previously_told=ledger.timeline(
            session, request.customer_id, include_internal=include_internal
        )
        if request.customer_id and access.sees_history(viewer)
        else [],
    )
    with timing.timed("record"):
        body = ledger.record(
            session,
            response,
            customer_id=request.customer_id,
            conversation_id=request.conversation_id,
            committer=committer,
        )
    return response, body


def is_question(text: str) -> bool:
    """A question has at least one letter or digit, in any script. Without one (".", "?!", an
    emoji, zero-width spaces) there is nothing to look up, whatever the index would score it."""
    return any(char.isalnum() for char in text)


def _abstention_reason(*, asked: bool, matched: bool) -> str:
    if not asked:
        return "no_question"
    return "low_confidence" if matched else "no_match"


def _canonical(settings: Settings, hit: Hit, revision: int) -> CanonicalAnswer:
    ref = section_ref(settings, hit)
    return CanonicalAnswer(**dict(ref), markdown=hit.section.text, kb_revision=revision)


def _alternative(settings: Settings, hit: Hit) -> Alternative:
    return Alternative(**dict(section_ref(settings, hit)), confidence=confidence_of(hit))
