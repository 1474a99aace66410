"""How long usage is kept: ``flask --app app purge`` deletes what is older than IVR_RETENTION_DAYS.

Deleted: usage events and texts-sent rows older than the retention period, and text-limit counters
older than two days (they only matter on the day and hour they count). Kept: opt-outs, for as long as
they stand, because a STOP must be honoured until the person texts START (see the README).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import click
from flask.cli import with_appcontext

from ivr.store.storage import utcnow

QUOTA_DAYS = 2
NAMES = {"usage_events": "usage events", "texts_sent": "texts sent", "text_quota": "text-limit counters"}


def cutoffs(retention_days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(delete usage and texts before, delete text-limit counters before)."""
    now = now or utcnow()
    before = now - timedelta(days=retention_days)
    return before, max(before, now - timedelta(days=QUOTA_DAYS))


def purge(storage, retention_days: int, now: datetime | None = None) -> dict[str, int]:
    before, quota_before = cutoffs(retention_days, now)
    return storage.purge(before, quota_before)


@click.command("purge")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Keep this many days instead of IVR_RETENTION_DAYS.")
@with_appcontext
def purge_command(days: int | None) -> None:
    """Delete usage and texts sent older than the retention period (IVR_RETENTION_DAYS, default 400)."""
    from ivr.tools.cli import need_line

    line = need_line()
    days = days or line.settings.retention_days
    before, _ = cutoffs(days)
    try:
        deleted = purge(line.storage, days)
    except Exception as exc:
        raise click.ClickException(f"purge failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    counts = ", ".join(f"{n} {NAMES.get(table, table.replace('_', ' '))}" for table, n in deleted.items())
    click.echo(f"kept {days} days (from {before:%Y-%m-%d %H:%M} UTC): deleted {counts}; opt-outs are kept")
