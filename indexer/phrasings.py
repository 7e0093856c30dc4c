"""Learned phrasings: customers' questions that an answer was confirmed or corrected for.

A phrasing points at one section (or, without a section, at a whole article). The phrasing
index is small and separate from the section index: adding a phrasing embeds only that
question, never the knowledge base. At search time the question's **nearest phrasing** p
(largest cosine) is evidence for its sections when it is both closer to the question than any
section is and clearly closer than any phrasing of another article (a ratio test, as in
nearest-neighbour matching)::

    lead    = min(cos(q, p) - max_i cos(q, section_i),
                  cos(q, p) - max_{p' of another article} cos(q, p')) - margin
    bonus   = min(lead / std(cos(q, sections)), cap)        for p's sections, when lead > 0

Why relative, not an absolute cosine: customers of one shop ask in one style, so any two of
their questions are close (allegro_faq: a median nearest-phrasing cosine of 0.92 for
*unrelated* questions with e5-small). An absolute threshold let hundreds of such phrasings
outvote the sections (README, Learned phrasings). Both bars here move with the question: the
first with how close it is to the knowledge base, the second with how crowded the phrasings
around it are, which is what grows as a knowledge base learns. The cap bounds what one
phrasing can do (at most ``cap`` z-units), so a stray phrasing cannot bury a far better
section, while a correction to an article the question does not find at all still works
when the phrasing is unambiguous. Only evidence *for* a section counts; with no phrasings the
ranking is exactly the one without.

Phrasings and questions are both embedded as queries, so the match is question to question,
and across languages (a Ukrainian phrasing of a Polish article helps the next Ukrainian
customer): the dense model is multilingual. Weight, margin and cap were chosen on the ``dev``
split of ``bench_data/learning`` together with a two-fold teach/score split of allegro_faq
**test-A** (never test-B): README, Learned phrasings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "PHRASING_CAP",
    "PHRASING_MARGIN",
    "PHRASING_WEIGHT",
    "PhrasingIndex",
    "PhrasingTarget",
    "phrasing_bonus",
]

PHRASING_WEIGHT = 1.0
"""Weight of the phrasing evidence, in dense z-score units (see module docstring)."""

PHRASING_MARGIN = 0.0
"""Cosine by which the nearest phrasing must beat both bars (see module docstring)."""

PHRASING_CAP = 2.0
"""Largest evidence one phrasing gives, in dense z-score units (see module docstring)."""


@dataclass(frozen=True)
class PhrasingTarget:
    """Where a phrasing points: a section (found again by anchor after a republish), or an
    article as a whole when ``section_id`` is None."""

    article_id: str
    locale: str | None = None
    section_id: str | None = None
    anchor: str | None = None


@dataclass
class PhrasingIndex:
    """The vectors of the active phrasings, each with its target. Immutable once built: an
    update builds a new one and the owner swaps the reference, as for index generations."""

    revision: int
    targets: list[PhrasingTarget]
    vectors: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))

    def __len__(self) -> int:
        return len(self.targets)


def phrasing_bonus(
    cosines: NDArray[np.floating],
    targets: list[PhrasingTarget],
    rows: list[list[int]],
    dense: tuple[float, float, int],
    *,
    margin: float = PHRASING_MARGIN,
    cap: float = PHRASING_CAP,
) -> NDArray[np.float32] | None:
    """Per-section evidence from the nearest phrasing (module docstring); None when none.

    ``cosines[j]`` is the question's cosine with phrasing j, ``targets[j]`` what it points at,
    ``rows[j]`` the sections it stands for, ``dense`` the standard deviation and the largest of
    the question's cosines with every section, and the number of sections (above the ANN
    threshold the search estimates the first and takes the second from the IVF's best)."""
    cosines = np.asarray(cosines)
    spread, best, size = dense
    if spread <= 1e-12 or cosines.size == 0:
        return None
    nearest = int(np.argmax(cosines))
    if not rows[nearest]:
        return None
    article = targets[nearest].article_id
    others = [c for c, t in zip(cosines.tolist(), targets, strict=True) if t.article_id != article]
    bar = max([best, *others])
    lead = (float(cosines[nearest]) - bar - margin) / spread
    if lead <= 0:
        return None
    bonus = np.zeros(size, dtype=np.float32)
    bonus[rows[nearest]] = min(lead, cap)
    return bonus
