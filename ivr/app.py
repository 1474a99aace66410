"""The cancer recurrence information line: a Flask app that answers Twilio's webhooks."""

from __future__ import annotations

import logging

from flask import Flask, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr import security, weblog
from ivr.config import Settings, load_settings
from ivr.line import Line

log = logging.getLogger("ivr")


def create_app(settings: Settings | None = None, **services) -> Flask:
    """Build the app. Raises content.ContentError or config.ConfigError when it must not start."""
    settings = settings or load_settings()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The twilio library logs every REST request's headers at INFO: noise, and nothing we need.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        IVR_AUTH_TOKEN=settings.auth_token,
        IVR_DEV_MODE=settings.dev_mode,
        IVR_PUBLIC_BASE_URL=settings.public_base_url,
    )
    if settings.proxy_count:
        n = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)
    app.extensions["ivr"] = Line(settings, **services)
    if not settings.auth_token:
        if settings.dev_mode:
            log.warning("no TWILIO_AUTH_TOKEN: development mode, unsigned webhooks accepted from loopback only")
        else:
            log.warning("no TWILIO_AUTH_TOKEN: every webhook will be refused (403)")

    from ivr.voice import webhooks as voice

    app.register_blueprint(voice.bp)

    from ivr.sms import webhooks as sms

    app.register_blueprint(sms.bp)

    from ivr import health
    from ivr.sms import delivery
    from ivr.store import usage

    app.register_blueprint(delivery.bp)

    from ivr.voice import call_status

    app.register_blueprint(call_status.bp)

    from ivr.tools import admin

    app.register_blueprint(admin.bp)
    app.register_blueprint(health.bp)
    app.after_request(usage.after_request)
    app.before_request(weblog.start_timer)
    app.before_request(security.check_signature)
    app.after_request(weblog.write_line)
    app.register_error_handler(Exception, _handle_error)

    from ivr.tools.cli import register

    register(app)
    return app


def create_commands_app(error: Exception) -> Flask:
    """What ``flask --app app`` loads when the line cannot start: the commands, no webhooks.

    ``prompts check`` works here (it reads prompts/ and the settings itself); every command that
    needs the line says in one line why it cannot run. Any request is answered 503.
    """
    app = Flask(__name__)
    summary = str(error).splitlines()[0].rstrip(":")
    app.extensions["ivr_error"] = f"the line cannot start: {summary}"

    @app.before_request
    def _refuse():
        return app.extensions["ivr_error"] + "\n", 503, {"Content-Type": "text/plain; charset=utf-8"}

    from ivr.tools.cli import register

    register(app)
    return app


def _handle_error(exc: Exception):
    """Never a 5xx to Twilio: voice routes apologise and offer the menu again."""
    if isinstance(exc, HTTPException) and exc.code == 403:
        return exc
    if not isinstance(exc, HTTPException):
        log.exception("error in %s", request.path[:80], exc_info=exc)
    if request.path == "/voice" or request.path.startswith("/voice/"):
        from ivr.voice.webhooks import error_response

        return error_response(exc)
    if request.path == "/sms" or request.path.startswith("/sms/"):
        from ivr.sms.webhooks import error_response as sms_error_response

        return sms_error_response(exc)
    if isinstance(exc, HTTPException):
        return exc
    return "Internal error", 500
