"""Render one canonical knowledge-base section for chat, email, phone or social.

render("phone", RenderInput(...))   -> PhoneRendering
render_no_answer("chat", "pl-PL")    -> ChatRendering with a handoff message
"""

from collections.abc import Callable

from . import chat, email, phone, social
from .types import (
    Channel,
    ChatRendering,
    EmailRendering,
    PhoneRendering,
    Rendering,
    RenderInput,
    SocialRendering,
)

__all__ = [
    "Channel",
    "ChatRendering",
    "EmailRendering",
    "PhoneRendering",
    "RenderInput",
    "Rendering",
    "SocialRendering",
    "render",
    "render_no_answer",
]

_RENDERERS: dict[Channel, Callable[[RenderInput], Rendering]] = {
    "chat": chat.render,
    "email": email.render,
    "phone": phone.render,
    "social": social.render,
}
_NO_ANSWER: dict[Channel, Callable[[str], Rendering]] = {
    "chat": chat.render_no_answer,
    "email": email.render_no_answer,
    "phone": phone.render_no_answer,
    "social": social.render_no_answer,
}


def render(channel: Channel, inp: RenderInput) -> Rendering:
    """The section rendered for one channel; raises KeyError for an unknown channel."""
    return _RENDERERS[channel](inp)


def render_no_answer(channel: Channel, locale: str) -> Rendering:
    """The channel's handoff message when the knowledge base has no answer (abstention)."""
    return _NO_ANSWER[channel](locale)
