"""Input rules, in one place: what an id, a locale or a title may look like.

Services call the ``check_*`` functions (for the CLI and imports as much as for HTTP); the API
shapes use the same rules through the ``Annotated`` types, so a bad value is refused with 422
before any work is done.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

from indexer.locales import LOCALE_JSON_PATTERN, MAX_LOCALE_CHARS, is_locale
from kb_service.errors import ValidationFailed

ARTICLE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}")
MAX_TITLE_CHARS = 200
MAX_ARTICLE_CHARS = 200_000
"""Default limit of an article body (``KB_MAX_ARTICLE_CHARS``): far above any help article,
low enough that one edit cannot stall the indexer."""


def check_locale(locale: str | None) -> None:
    """Refuse anything but a BCP 47 tag (None means "not given" and passes)."""
    if locale is not None and not is_locale(locale):
        raise ValidationFailed(f"Invalid locale {locale!r}: use a BCP 47 tag such as 'pl-PL'.")


def check_article_id(article_id: str) -> None:
    if not ARTICLE_ID_PATTERN.fullmatch(article_id):
        raise ValidationFailed(
            f"Invalid article id {article_id!r}: use letters, digits, '.', '_' or '-' (max 120)."
        )


def _article_id(value: str) -> str:
    if not ARTICLE_ID_PATTERN.fullmatch(value):
        raise ValueError(
            "use letters, digits, '.', '_' or '-' (max 120), starting with one of the first two"
        )
    return value


ArticleId = Annotated[
    str,
    AfterValidator(_article_id),
    WithJsonSchema({"type": "string", "pattern": f"^{ARTICLE_ID_PATTERN.pattern}$"}),
]
"""An article id in an API shape; the rule is stated in the OpenAPI document too."""


def _locale(value: str) -> str:
    if not is_locale(value):
        raise ValueError("not a BCP 47 locale such as 'pl-PL'")
    return value


Locale = Annotated[
    str,
    AfterValidator(_locale),
    # The rule, stated in the OpenAPI document too: a value that fits it is accepted.
    WithJsonSchema(
        {"type": "string", "pattern": LOCALE_JSON_PATTERN, "maxLength": MAX_LOCALE_CHARS}
    ),
]
"""A BCP 47 locale in an API shape or parameter."""
