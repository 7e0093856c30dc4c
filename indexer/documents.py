"""What the indexer is given (``SourceDocument``) and what it stores per section."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["heading_path"] = list(self.heading_path)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IndexedSection:
        return cls(**{**data, "heading_path": tuple(data["heading_path"])})

    def passage_text(self) -> str:
        """What the dense model and the keyword index see: title, heading path, body."""
        heading = " > ".join(self.heading_path)
        parts = [self.title, heading, self.text] if heading else [self.title, self.text]
        return "\n".join(p for p in parts if p)
