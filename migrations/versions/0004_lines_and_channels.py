"""Lines and channels: usage events name the line (IVR_LINES_FILE) and may be WhatsApp; opt-outs are per channel.

An SMS STOP does not silence WhatsApp, and the reverse: opt_outs is keyed by (number_hash, channel).
Every opt-out recorded before this revision was made by text (or by Twilio reporting one), so it
becomes an SMS opt-out.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        batch.alter_column("channel", type_=sa.String(10), existing_type=sa.String(5), existing_nullable=False)
        batch.add_column(sa.Column("line", sa.String(20)))
    with op.batch_alter_table("texts_sent") as batch:
        batch.add_column(sa.Column("line", sa.String(20)))
    # A new primary key: a new table, copied, on SQLite and PostgreSQL alike.
    op.create_table(
        "opt_outs_by_channel",
        sa.Column("number_hash", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(10), primary_key=True, server_default="sms"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute("INSERT INTO opt_outs_by_channel (number_hash, channel, created_at) SELECT number_hash, 'sms', created_at FROM opt_outs")
    op.drop_table("opt_outs")
    op.rename_table("opt_outs_by_channel", "opt_outs")


def downgrade() -> None:
    op.create_table(
        "opt_outs_any_channel",
        sa.Column("number_hash", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO opt_outs_any_channel (number_hash, created_at) SELECT number_hash, MIN(created_at) FROM opt_outs GROUP BY number_hash"
    )
    op.drop_table("opt_outs")
    op.rename_table("opt_outs_any_channel", "opt_outs")
    with op.batch_alter_table("texts_sent") as batch:
        batch.drop_column("line")
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("line")
        batch.alter_column("channel", type_=sa.String(5), existing_type=sa.String(10), existing_nullable=False)
