"""``flask --app app usage recount``: count the last days' usage events again into the per-day counts (ivr/store/recount.py)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext

from ivr.store.recount import echo_progress, recount
from ivr.store.storage import make_engine, utcnow
from ivr.tools.need import need_line


@click.group("usage")
def usage_group():
    """The per-day usage counts behind stats and /admin."""


@usage_group.command("recount")
@click.option("--days", type=click.IntRange(min=1), default=None, help="Recount the last N UTC days, today included (default 2).")
@click.option("--all", "everything", is_flag=True, help="Recount every day that still has its events.")
@with_appcontext
def recount_command(days: int | None, everything: bool) -> None:
    """Count the usage events again into the per-day counts (after a deploy that added them, or to check)."""
    line = need_line()
    today = utcnow().date()
    # The day of the retention cutoff lost some of its events to purge: its counts are the only full record.
    oldest_whole_day = (utcnow() - timedelta(days=line.settings.retention_days)).date() + timedelta(days=1)
    first = oldest_whole_day if everything else max(oldest_whole_day, today - timedelta(days=(days or 2) - 1))
    engine = make_engine(line.settings.database_url, webhook_limits=False)
    try:
        counted = recount(engine, first, None, echo_progress)
    except Exception as exc:
        raise click.ClickException(f"recount failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    finally:
        engine.dispose()
    click.echo(f"recounted {counted:,} usage events from {first} to {today} (UTC days); older days keep their counts")
