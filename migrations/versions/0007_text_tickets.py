""" "Text me" tickets: the outcome of a send that outlived its first answer, for any instance to read.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "text_tickets",
        sa.Column("ticket", sa.String(32), primary_key=True),
        sa.Column("call_ref", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(20)),
    )
    op.create_index("ix_text_tickets_created_at", "text_tickets", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_text_tickets_created_at", table_name="text_tickets")
    op.drop_table("text_tickets")
