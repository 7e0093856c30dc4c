"""What differs per channel besides the rendering: when to abstain, and what to do instead.

A light module on purpose: ``Settings`` reads its defaults from here. Which channels are public
(no internal articles) is decided with the other read permissions, in ``services.access``.
"""

from __future__ import annotations

from kb_service.rendering import Channel

MIN_CONFIDENCE: dict[Channel, float] = {"chat": 0.3, "email": 0.3, "phone": 0.35, "social": 0.35}
"""Below these confidences an answer abstains (``no_answer``) instead of guessing; phone and
social are stricter because a wrong spoken or public answer cannot be quietly corrected."""

HANDOFF_SUGGESTIONS: dict[Channel, str] = {
    "chat": "Offer a transfer to a human agent.",
    "email": "Answer this email by hand; the question is kept for the gap report.",
    "phone": "Transfer the call to a specialist.",
    "social": "Invite the customer to a private message.",
}
