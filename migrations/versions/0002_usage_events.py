"""Usage events: what happened on each call and text, with a time and at most a keyed hash of the number.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(5), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("language", sa.String(5)),
        sa.Column("topic", sa.String(40)),
        sa.Column("outcome", sa.String(30)),
        sa.Column("keyword", sa.String(20)),
        sa.Column("input", sa.String(10)),
        sa.Column("number_hash", sa.String(64)),
        sa.Column("call_ref", sa.String(32)),
    )
    op.create_index("ix_usage_events_at", "usage_events", ["at"])
    op.create_index("ix_usage_events_event_at", "usage_events", ["event", "at"])
    op.create_index("ix_text_quota_created_at", "text_quota", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_text_quota_created_at", "text_quota")
    op.drop_table("usage_events")
