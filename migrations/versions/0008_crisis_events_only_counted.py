"""Crisis events only in the per-day counts: their rows leave usage_events.

A crisis row carried no number hash and no call reference, but its time and its place among a call's
rows tied it to that call's first event, which carries the number's keyed hash. The per-day counts
already hold every one of them (0005 counted those stored before it; the writer, each one since), so
the rows are deleted and the code writes no more of them (counts.COUNTED_ONLY).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM usage_events WHERE event = 'crisis'")


def downgrade() -> None:
    pass  # the rows are gone for good, as intended; their counts stay in usage_daily
