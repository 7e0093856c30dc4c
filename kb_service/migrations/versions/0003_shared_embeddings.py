"""shared embeddings and revision notifications: what replicas on one database share

Section vectors are stored once per (model, passage hash), so a replica (or a rebuilt index)
never embeds what another already embedded. On PostgreSQL a trigger on ``kbstate`` sends
``NOTIFY kb_revision`` in the transaction that raises the KB revision; every replica LISTENs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION kb_revision_notify() RETURNS trigger AS $$
BEGIN
    IF NEW.revision IS DISTINCT FROM OLD.revision THEN
        PERFORM pg_notify('kb_revision', NEW.revision::text);
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table(
        "sectionembedding",
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("passage_hash", sa.String(length=64), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("view", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("model", "passage_hash"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(
            "CREATE TRIGGER kbstate_notify AFTER UPDATE ON kbstate "
            "FOR EACH ROW EXECUTE FUNCTION kb_revision_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS kbstate_notify ON kbstate")
        op.execute("DROP FUNCTION IF EXISTS kb_revision_notify()")
    op.drop_table("sectionembedding")
