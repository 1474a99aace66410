"""Opt-outs, text quotas and texts sent.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opt_outs",
        sa.Column("number_hash", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "text_quota",
        sa.Column("bucket", sa.String(100), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "texts_sent",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("message_sid", sa.String(64)),
        sa.Column("status", sa.String(20)),
        sa.Column("error_code", sa.String(10)),
    )
    op.create_index("ix_texts_sent_number_hash", "texts_sent", ["number_hash"])
    op.create_index("ix_texts_sent_created_at", "texts_sent", ["created_at"])
    op.create_index("ix_texts_sent_message_sid", "texts_sent", ["message_sid"])


def downgrade() -> None:
    op.drop_table("texts_sent")
    op.drop_table("text_quota")
    op.drop_table("opt_outs")
