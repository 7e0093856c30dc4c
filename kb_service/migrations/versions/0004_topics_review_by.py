"""topics of questions (topic, questiontopic) and an article's review-by date

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_by", sa.Date(), nullable=True))
    op.create_table(
        "topic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("article_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("centroid", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_topic_article_id"), ["article_id"], unique=False)
    op.create_table(
        "questiontopic",
        sa.Column("answer_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["answer_id"], ["answerrecord.id"]),
        sa.ForeignKeyConstraint(["topic_id"], ["topic.id"]),
        sa.PrimaryKeyConstraint("answer_id"),
    )
    with op.batch_alter_table("questiontopic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_questiontopic_topic_id"), ["topic_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("questiontopic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questiontopic_topic_id"))
    op.drop_table("questiontopic")
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topic_article_id"))
    op.drop_table("topic")
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.drop_column("review_by")
