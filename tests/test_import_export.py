"""``kb import`` / ``kb export``: round trips, idempotence, bad files reported by line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import frontmatter
import pytest
from sqlmodel import Session, func, select

from kb_service.config import Settings
from kb_service.db import make_engine
from kb_service.models import Article, ArticleVersion, Translation, Visibility, WorkflowEvent
from kb_service.services.articles import kb_revision
from kb_service.services.content_io import export_folder, import_folder
from kb_service.services.publishing import Actor
from tests.conftest import ALLEGRO, CONTENT

OPERATOR = Actor("test")


def _bodies(folder: Path) -> dict[tuple[str, str], str]:
    out = {}
    for path in folder.glob("*.md"):
        if path.name.lower() == "readme.md":
            continue
        post = frontmatter.load(path)
        article = str(post.get("translation_of") or post["id"])
        out[(article, str(post["locale"]))] = post.content.strip()
    return out


def _versions(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(ArticleVersion)).one())


def test_demo_content_imports_and_round_trips(settings: Settings, tmp_path: Path) -> None:
    engine = make_engine(settings)
    with Session(engine) as session:
        report = import_folder(session, CONTENT, actor=OPERATOR)
        assert not report.problems, report.problems
        assert report.articles_created >= 24
        revision = kb_revision(session)
        again = import_folder(session, CONTENT, actor=OPERATOR)
        assert again.versions_created == 0 and again.unchanged == report.versions_created
        assert kb_revision(session) == revision
        internal = session.get(Article, "internal-complaint-escalation")
        assert internal is not None and internal.visibility == Visibility.internal
        pl = session.exec(
            select(Translation).where(
                Translation.article_id == "mobile-roaming", Translation.locale == "pl-PL"
            )
        ).one()
        assert pl.translation_of_locale == "en-GB"
        roaming = session.get(Article, "mobile-roaming")
        assert roaming is not None
        roaming_key = roaming.key
        export_folder(session, tmp_path / "out")
    expected = _bodies(CONTENT / "articles")
    assert len(expected) >= report.articles_created  # not two empty folders compared
    assert _bodies(tmp_path / "out") == expected
    # Exported articles import into a fresh KB with the same spoken keys. Only the roaming
    # ones: a fresh KB numbering the whole folder in the same order would match by chance,
    # while a key-less roaming article alone would get KB-0001.
    assert roaming_key != "KB-0001"
    subset = tmp_path / "subset"
    subset.mkdir()
    for path in (tmp_path / "out").glob("mobile-roaming*.md"):
        shutil.copy(path, subset)
    with Session(make_engine(Settings(data_dir=tmp_path / "other"))) as session:
        assert not import_folder(session, subset, actor=OPERATOR).problems
        again_roaming = session.get(Article, "mobile-roaming")
        assert again_roaming is not None and again_roaming.key == roaming_key


def test_bad_files_are_reported_by_line_and_good_ones_load(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.md").write_text("---\nid: good\ntitle: Good\nlocale: en-GB\n---\nFine.\n")
    (folder / "no-title.md").write_text("---\nid: nt\nlocale: en-GB\n---\nBody.\n")
    (folder / "bad-yaml.md").write_text("---\nid: by\ntitle: [oops\nlocale: en-GB\n---\nBody\n")
    (folder / "no-front.md").write_text("Just text.\n")
    (folder / "bad-locale.md").write_text("---\nid: bl\ntitle: X\nlocale: english\n---\nBody\n")
    (folder / "orphan.md").write_text(
        "---\nid: o.pl-PL\ntitle: X\nlocale: pl-PL\ntranslation_of: missing\n---\nBody\n"
    )
    with Session(make_engine(settings)) as session:
        report = import_folder(session, folder, actor=OPERATOR)
        assert session.get(Article, "good") is not None
    problems = {p.path.name: p for p in report.problems}
    assert set(problems) == {
        "no-title.md",
        "bad-yaml.md",
        "no-front.md",
        "bad-locale.md",
        "orphan.md",
    }
    assert "title" in problems["no-title.md"].reason
    assert problems["bad-yaml.md"].line == 3 and "YAML" in problems["bad-yaml.md"].reason
    assert problems["no-front.md"].line == 1
    assert "locale" in problems["bad-locale.md"].reason


def test_import_that_only_changes_visibility_raises_revision_and_is_audited(
    settings: Settings, tmp_path: Path
) -> None:
    """Otherwise a serving index never learns that an article became internal."""
    folder = tmp_path / "in"
    folder.mkdir()
    page = folder / "a.md"
    page.write_text("---\nid: a\ntitle: A\nlocale: en-GB\nvisibility: public\n---\nBody.\n")
    with Session(make_engine(settings)) as session:
        assert not import_folder(session, folder, actor=OPERATOR).problems
        revision = kb_revision(session)
        page.write_text(page.read_text().replace("public", "internal"))
        assert not import_folder(session, folder, actor=OPERATOR).problems
        article = session.get(Article, "a")
        assert article is not None and article.visibility == Visibility.internal
        assert kb_revision(session) == revision + 1
        events = session.exec(select(WorkflowEvent).where(WorkflowEvent.locale == "*")).all()
        assert [(e.actor, e.from_status, e.to_status) for e in events] == [
            ("test", "public", "internal")
        ]


def test_cli_import_reports_bad_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.md").write_text("---\nid: good\ntitle: Good\nlocale: en-GB\n---\nFine.\n")
    (folder / "broken.md").write_text("---\nid: b\nlocale: en-GB\n---\nBody\n")
    env = {**os.environ, "KB_DATA_DIR": str(tmp_path / "data")}
    kb = Path(sys.executable).parent / "kb"
    result = subprocess.run(
        [str(kb), "import", str(folder)], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "broken.md:" in result.stderr and "title" in result.stderr
    assert "1 new articles" in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(not ALLEGRO.is_dir(), reason="shared/eval/allegro_faq is not beside the repo")
def test_allegro_imports_921_articles_idempotently(settings: Settings, tmp_path: Path) -> None:
    with Session(make_engine(settings)) as session:
        report = import_folder(session, ALLEGRO / "articles", actor=OPERATOR)
        assert not report.problems
        assert int(session.exec(select(func.count()).select_from(Article)).one()) == 921
        versions = _versions(session)
        assert import_folder(session, ALLEGRO / "articles", actor=OPERATOR).versions_created == 0
        assert _versions(session) == versions
        export_folder(session, tmp_path / "out")
    expected = _bodies(ALLEGRO / "articles")
    assert len(expected) >= 921
    assert _bodies(tmp_path / "out") == expected
