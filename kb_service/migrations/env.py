"""Alembic environment: the tables are SQLModel's metadata; the URL comes from the caller."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from kb_service import models  # noqa: F401  (registers the tables)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("kb-service runs its migrations through kb_service.db.migrate()")
    # Batch mode lets SQLite alter tables (it cannot ALTER most things in place). DDL is
    # transactional: migrate() runs the whole upgrade in one transaction it began itself.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
