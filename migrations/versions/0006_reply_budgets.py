"""Reply budgets and the word of each opt-out.

reply_counters: the counters behind the reply budgets (ivr/store/reply_budget.py), keyed by a keyed
hash and the start of a window. opt_outs.word and opt_outs.by_twilio: which word opted out, and
whether Twilio's own opt-out acted on it too (then only Twilio's opt-in words lift it). Opt-outs
recorded before this revision keep NULL: treated as Twilio's, the safe side.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reply_counters",
        sa.Column("scope", sa.String(10), primary_key=True),
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("window_start", sa.BigInteger, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_index("ix_reply_counters_window", "reply_counters", ["window_start"])
    with op.batch_alter_table("opt_outs") as batch:
        batch.add_column(sa.Column("word", sa.String(20)))
        batch.add_column(sa.Column("by_twilio", sa.Boolean))


def downgrade() -> None:
    with op.batch_alter_table("opt_outs") as batch:
        batch.drop_column("by_twilio")
        batch.drop_column("word")
    op.drop_index("ix_reply_counters_window", "reply_counters")
    op.drop_table("reply_counters")
