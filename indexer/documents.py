"""What the indexer is given (``SourceDocument``) and what it stores per section."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

TERMS_LABEL = "Tags: "
"""Starts the terms line of a passage (see ``terms_line``)."""


@dataclass(frozen=True)
class SourceDocument:
    """One live article version in one locale."""

    article_id: str
    key: str
    locale: str
    version: int
    title: str
    markdown: str
    content_hash: str
    internal: bool = False
    # The article's tags, keywords and synonyms (editors' words, often the customers' words
    # that the body lacks); indexed with every section of the article.
    terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndexedSection:
    section_id: str
    article_id: str
    key: str
    locale: str
    version: int
    title: str
    heading_path: tuple[str, ...]
    anchor: str
    text: str
    content_hash: str
    internal: bool
    position: int
    terms: tuple[str, ...] = ()  # SourceDocument.terms, when the index carries them

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["heading_path"] = list(self.heading_path)
        data["terms"] = list(self.terms)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexedSection:
        # Generations written before terms were indexed have no "terms": none were indexed.
        return cls(
            **{
                **data,
                "heading_path": tuple(data["heading_path"]),
                "terms": tuple(data.get("terms", ())),
            }
        )

    def passage_text(self) -> str:
        """What the dense model and the keyword index see: title, heading path, body, and one
        short line of the article's terms (so they count once, beside a whole section)."""
        heading = " > ".join(self.heading_path)
        parts = [self.title, heading, self.text, terms_line(self.terms)]
        return "\n".join(p for p in parts if p)

    def reuse_key(self) -> str:
        """What decides whether a previous generation's vector and tokens still fit: the
        section id covers title, heading path and text; the terms are added when present."""
        if not self.terms:
            return self.section_id
        encoded = json.dumps([self.section_id, list(self.terms)], ensure_ascii=False)
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def terms_line(terms: tuple[str, ...]) -> str:
    """The line of terms appended to every passage of the article ("" without terms)."""
    return f"{TERMS_LABEL}{', '.join(terms)}" if terms else ""
