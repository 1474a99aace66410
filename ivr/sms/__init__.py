"""The text line: its webhook, its replies, keyword matching and delivery status.

May import content, store and the base modules; never the voice line or the tools.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    """The text webhook, the delivery status callback, and how a failure under /sms is answered."""
    from ivr import webhook_errors, webhook_methods
    from ivr.sms import delivery, webhooks

    app.register_blueprint(webhooks.bp)
    app.register_blueprint(delivery.bp)
    webhook_errors.register(app, "/sms", webhooks.error_response)
    webhook_methods.register(app, "/sms", webhooks.get_response)
