"""The app factory: the one module that sees every package, and builds the line from them."""

from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr import health, metrics, security, webhook_errors, webhook_methods, weblog
from ivr.config import ConfigError, Settings, load_settings
from ivr.content import prompts, recordings
from ivr.line import ERROR_EXTENSION, Line, NumberLine
from ivr.lines import SHORTHAND, LineSpec, load_lines
from ivr.privacy import NumberHasher, load_key
from ivr.sms import replies
from ivr.store.opt_out_journal import OptOutJournal, journal_path
from ivr.store.reply_budget import Budget, ReplyBudget
from ivr.store.storage import Storage, where_opt_outs_live
from ivr.store.usage import UsageRecorder
from ivr.twilio_client import TwilioSender
from ivr.voice.script import build_scripts


class LineFlask(Flask):
    """Flask, with its check of each hook and view for a coroutine made once per function.

    Flask asks ``inspect.iscoroutinefunction`` of every before/after hook and the view on every
    request (6 times per webhook here); the answer never changes for a function.
    """

    MAX_REMEMBERED = 512

    def ensure_sync(self, func):
        remembered = self.__dict__.setdefault("_sync_functions", {})
        found = remembered.get(func)
        if found is None:
            found = super().ensure_sync(func)
            if len(remembered) < self.MAX_REMEMBERED:
                remembered[func] = found
        return found


def build_line(settings: Settings, storage: Storage | None = None, sender: TwilioSender | None = None, clock=None) -> Line:
    """Load and check prompts/ for each line, render every answer, open storage. Raises ContentError or ConfigError."""
    if settings.lines_file:
        specs = load_lines(settings.lines_file, settings.default_region)
        sources = [f"{settings.lines_file}: lines.{spec.key}" for spec in specs]
    else:
        specs, sources = [LineSpec(SHORTHAND, contact=settings.local_contact())], ["settings"]
    lines: dict[str, NumberLine] = {}
    found = None
    for spec, source in zip(specs, sources, strict=True):
        content = load_content(settings, spec, source)
        if found is None:  # prompts/<lang>/audio/ is the deployment's: read once; each line's script checks it
            found = recordings.load(content)  # a file refused for what it is stops start-up here
        lines[spec.key] = build_number_line(settings, spec, content, found, source)
    hash_number = NumberHasher(load_key(settings.hash_key, settings.instance_path), settings.default_region, settings.hash_key_old)
    storage = storage or Storage(settings.database_url)
    return Line(
        settings=settings,
        lines=lines,
        recordings=found or {},
        storage=storage,
        usage=UsageRecorder(storage, hash_number, default_language=settings.default_language),
        sender=sender or TwilioSender(settings.account_sid, settings.auth_token, settings.api_url, settings.rest_timeout),
        hash_number=hash_number,
        reply_budget=ReplyBudget(storage, Budget.of(settings)),
        opt_out_journal=OptOutJournal(storage, journal_path(settings), settings.opt_out_retry_seconds),
        **({"clock": clock} if clock else {}),
    )


def load_content(settings: Settings, spec: LineSpec, source: str = "settings") -> prompts.Content:
    """prompts/ loaded and checked with one line's name and local contact in it."""
    try:
        return prompts.load(settings.prompts_dir, settings.default_region, local=spec.contact, line_name=spec.name, local_source=source)
    except prompts.ContentError as exc:
        if not settings.lines_file:
            raise
        # Name the line: a text that fits one clinic's contact may not fit another's.
        raise prompts.ContentError([(f, k, f"{r} (with line {spec.key}'s name and contact)") for f, k, r in exc.problems]) from None


def build_number_line(settings: Settings, spec: LineSpec, content: prompts.Content, found, source: str = "settings") -> NumberLine:
    """One line's words: its voice scripts (every response rendered, recordings checked) and its texts."""
    scripts = build_scripts(
        content,
        settings.speech_rate,
        settings.gather_timeout,
        settings.silence_tries,
        settings.dial_timeout,
        recordings=found,
        audio_base=settings.public_base_url,
    )
    if spec.language is not None and spec.language not in scripts:
        raise ConfigError(f"{source}: language: {spec.language!r} is not a language in prompts/ ({sorted(scripts)})")
    return NumberLine(
        key=spec.key,
        name=spec.name,
        language=spec.language or settings.default_language,
        numbers=spec.numbers,
        content=content,
        scripts=scripts,
        sms=replies.SmsReplies(content, settings.default_language),
    )


def create_app(settings: Settings | None = None, **services) -> Flask:
    """Build the app. Raises content.ContentError or config.ConfigError when it must not start.

    ``services`` (storage, sender, clock) replace the real ones, for tests and the practice line.
    """
    settings = settings or load_settings()
    _configure_logging()
    app = LineFlask(__name__, instance_path=str(settings.instance_path))
    if settings.proxy_count:
        n = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)
    build_line(settings, **services).init_app(app)

    from ivr import sms, store, tools, voice  # here: each package's init_app, once the line exists

    # Order matters for the hooks: Flask runs before_request hooks in this order (the timer starts
    # before the signature check, so a refusal is timed too) and after_request hooks in reverse.
    weblog.init_app(app)
    metrics.init_app(app, settings)  # its after_request hook runs before weblog's: weblog's timer is still there
    security.init_app(app)
    webhook_methods.init_app(app)  # after the signature check: a signed GET is answered, never served
    webhook_errors.init_app(app)
    voice.init_app(app)
    sms.init_app(app)
    store.init_app(app)
    health.init_app(app)
    tools.init_app(app)
    return app


def opt_outs_warning(settings: Settings) -> str | None:
    """With SQLite, what to say once where webhooks are served: where the opt-outs live, and that the file must persist."""
    return where_opt_outs_live(settings) if settings.database_url.startswith("sqlite") else None


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


def unsigned_warning(settings: Settings) -> str | None:
    """What to say where webhooks are served (gunicorn's master, once) when no signature can be checked.

    Not said by create_app: every ``flask --app app`` command builds the app too, and a practice
    tool (call, text, stats, twilio setup) serves no webhook, so the warning would be wrong there.
    """
    if settings.auth_token:
        return None
    if settings.dev_mode:
        return "no TWILIO_AUTH_TOKEN: development mode, unsigned webhooks accepted from loopback only"
    return "no TWILIO_AUTH_TOKEN: every webhook will be refused (403); set it to the Twilio account's auth token"


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # The twilio library logs every REST request's headers at INFO: noise, and nothing we need.
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
