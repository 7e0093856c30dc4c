"""``kb import`` / ``kb export``: Markdown files with YAML front matter, round-tripping.

Front matter: ``id``, ``title``, ``locale`` (required); ``tags``, ``keywords``, ``synonyms``
(lists, the same rules as tags; indexed with the article's sections), ``translation_of``,
``visibility`` (public|internal), ``key`` (optional). Unknown fields are kept and written back.
Tags, keywords and synonyms belong to the article: only the original's front matter sets them.
A translation file names its article in ``translation_of``; its own ``id`` is only a file id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from sqlmodel import Session, select

from kb_service.errors import KbError, ValidationFailed
from kb_service.models import Article, Translation, Visibility
from kb_service.services import articles, publishing
from kb_service.services.publishing import Actor
from kb_service.validation import (
    MAX_ARTICLE_CHARS,
    check_article_id,
    check_article_key,
    check_locale,
    check_nested_text,
    check_tags,
    check_text,
    check_title,
    text_problem,
)

_TERM_FIELDS = ("tags", "keywords", "synonyms")
_KNOWN_FIELDS = {
    "id",
    "title",
    "locale",
    *_TERM_FIELDS,
    "translation_of",
    "visibility",
    "key",
    "review_by",
}


@dataclass(frozen=True)
class ArticleFile:
    path: Path
    article_id: str
    title: str
    locale: str
    body: str
    tags: list[str]
    translation_of: str | None
    visibility: Visibility
    key: str | None
    meta: dict[str, Any]
    keywords: list[str] = field(default_factory=list)
    synonyms: list[str] = field(default_factory=list)
    review_by: date | None = None


@dataclass(frozen=True)
class FileProblem:
    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class ImportReport:
    files: int = 0
    articles_created: int = 0
    versions_created: int = 0
    unchanged: int = 0
    problems: list[FileProblem] = field(default_factory=list)


def article_folder(directory: Path) -> Path:
    """Accept a dataset root (with ``articles/``) as well as the articles folder itself."""
    nested = directory / "articles"
    return nested if nested.is_dir() else directory


def read_article_file(path: Path) -> ArticleFile:
    """Parse one file; raises ``FileProblemError`` naming the line and the reason."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        raise FileProblemError(FileProblem(path, 1, "missing YAML front matter ('---' block)"))
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        # The context mark is where the broken construct starts (e.g. an unclosed "["); the YAML
        # text frontmatter parses keeps the newline after "---", so 0-based + 1 is the file line.
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise FileProblemError(
            FileProblem(path, line, f"invalid YAML: {_first_line(exc)}")
        ) from exc
    return _to_article_file(path, text, dict(post.metadata), post.content)


class FileProblemError(Exception):
    def __init__(self, problem: FileProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _to_article_file(path: Path, text: str, meta: dict[str, Any], body: str) -> ArticleFile:
    def fail(name: str, reason: str) -> FileProblemError:
        return FileProblemError(FileProblem(path, _line_of(text, name), reason))

    for name in ("id", "title", "locale"):
        if not isinstance(meta.get(name), str | int) or not str(meta[name]).strip():
            raise fail(name, f"front matter field '{name}' is missing or empty")
    terms: dict[str, list[str]] = {}
    for name in _TERM_FIELDS:
        values = meta.get(name) or []
        if not isinstance(values, list) or not all(isinstance(t, str | int) for t in values):
            raise fail(name, f"'{name}' must be a list of strings")
        terms[name] = [str(t) for t in values]
    visibility = str(meta.get("visibility", "public"))
    if visibility not in {v.value for v in Visibility}:
        raise fail("visibility", "'visibility' must be 'public' or 'internal'")
    review_by = meta.get("review_by")
    if review_by is not None and not isinstance(review_by, date):
        try:
            review_by = date.fromisoformat(str(review_by))
        except ValueError:
            raise fail("review_by", "'review_by' must be a date (YYYY-MM-DD)") from None
    if not body.strip():
        raise fail("---", "the article body is empty")
    translation_of = meta.get("translation_of")
    item = ArticleFile(
        path=path,
        article_id=str(translation_of or meta["id"]),
        title=str(meta["title"]).strip(),
        locale=str(meta["locale"]).strip(),
        body=body,
        tags=terms["tags"],
        keywords=terms["keywords"],
        synonyms=terms["synonyms"],
        translation_of=str(translation_of) if translation_of else None,
        visibility=Visibility(visibility),
        key=str(meta["key"]) if meta.get("key") else None,
        meta={k: v for k, v in meta.items() if k not in _KNOWN_FIELDS},
        review_by=review_by,
    )
    _check_rules(item, text)
    return item


def _check_rules(item: ArticleFile, text: str) -> None:
    """The API's input rules (``kb_service.validation``), reported at the field's line."""
    checks: list[tuple[str, Callable[[], None]]] = [
        (
            "translation_of" if item.translation_of else "id",
            lambda: check_article_id(item.article_id),
        ),
        ("title", lambda: check_title(item.title)),
        ("locale", lambda: check_locale(item.locale)),
        ("tags", lambda: check_tags(item.tags)),
        ("keywords", lambda: check_tags(item.keywords, "keyword")),
        ("synonyms", lambda: check_tags(item.synonyms, "synonym")),
        ("key", lambda: check_article_key(item.key) if item.key else None),
        # Unknown front matter fields are stored too (and exported back).
        *(
            (name, partial(check_nested_text, value, f"front matter field {name!r}"))
            for name, value in item.meta.items()
        ),
        ("---", lambda: check_text(item.body, "article body")),
    ]
    for name, check in checks:
        try:
            check()
        except ValidationFailed as exc:
            line = _body_line(text) if name == "---" else _line_of(text, name)
            raise FileProblemError(FileProblem(item.path, line, exc.detail)) from exc


def _body_line(text: str) -> int:
    """The first line after the front matter with a character that cannot be stored."""
    lines = text.split("\n")
    end = next((n for n, line in enumerate(lines[1:], start=1) if line.strip() == "---"), 0)
    return next((n + 1 for n, line in enumerate(lines) if n > end and text_problem(line)), end + 1)


def import_folder(
    session: Session,
    directory: Path,
    *,
    actor: Actor,
    max_chars: int = MAX_ARTICLE_CHARS,
) -> ImportReport:
    """Publish every good file; report the bad ones by file and line, and go on."""
    report = ImportReport()
    parsed: list[ArticleFile] = []
    for path in sorted(article_folder(directory).rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        report.files += 1
        try:
            parsed.append(read_article_file(path))
        except FileProblemError as problem:
            report.problems.append(problem.problem)
        except UnicodeDecodeError:
            report.problems.append(FileProblem(path, 1, "not UTF-8 text"))
    # Originals before translations, so ``translation_of`` finds its article.
    for item in sorted(parsed, key=lambda a: a.translation_of is not None):
        try:
            _import_one(session, item, actor, max_chars, report)
        except KbError as exc:
            session.rollback()
            report.problems.append(FileProblem(item.path, 1, exc.detail))
    return report


def _import_one(
    session: Session, item: ArticleFile, actor: Actor, max_chars: int, report: ImportReport
) -> None:
    article = session.get(Article, item.article_id)
    if article is None:
        if item.translation_of:
            raise KbError(f"translation_of names an unknown article {item.translation_of!r}")
        article = publishing.create_article(
            session,
            actor=actor,
            article_id=item.article_id,
            locale=item.locale,
            title=item.title,
            markdown=item.body,
            tags=item.tags,
            keywords=item.keywords,
            synonyms=item.synonyms,
            visibility=item.visibility,
            key=item.key,
        )
        report.articles_created += 1
    if not item.translation_of and (
        article.tags != item.tags
        or article.keywords != item.keywords
        or article.synonyms != item.synonyms
        or article.meta != item.meta
        or article.visibility != item.visibility
        or article.review_by != item.review_by
    ):
        # The operator's import skips review; a visibility change is still audited and raises
        # the KB revision, so that serving indexes learn of it.
        publishing.update_article_meta(
            session,
            actor=actor,
            article_id=article.id,
            tags=item.tags,
            keywords=item.keywords,
            synonyms=item.synonyms,
            visibility=item.visibility,
            may_change_visibility=True,
            meta=item.meta,
            review_by=item.review_by,
        )
    version = publishing.publish_direct(
        session,
        actor=actor,
        article_id=item.article_id,
        locale=item.locale,
        title=item.title,
        markdown=item.body,
        max_chars=max_chars,
    )
    if version is None:
        report.unchanged += 1
    else:
        report.versions_created += 1
    if item.translation_of:
        _mark_source_locale(session, item)


def _mark_source_locale(session: Session, item: ArticleFile) -> None:
    translations = articles.translations_of(session, item.article_id)
    source = next(
        (t for t in translations if t.translation_of_locale is None and t.locale != item.locale),
        None,
    )
    mine = next(t for t in translations if t.locale == item.locale)
    if source and mine.translation_of_locale != source.locale:
        mine.translation_of_locale = source.locale
        session.add(mine)
        session.commit()


def export_folder(session: Session, directory: Path) -> int:
    """Write every live version as a Markdown file; returns the number of files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = 0
    for article in session.exec(select(Article).order_by(Article.id)):
        for translation in articles.translations_of(session, article.id):
            version = articles.live_version(session, translation)
            if version is None:
                continue
            name, meta = _export_meta(article, translation, version.title)
            post = frontmatter.Post(version.markdown, **meta)
            text = frontmatter.dumps(post, sort_keys=False, allow_unicode=True)
            (directory / f"{name}.md").write_text(text + "\n", encoding="utf-8")
            written += 1
    return written


def _export_meta(
    article: Article, translation: Translation, title: str
) -> tuple[str, dict[str, Any]]:
    is_translation = translation.translation_of_locale is not None
    name = f"{article.id}.{translation.locale}" if is_translation else article.id
    meta: dict[str, Any] = {"id": name, "title": title, "locale": translation.locale}
    for field_name, values in (
        ("tags", article.tags),
        ("keywords", article.keywords),
        ("synonyms", article.synonyms),
    ):
        if values:  # on translations too (as editors write them), though only originals set them
            meta[field_name] = values
    if is_translation:
        meta["translation_of"] = article.id
    if article.visibility != Visibility.public:
        meta["visibility"] = article.visibility.value
    meta["key"] = article.key
    if article.review_by is not None:
        meta["review_by"] = article.review_by.isoformat()
    meta.update(article.meta)
    return name, meta


def _line_of(text: str, field_name: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{field_name}:") or line.strip() == field_name:
            return number
    return 1


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
