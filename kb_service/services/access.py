"""Who may read what: the one place that decides it, per role.

Two questions, answered here and nowhere else:

* may this role see **internal** articles? Staff roles may; a *public* role, whose key can sit
  on a public page (a bot, a chat widget), sees only what a customer may see;
* which **read areas** may it use? Every reading role reads content (search, published
  versions, answers), public roles only its public part; the editorial workflow (drafts,
  authors, review comments, ratings), customer timelines and the gap report are for staff only.

The HTTP edge turns these into dependencies (``kb_service.api.deps``); services take the
answer as ``include_internal`` and filter in their queries. A hidden internal article is
*not found* (404), never *forbidden* (403), so that its existence does not leak.

Adding a public role is two lines here, in ``PUBLIC_ROLES`` and ``PUBLIC_AREAS`` (after adding
the value to ``models.Role``); the ``widget`` role of the chat widget was added that way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kb_service.models import Role
from kb_service.rendering import Channel

PUBLIC_ROLES: frozenset[Role] = frozenset({Role.bot, Role.widget})
"""Roles whose keys face customers directly: public content only, no staff-only areas. A
``widget`` key sits in a web page, readable by anyone: it may only ask and rate, and only from
the web origins listed for it."""

STAFF_ROLES: frozenset[Role] = frozenset({Role.agent, Role.editor, Role.reviewer, Role.admin})
"""Roles of people inside the contact centre: internal content and every read area."""

PUBLISHING_ROLES: frozenset[Role] = frozenset({Role.reviewer, Role.admin})
"""Roles that put content in front of customers: approve, publish, archive, roll back, and
change an article's visibility (which is a publication without review otherwise)."""

PUBLIC_CHANNELS: frozenset[Channel] = frozenset({"social"})
"""Channels whose answers are public: internal articles are never used there, whoever asks."""


class Area(StrEnum):
    """What a read route reads, as far as permissions go."""

    ask = "ask"  # ask for an answer, rate an answer
    content = "content"  # search, published versions, the replay of answers
    workflow = "workflow"  # article lists and reads: drafts, authors, review comments, ratings
    customers = "customers"  # a customer's timeline: what they were told, on every channel
    insights = "insights"  # the gap report: customers' unanswered questions, unhelpful articles


PUBLIC_AREAS: dict[Role, frozenset[Area]] = {
    Role.bot: frozenset({Area.ask, Area.content}),
    Role.widget: frozenset({Area.ask}),
}
"""The areas each public role may use (and there only public content)."""


@dataclass(frozen=True)
class Viewer:
    """Who is reading, as far as visibility goes."""

    role: Role | None  # None: an anonymous visitor of the public pages (/kb/...)
    internal: bool  # may see internal articles


ANONYMOUS = Viewer(role=None, internal=False)
"""A visitor of the public article pages: sees what any customer may see."""


def is_public(role: Role) -> bool:
    return role in PUBLIC_ROLES


def sees_timings(viewer: Viewer) -> bool:
    """``Server-Timing`` headers for staff and their tools only: a public page (a ``bot`` or
    ``widget`` key) learns nothing about the service's insides."""
    return viewer.role is not None and not is_public(viewer.role)


def sees_internal(role: Role) -> bool:
    return role in STAFF_ROLES and not is_public(role)


def may_read(role: Role, area: Area) -> bool:
    if is_public(role):
        return area in PUBLIC_AREAS.get(role, frozenset())
    return role in STAFF_ROLES


def origin_allowed(role: Role, origins: list[str], origin: str | None) -> bool:
    """A widget key works only from the web pages of its listed origins (the ``Origin`` header
    a browser sends); other keys are not bound to an origin."""
    return role != Role.widget or (origin is not None and origin in origins)


def readers(area: Area) -> frozenset[Role]:
    """The roles that may read this area (for messages and documentation)."""
    return frozenset(r for r in Role if may_read(r, area))


def sees_history(viewer: Viewer) -> bool:
    """Whether an answer may list what the named customer was told before. A public key names
    a customer id it cannot prove, so it must not read that customer's history back (the
    answer is still recorded under the id, for the agents)."""
    return viewer.role is not None and not is_public(viewer.role)


def viewer_of(role: Role) -> Viewer:
    return Viewer(role=role, internal=sees_internal(role))


def answer_may_use_internal(viewer: Viewer, channel: Channel) -> bool:
    """An answer uses (and names) internal articles only for staff, off public channels."""
    return viewer.internal and channel not in PUBLIC_CHANNELS


def may_change_visibility(role: Role) -> bool:
    return role in PUBLISHING_ROLES


SIGN_OFF_STEPS: frozenset[str] = frozenset({"approve", "publish"})
"""Workflow steps that vouch for a draft: under four eyes, never by the draft's author."""


def may_sign_off(step: str, *, author: str, actor: str, require_second_reviewer: bool) -> bool:
    """Whether ``actor`` may take ``step`` on a draft written by ``author``. With
    ``KB_REQUIRE_SECOND_REVIEWER`` on, approving or publishing one's own draft is refused (the
    author is the name of the key that last saved the draft)."""
    if not require_second_reviewer or step not in SIGN_OFF_STEPS:
        return True
    return author != actor


PHRASING_CURATORS: frozenset[Role] = frozenset({Role.editor, Role.reviewer, Role.admin})
"""Roles that see, accept, reject, remove and export learned phrasings."""


def phrasing_takes_effect(role: Role) -> bool:
    """Whether a question learned from this role's feedback steers retrieval at once. Staff
    (agents, editors, reviewers, admins) teach directly; a customer-facing key (``bot``,
    ``widget``) only suggests, and an editor accepts: nobody on a public page steers answers."""
    return role in STAFF_ROLES and not is_public(role)


def may_curate_phrasings(role: Role) -> bool:
    return role in PHRASING_CURATORS
