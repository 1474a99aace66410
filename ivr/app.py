"""The app factory: the one module that sees every package, and builds the line from them."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr import health, security, webhook_errors, weblog
from ivr.config import Settings, load_settings
from ivr.content import prompts, recordings
from ivr.line import ERROR_EXTENSION, Line
from ivr.privacy import NumberHasher, load_key
from ivr.sms import replies
from ivr.store.storage import Storage
from ivr.store.usage import UsageRecorder
from ivr.twilio_client import TwilioSender
from ivr.voice.script import build_scripts

log = logging.getLogger("ivr")


def build_line(settings: Settings, storage: Storage | None = None, sender: TwilioSender | None = None, clock=None) -> Line:
    """Load and check prompts/, render every answer, open storage. Raises ContentError or ConfigError."""
    content = prompts.load(settings.prompts_dir, settings.default_region, local=settings.local_contact())
    found = recordings.load(content)  # prompts/<lang>/audio/: a file refused for what it is stops start-up here
    scripts = build_scripts(
        content,
        settings.speech_rate,
        settings.gather_timeout,
        settings.silence_tries,
        settings.dial_timeout,
        recordings=found,
        audio_base=settings.public_base_url,
    )
    hash_number = NumberHasher(load_key(settings.hash_key, settings.instance_path), settings.default_region)
    storage = storage or Storage(settings.database_url)
    return Line(
        settings=settings,
        content=content,
        scripts=scripts,
        recordings=found,
        sms=replies.SmsReplies(content, settings.default_language),
        storage=storage,
        usage=UsageRecorder(storage, hash_number, default_language=settings.default_language),
        sender=sender or TwilioSender(settings.account_sid, settings.auth_token, settings.api_url, settings.rest_timeout),
        hash_number=hash_number,
        **({"clock": clock} if clock else {}),
    )


def create_app(settings: Settings | None = None, **services) -> Flask:
    """Build the app. Raises content.ContentError or config.ConfigError when it must not start.

    ``services`` (storage, sender, clock) replace the real ones, for tests and the practice line.
    """
    settings = settings or load_settings()
    _configure_logging()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    if settings.proxy_count:
        n = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)
    build_line(settings, **services).init_app(app)
    if not settings.auth_token:
        if settings.dev_mode:
            log.warning("no TWILIO_AUTH_TOKEN: development mode, unsigned webhooks accepted from loopback only")
        else:
            log.warning("no TWILIO_AUTH_TOKEN: every webhook will be refused (403)")

    from ivr import sms, store, tools, voice  # here: each package's init_app, once the line exists

    # Order matters for the hooks: Flask runs before_request hooks in this order (the timer starts
    # before the signature check, so a refusal is timed too) and after_request hooks in reverse.
    weblog.init_app(app)
    security.init_app(app)
    webhook_errors.init_app(app)
    voice.init_app(app)
    sms.init_app(app)
    store.init_app(app)
    health.init_app(app)
    tools.init_app(app)
    return app


def create_commands_app(error: Exception) -> Flask:
    """What ``flask --app app`` loads when the line cannot start: the commands, no webhooks.

    ``prompts check`` works here (it reads prompts/ and the settings itself); every command that
    needs the line says in one line why it cannot run. Any request is answered 503.
    """
    app = Flask(__name__)
    summary = str(error).splitlines()[0].rstrip(":")
    app.extensions[ERROR_EXTENSION] = f"the line cannot start: {summary}"

    @app.before_request
    def _refuse():
        return app.extensions[ERROR_EXTENSION] + "\n", 503, {"Content-Type": "text/plain; charset=utf-8"}

    from ivr import tools

    tools.init_commands(app)
    return app


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The twilio library logs every REST request's headers at INFO: noise, and nothing we need.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
