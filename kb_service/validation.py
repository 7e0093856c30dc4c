"""Input rules, in one place: what an id, a locale, a tag, a title or a number may look like.

Services call the ``check_*`` functions (for the CLI and imports as much as for HTTP); the API
shapes and route parameters use the same rules through the ``Annotated`` types, so a bad value
is refused with 422 before any work is done.

Every string that reaches storage is *storable*: valid Unicode (no lone surrogates, which cannot
be encoded as UTF-8 and so break every later read) and free of control characters. Multi-line
text (Markdown, questions, comments) may keep tab, line feed and carriage return; single-line
text (ids, titles, tags, names) keeps none. Every integer is one the database can hold (a
signed 64-bit INTEGER).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from annotated_types import Interval
from pydantic import (
    AfterValidator,
    BeforeValidator,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from indexer.locales import LOCALE_JSON_PATTERN, MAX_LOCALE_CHARS, is_locale
from kb_service.errors import ValidationFailed

ARTICLE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}")
# Spoken keys ("KB-0042") are looked up where ids are (``GET /v1/articles/{id_or_key}``).
ARTICLE_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}")
MAX_TITLE_CHARS = 200
MAX_TAG_CHARS = 100
MAX_CUSTOMER_ID_CHARS = 200
MAX_ARTICLE_CHARS = 200_000
"""Default limit of an article body (``KB_MAX_ARTICLE_CHARS``): far above any help article,
low enough that one edit cannot stall the indexer."""
MAX_DB_INT = 2**31 - 1
MIN_DB_INT = -(2**31)
"""What an INTEGER column holds on every engine (PostgreSQL INTEGER is 32-bit; SQLite 64), and
what every JSON client reads exactly: larger numbers are refused (422) before any query."""

# Unicode category Cc (C0, DEL, C1) and lone surrogates (Cs). Multi-line text keeps \t \n \r.
_TEXT_BANNED = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
# Single-line text: no control character at all, nor the Unicode line and paragraph separators.
_LINE_BANNED = r"\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
_NOT_TEXT = re.compile(f"[{_TEXT_BANNED}]")
_NOT_LINE = re.compile(f"[{_LINE_BANNED}]")
# The same rules as JSON Schema patterns (ECMA-262 reads these escapes as Python does), so the
# OpenAPI document states what is accepted. A customer id also fits one URL path segment.
TEXT_PATTERN = f"^[^{_TEXT_BANNED}]*$"
LINE_PATTERN = f"^[^{_LINE_BANNED}]*$"
TAG_PATTERN = f"^[^{_LINE_BANNED}]*[^\\s{_LINE_BANNED}][^{_LINE_BANNED}]*$"
# Invisible and direction-changing characters (zero-width, bidi controls, BOM) would let two ids
# look alike; ids of customers take none.
_ID_BANNED = _LINE_BANNED + r"\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff/\\"
CUSTOMER_ID_PATTERN = f"^(?!\\.\\.?$)[^\\s{_ID_BANNED}](?:[^{_ID_BANNED}]*[^\\s{_ID_BANNED}])?$"
_CUSTOMER_ID = re.compile(CUSTOMER_ID_PATTERN)


# ---------------------------------------------------------------- the rules (None: fine)


def _unstorable(value: str, pattern: re.Pattern[str]) -> str | None:
    found = pattern.search(value)
    if found is None:
        return None
    code = ord(found.group())
    kind = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
    if found.group() in "\n\r\u2028\u2029":
        kind = "a line break"
    return f"contains {kind} (U+{code:04X}) at position {found.start()}"


def text_problem(value: str) -> str | None:
    """Multi-line text (Markdown, a question, a comment): storable, newlines allowed."""
    return _unstorable(value, _NOT_TEXT)


def line_problem(value: str) -> str | None:
    """Single-line text (a title, a tag, a name): storable, no line breaks or controls."""
    return _unstorable(value, _NOT_LINE)


def locale_problem(value: str) -> str | None:
    return None if is_locale(value) else "not a BCP 47 locale such as 'pl-PL'"


def article_id_problem(value: str) -> str | None:
    if ARTICLE_ID_PATTERN.fullmatch(value):
        return None
    return "use letters, digits, '.', '_' or '-' (max 120), starting with a letter or digit"


def article_key_problem(value: str) -> str | None:
    if ARTICLE_KEY_PATTERN.fullmatch(value):
        return None
    return "use letters, digits, '.', '_' or '-' (max 20), such as 'KB-0042'"


def tag_problem(value: str) -> str | None:
    if not value.strip():
        return "a tag cannot be empty"
    if len(value) > MAX_TAG_CHARS:
        return f"a tag has at most {MAX_TAG_CHARS} characters"
    return line_problem(value)


def customer_id_problem(value: str) -> str | None:
    """A customer id appears in paths (``/v1/customers/{customer_id}``), so it must fit one."""
    if not value or len(value) > MAX_CUSTOMER_ID_CHARS:
        return f"use 1 to {MAX_CUSTOMER_ID_CHARS} characters"
    if value != value.strip():
        return "no leading or trailing spaces"
    if (problem := line_problem(value)) is not None:
        return problem
    if _CUSTOMER_ID.fullmatch(value) is None:
        return (
            "no '/' or '\\', no invisible characters, and not '.' or '..' (it must fit in a URL "
            "path segment)"
        )
    return None


_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9a-f:]+\](:[0-9]{1,5})?")


def origin_problem(value: str) -> str | None:
    """A web origin exactly as browsers send it: ``https://shop.example[:port]``, no path."""
    if _ORIGIN.fullmatch(value) is None:
        return "use scheme://host[:port] in lower case, without a path, e.g. https://shop.example"
    return None


def strings_in(value: object) -> Iterator[str]:
    """Every string in a value: itself, or the items, keys and values of its containers."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)


def nested_text_problem(value: object) -> str | None:
    """The first problem of any string inside ``value`` as multi-line text."""
    return next((p for text in strings_in(value) if (p := text_problem(text))), None)


def db_int_problem(value: int) -> str | None:
    if MIN_DB_INT <= value <= MAX_DB_INT:
        return None
    return f"must be between {MIN_DB_INT} and {MAX_DB_INT}"


# ---------------------------------------------------------------- for services (CLI, import)


def _refuse(problem: str | None, what: str) -> None:
    if problem is not None:
        raise ValidationFailed(f"Invalid {what}: {problem}.")


def check_locale(locale: str | None) -> None:
    """Refuse anything but a BCP 47 tag (None means "not given" and passes)."""
    if locale is not None and not is_locale(locale):
        raise ValidationFailed(f"Invalid locale {locale!r}: use a BCP 47 tag such as 'pl-PL'.")


def check_article_id(article_id: str) -> None:
    if article_id_problem(article_id):
        raise ValidationFailed(
            f"Invalid article id {article_id!r}: use letters, digits, '.', '_' or '-' (max 120)."
        )


def check_article_key(key: str) -> None:
    _refuse(article_key_problem(key), f"article key {key!r}")


def check_text(value: str, what: str) -> None:
    """Multi-line text that will be stored (Markdown, comments)."""
    _refuse(text_problem(value), what)


def check_line(value: str, what: str) -> None:
    """Single-line text that will be stored (names)."""
    _refuse(line_problem(value), what)


def check_title(title: str) -> None:
    if len(title) > MAX_TITLE_CHARS:
        raise ValidationFailed(f"Invalid title: at most {MAX_TITLE_CHARS} characters.")
    check_line(title, "title")


def check_tags(tags: list[str], what: str = "tag") -> None:
    """Tags, and the keywords and synonyms that follow the same rules (``what`` names them)."""
    for tag in tags:
        _refuse(tag_problem(tag), f"{what} {tag!r}")


def check_customer_id(customer_id: str) -> None:
    _refuse(customer_id_problem(customer_id), f"customer id {customer_id!r}")


def check_origins(origins: list[str]) -> None:
    for origin in origins:
        _refuse(origin_problem(origin), f"origin {origin!r}")


def check_nested_text(value: object, what: str) -> None:
    """Every string inside a structure that will be stored (e.g. extra front matter)."""
    _refuse(nested_text_problem(value), what)


def check_db_int(value: int, what: str) -> None:
    _refuse(db_int_problem(value), what)


# ---------------------------------------------------------------- for API shapes and parameters


def _before(rule: Any) -> BeforeValidator:
    """A validator that runs before pydantic's own str checks (which choke on surrogates with
    an obscure message) and leaves non-strings to them."""

    def validate(value: object) -> object:
        if isinstance(value, str) and (problem := rule(value)) is not None:
            raise ValueError(problem)
        return value

    return BeforeValidator(validate)


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


@dataclass(frozen=True)
class _Stated:
    """States a rule in the OpenAPI document as a JSON Schema ``pattern``, keeping the other
    constraints: schemathesis (and any client) then knows which values are accepted."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


Text = Annotated[str, _before(text_problem), _Stated(TEXT_PATTERN)]
"""Multi-line text that is stored: Markdown, questions, comments, feedback."""

Markdown = Text
"""An article body (its length limit is checked at publish: ``KB_MAX_ARTICLE_CHARS``)."""

Line = Annotated[str, _before(line_problem), _Stated(LINE_PATTERN)]
"""Single-line text that is stored: names, conversation ids."""

Title = Annotated[
    str,
    _before(line_problem),
    StringConstraints(max_length=MAX_TITLE_CHARS),
    _Stated(LINE_PATTERN),
]

Tag = Annotated[
    str,
    _before(tag_problem),
    StringConstraints(min_length=1, max_length=MAX_TAG_CHARS),
    _Stated(TAG_PATTERN),
]

ArticleId = Annotated[
    str,
    _before(article_id_problem),
    StringConstraints(min_length=1, max_length=120),
    # The rule, stated in the OpenAPI document too: a value that fits it is accepted.
    WithJsonSchema({"type": "string", "pattern": f"^{ARTICLE_ID_PATTERN.pattern}$"}),
]
"""An article id; in a path also its spoken key (``KB-0042``), which follows the same rule."""

CustomerId = Annotated[
    str,
    _before(customer_id_problem),
    StringConstraints(min_length=1, max_length=MAX_CUSTOMER_ID_CHARS),
    _Stated(CUSTOMER_ID_PATTERN),
]
"""The caller's id of a customer: no control characters, no '/', fits one URL path segment."""

Origin = Annotated[str, _before(origin_problem), _Stated(f"^(?:{_ORIGIN.pattern})$")]
"""A web origin a widget key may be used from."""

DbInt = Annotated[int, Interval(ge=MIN_DB_INT, le=MAX_DB_INT)]
"""Any integer from a path, query or body: one the database can store (signed 64-bit)."""
