"""``flask --app app purge``: delete usage older than the retention period (ivr/store/retention.py says what)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ivr.store.retention import NAMES, cutoffs, purge
from ivr.tools.need import need_line


@click.command("purge")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Keep this many days instead of IVR_RETENTION_DAYS.")
@with_appcontext
def purge_command(days: int | None) -> None:
    """Delete usage and texts sent older than the retention period (IVR_RETENTION_DAYS, default 400)."""
    line = need_line()
    days = days or line.settings.retention_days
    counts_days = max(days, line.settings.counts_retention_days)
    before, _ = cutoffs(days)
    try:
        deleted = purge(line.storage, days, counts_retention_days=counts_days)
    except Exception as exc:
        raise click.ClickException(f"purge failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    counts = ", ".join(f"{n} {NAMES.get(table, table.replace('_', ' '))}" for table, n in deleted.items())
    click.echo(f"kept {days} days (from {before:%Y-%m-%d %H:%M} UTC): deleted {counts}; opt-outs are kept")
    click.echo(f"per-day counts are kept {counts_days} days (IVR_COUNTS_RETENTION_DAYS)")
