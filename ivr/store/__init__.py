"""What persists: storage on SQLAlchemy, usage events, retention and the migrations runner.

Imports only the base modules of ``ivr``: never content, the voice line, the text line or the tools.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Usage recording: an after_request hook that queues what each webhook did."""
    from ivr.store import usage

    app.after_request(usage.after_request)
