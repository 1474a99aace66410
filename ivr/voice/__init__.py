"""The voice line: its webhooks, the TwiML script, understanding speech, "text me" and call status.

May import content, store and the base modules; never the text line or the tools.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """The voice webhooks, the call status callback, and how a failure under /voice is answered."""
    from ivr import webhook_errors, webhook_methods
    from ivr.voice import audio, call_status, webhooks
    from ivr.voice.sends import Sends

    app.register_blueprint(webhooks.bp)
    app.extensions[webhooks.SENDS] = Sends()  # "text me" off the request threads (voice.sends)
    app.register_blueprint(audio.bp)  # the recordings <Play> fetches: GET, no signature (voice.audio says why)
    app.register_blueprint(call_status.bp)
    webhook_errors.register(app, "/voice", webhooks.error_response)
    webhook_methods.register(app, "/voice", webhooks.get_response)
