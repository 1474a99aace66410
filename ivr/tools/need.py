"""What a command says when the line it needs cannot start: one line, and where to look."""

from __future__ import annotations

import click

from ivr.line import Line, LineNotRunning, current_line


def need_line() -> Line:
    """The running line, or a one-line error when it cannot start (see create_commands_app)."""
    try:
        return current_line()
    except LineNotRunning as exc:
        raise click.ClickException(f"{exc}; see: flask --app app prompts check") from None
