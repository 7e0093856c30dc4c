"""widget keys: a public role bound to the web origins it may be used from

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # SQLite stores the enum as VARCHAR without a CHECK; PostgreSQL has a native type.
        op.execute("ALTER TYPE role ADD VALUE IF NOT EXISTS 'widget'")
    with op.batch_alter_table("apikey", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origins", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("apikey", schema=None) as batch_op:
        batch_op.drop_column("origins")
