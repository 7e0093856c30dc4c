"""Learned phrasings: customers' questions that an answer was confirmed or corrected for.

A phrasing points at one section (or, without a section, at a whole article). The phrasing
index is small and separate from the section index: adding a phrasing embeds only that
question, never the knowledge base. At search time each section is also scored by its
nearest phrasing (the largest cosine between the question and the section's phrasings; a
nearest-neighbour vote), and that evidence is added to the fused score::

    bonus(section) = max(0, max_j cos(q, p_j) - threshold) / std(dense cosines of q)

i.e. how far the nearest phrasing is above the threshold, measured in the same unit as the
dense z-score (this question's spread of section cosines). Only evidence *for* a section
counts: a section without phrasings, or whose phrasings are far from the question, gets 0,
so it is not penalised, and with no phrasings at all the ranking is exactly the one without.

Phrasings and questions are both embedded as queries, so the match is question to question,
and across languages (a Ukrainian phrasing of a Polish article helps the next Ukrainian
customer): the dense model is multilingual. The weight and threshold were tuned on the teach
split of ``bench_data/learning`` (see README, Learned phrasings).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "PHRASING_THRESHOLD",
    "PHRASING_WEIGHT",
    "PhrasingIndex",
    "PhrasingTarget",
    "phrasing_bonus",
]

PHRASING_WEIGHT = 0.0
"""Weight of the phrasing evidence, in dense z-score units (see module docstring). Off (0) by
default: it helps on bench_data/learning at 1.0 but, with this fixed cosine threshold, hurts a
knowledge base of many similar questions (allegro_faq, README "Learned phrasings"); phrasings
are still learned, reviewed and exported, and ``KB_PHRASING_WEIGHT=1`` turns them on."""

PHRASING_THRESHOLD = 0.84
"""Question-to-phrasing cosine (multilingual-e5-small) below which a phrasing is no evidence."""


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
    rows: list[list[int]],
    spread: float,
    size: int,
    *,
    threshold: float = PHRASING_THRESHOLD,
) -> NDArray[np.float32] | None:
    """Per-section evidence from phrasings (see module docstring); None when there is none.

    ``cosines[j]`` is the question's cosine with phrasing j, ``rows[j]`` the sections phrasing
    j stands for, ``spread`` the standard deviation of the question's cosines with every
    section, ``size`` the number of sections."""
    if spread <= 1e-12:
        return None
    bonus = np.zeros(size, dtype=np.float32)
    found = False
    for j in np.flatnonzero(np.asarray(cosines) > threshold):
        targets = rows[int(j)]
        if targets:
            evidence = np.float32((float(cosines[j]) - threshold) / spread)
            np.maximum.at(bonus, targets, evidence)
            found = True
    return bonus if found else None
