"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from kb_service.config import Settings
from kb_service.db import make_engine


def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = make_engine(Settings(data_dir=tmp_path))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    assert "alembic_version" in inspect(engine).get_table_names()


def test_migrating_twice_is_harmless(tmp_path: Path) -> None:
    make_engine(Settings(data_dir=tmp_path))
    engine = make_engine(Settings(data_dir=tmp_path))
    assert "article" in inspect(engine).get_table_names()
