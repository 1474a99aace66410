"""What persists: storage on SQLAlchemy, usage events, retention and the migrations runner.

Imports only the base modules of ``ivr``: never content, the voice line, the text line or the tools.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """Usage recording: an after_request hook that queues what each webhook did; and the replay of
    opt-outs a stopped process could not store (opt_out_journal.py), in this web process's own thread."""
    from ivr.line import EXTENSION
    from ivr.store import usage

    app.after_request(usage.after_request)
    journal = app.extensions[EXTENSION].opt_out_journal
    if journal is not None:
        journal.start()
