"""What a command says when the line it needs cannot start: the problems themselves, not a pointer."""

from __future__ import annotations

import click

from ivr.line import Line, LineNotRunning, current_line


def need_line() -> Line:
    """The running line, or an error that lists why it cannot start (the first few problems, and how many more)."""
    try:
        return current_line()
    except LineNotRunning as exc:
        from ivr.tools.prompts_check import cannot_start, check

        report = check()  # the start-up checks again, every one: a setting and prompts/ alike
        raise click.ClickException(cannot_start(report) if report.problems else str(exc)) from None
