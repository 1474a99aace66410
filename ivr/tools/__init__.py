"""What operators and developers run: the flask commands, prompts check, the practice line, the terminal
call and text, twilio setup, the TwiML simulator, stats and /admin.

May import every package and ``ivr.app``'s create_app; nothing below imports the tools.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """/admin and every flask command, on an app with a running line."""
    from ivr.tools import admin

    app.register_blueprint(admin.bp)
    init_commands(app)


def init_commands(app: Flask) -> None:
    """The flask commands alone: also on the app that loads when the line cannot start."""
    from ivr.tools import cli

    cli.register(app)
