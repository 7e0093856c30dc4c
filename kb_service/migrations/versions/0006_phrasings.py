"""learned phrasings: customers' questions confirmed or corrected by feedback

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("kbstate", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("phrasing_revision", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "phrasing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("section_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("anchor", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column(
            "status",
            sa.Enum("active", "suggested", "rejected", name="phrasingstatus"),
            nullable=False,
        ),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("answer_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("reviewed_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("phrasing", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phrasing_answer_id"), ["answer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_phrasing_article_id"), ["article_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_phrasing_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("phrasing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_phrasing_status"))
        batch_op.drop_index(batch_op.f("ix_phrasing_article_id"))
        batch_op.drop_index(batch_op.f("ix_phrasing_answer_id"))
    op.drop_table("phrasing")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TYPE IF EXISTS phrasingstatus")
    with op.batch_alter_table("kbstate", schema=None) as batch_op:
        batch_op.drop_column("phrasing_revision")
