"""Commands for the people who run the line: flask --app app <command>."""

from __future__ import annotations

import click
from flask import Flask

from ivr.tools.need import need_line


def register(app: Flask) -> None:
    from ivr.tools import purge, recount, stats

    app.cli.add_command(stats.stats_command)
    app.cli.add_command(purge.purge_command)
    app.cli.add_command(recount.usage_group)

    @app.cli.group("prompts")
    def prompts_group():
        """Check what the line says and texts."""

    @prompts_group.command("check")
    def prompts_check_command():
        """Check prompts/ and the settings as start-up does, and show the size of every text."""
        from ivr.tools.prompts_check import check, format_report

        report = check()
        for line in format_report(report):
            click.echo(line)
        if report.problems:
            raise SystemExit(1)

    @app.cli.command("call")
    @click.option("--lang", help="Start in this language of prompts/ (as a number configured for it does).")
    @click.option("--from", "caller", metavar="NUMBER", help="The caller's number; 'anonymous' for a withheld caller ID.")
    @click.option(
        "--keys", help="A scripted run: '1,2,0'; words for speech, an empty item for silence, busy/no-answer/failed ends a transfer."
    )
    @click.option(
        "--at", "when", metavar="WHEN", help="Call at another time: 'sat 12:00' (Eastern), 'sat 12:00 America/Chicago' or an ISO time."
    )
    def call_command(lang, caller, keys, when):
        """Call the line in this terminal: hear it, press keys, see transfers and texts. Nothing is sent."""
        from ivr.tools.practice import OUR_NUMBER, PracticeLine
        from ivr.tools.terminal_call import TerminalPhone, parse_keys, parse_when, practice_settings

        try:
            settings = practice_settings(need_line(), lang, OUR_NUMBER)
            at = parse_when(when) if when else None
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo("Setting up a practice line: webhooks in this process, texts kept here, a throwaway database ...")
        if at is not None:
            click.echo(f"The line's clock says {at:%A %Y-%m-%d %H:%M %z} for this call.")
        with PracticeLine(settings, clock=(lambda: at) if at is not None else None) as practice:
            try:
                TerminalPhone(practice, click.echo, _ask, parse_keys(keys) if keys is not None else None, caller).run()
            except AssertionError as exc:  # the simulator found an answer Twilio would not accept
                raise click.ClickException(f"the line gave Twilio a bad answer: {str(exc).splitlines()[0]}") from None

    @app.cli.command("text")
    @click.argument("bodies", nargs=-1, required=True, metavar='"TEXT"...')
    @click.option("--from", "sender", metavar="NUMBER", help="The texter's number (default: a fictional 555 number).")
    def text_command(bodies, sender):
        """Show the line's reply to a text (several: one conversation), with its segment count. Nothing is sent."""
        from ivr.tools.practice import PracticeLine
        from ivr.tools.terminal_text import run_texts

        line = need_line()
        with PracticeLine(line.settings) as practice:
            try:
                run_texts(practice, list(bodies), click.echo, sender)
            except AssertionError as exc:  # the simulator found an answer Twilio would not accept
                raise click.ClickException(f"the line gave Twilio a bad answer: {str(exc).splitlines()[0]}") from None

    @app.cli.group("twilio")
    def twilio_group():
        """Set up the Twilio side of the line."""

    @twilio_group.command("setup")
    @click.option("--number", help="The Twilio number to point here, e.g. +16175550100.")
    @click.option("--all-lines", is_flag=True, help="Every number of IVR_LINES_FILE (or IVR_NUMBER_LANGUAGES), in one run.")
    @click.option("--base-url", required=True, help="This deployment's public address, e.g. https://line.example.org.")
    @click.option("--insecure", is_flag=True, help="Allow an http:// base URL (testing only).")
    @click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
    def twilio_setup_command(number, all_lines, base_url, insecure, dry_run):
        """Point a Twilio number's Voice, Fallback, Messaging and status callback URLs at this deployment."""
        from ivr.config import ConfigError, load_settings
        from ivr.tools.twilio_setup import SetupError, run, run_all

        if bool(number) == bool(all_lines):
            raise click.UsageError("give --number +1... or --all-lines (one of them)")
        try:
            if all_lines:
                run_all(load_settings(hash_key_needed=False), base_url, insecure, dry_run, echo=click.echo)
            else:
                run(load_settings(hash_key_needed=False), number, base_url, insecure, dry_run, echo=click.echo)
        except (SetupError, ConfigError) as exc:
            raise click.ClickException(str(exc)) from None

    @app.cli.command("label")
    @click.option("--number", required=True, help="One of the deployment's numbers, e.g. +16175550100.")
    @click.option("--out", type=click.Path(dir_okay=False, writable=True), default="label.pdf", show_default=True, help="The PDF to write.")
    @click.option("--sheet", help="Lay the label out on a label sheet: avery-5371, avery-8371, avery-5163 or avery-8163.")
    @click.option("--lang", "languages", help="The languages on the label, first first (default: the line's, then the others): en,es.")
    def label_command(number, out, sheet, languages):
        """Write the PDF label for the handout's "Place label here" box (about 2 by 3.5 inches)."""
        from pathlib import Path

        from ivr.tools.label import LabelError, write_label

        line = need_line()
        wanted = [code.strip().lower() for code in languages.split(",") if code.strip()] if languages else None
        try:
            words = write_label(line, number, Path(out), sheet, wanted)
        except LabelError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
        where = f" on a {sheet} sheet" if sheet else ""
        click.echo(f"wrote {out}: the label of {words.name}, {words.dialled}{where} ({', '.join(lang for lang, _ in words.lines)})")

    @app.cli.command("migrate")
    @click.option("--quiet", is_flag=True, help="Print nothing but errors (dev.py serve uses it).")
    def migrate_command(quiet):
        """Create or upgrade the database schema (the Procfile's release step)."""
        import logging

        line = need_line()  # first: when the line cannot start, that is all there is to say
        # alembic logs each plugin it sets up as it loads (seven INFO lines of nothing); --quiet: its steps too
        logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
        if quiet:
            logging.getLogger("alembic").setLevel(logging.WARNING)
        from ivr.store.migrate import upgrade  # imported here: alembic logs as it loads

        upgrade(line.settings.database_url)
        if not quiet:
            click.echo("database schema is up to date")


def _ask(prompt: str) -> str | None:
    """A line typed at the terminal; None at end of input or Ctrl+C."""
    try:
        return click.prompt(prompt, default="", show_default=False, prompt_suffix="")
    except click.Abort:
        click.echo("")
        return None
