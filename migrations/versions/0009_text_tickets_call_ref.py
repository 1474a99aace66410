""" "Text me" tickets found by their call: an index on text_tickets.call_ref.

Every "text me" reads the rows of its own call (a text sent earlier in it is not sent again) while
the caller waits; without the index that read scans every ticket of the last two days.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_text_tickets_call_ref", "text_tickets", ["call_ref"])


def downgrade() -> None:
    op.drop_index("ix_text_tickets_call_ref", table_name="text_tickets")
