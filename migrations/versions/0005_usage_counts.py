"""Per-day usage counts, built from the events already stored (in batches, with progress); an index for texts by status.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _key(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False, server_default="")


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("day", sa.Date, nullable=False),
        _key("channel", 10),
        _key("event", 20),
        _key("language", 5),
        _key("topic", 40),
        _key("outcome", 30),
        _key("keyword", 20),
        _key("line", 20),
        sa.Column("events", sa.BigInteger, nullable=False),
        sa.Column("numbered", sa.BigInteger, nullable=False),
        # the day last, the rows in key order on SQLite: a year's report reads them in its groups' order
        sa.PrimaryKeyConstraint("channel", "event", "topic", "outcome", "keyword", "language", "line", "day", name="pk_usage_daily"),
        sqlite_with_rowid=False,
    )
    if op.get_context().dialect.name == "postgresql":  # a few days out of years (SQLite finds them by its key)
        op.create_index("ix_usage_daily_day", "usage_daily", ["day"])
    op.create_table(
        "usage_daily_unique",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("measure", sa.String(20), nullable=False),
        _key("language", 5),
        _key("line", 20),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("day", "measure", "language", "line", name="pk_usage_daily_unique"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "usage_seen",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("measure", sa.String(20), nullable=False),
        _key("language", 5),
        _key("line", 20),
        sa.Column("ref", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("day", "measure", "language", "line", "ref", name="pk_usage_seen"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_texts_sent_report", "texts_sent", ["channel", "outcome", "status", "line", "created_at"])
    if context.is_offline_mode():
        return  # SQL scripts only create the tables; run `flask --app app usage recount --all` afterwards
    # Commit the new tables, then count the existing events a few days per transaction, so that
    # the old code (still serving during the release step) is never held off for long.
    with op.get_context().autocommit_block():
        from ivr.store.recount import echo_progress, recount
        from ivr.store.storage import make_engine

        engine = make_engine(context.config.get_main_option("sqlalchemy.url"), webhook_limits=False)
        try:
            recount(engine, progress=echo_progress, from_events=("crisis",))  # no counts yet: 0008 then deletes those rows
        finally:
            engine.dispose()


def downgrade() -> None:
    op.drop_index("ix_texts_sent_report", "texts_sent")
    op.drop_table("usage_seen")
    op.drop_table("usage_daily_unique")
    op.drop_table("usage_daily")
