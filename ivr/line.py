"""The running line, and the one way to reach it: ``current_line()``.

A ``Line`` holds what every request needs, built once by the factory (``ivr.app.build_line``): the
settings, the checked content, the rendered voice scripts and text replies, storage, usage, the
Twilio client and the clock. It lives under one key of ``app.extensions``; nothing else reads that
key. This module is a base module: it names the packages' types only for type checking.

One deployment may answer several numbers, each a line of its own (lines.py): a ``NumberLine`` holds
what that number says (its content, with its own local contact and name, its voice scripts and its
texts); ``Line.for_number`` finds it from a webhook's ``To``. Storage, usage and the Twilio client
are the deployment's, shared by all of them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from flask import Flask, current_app, has_request_context, request, url_for

from ivr.channels import split_address
from ivr.config import ConfigError, Settings
from ivr.privacy import NumberHasher, normalise

if TYPE_CHECKING:  # the packages' types, for readers and checkers; base modules never import them
    from ivr.content.prompts import Content
    from ivr.content.recordings import Recording
    from ivr.sms.replies import SmsReplies
    from ivr.store.opt_out_journal import OptOutJournal
    from ivr.store.reply_budget import ReplyBudget
    from ivr.store.storage import Storage
    from ivr.store.usage import UsageRecorder
    from ivr.twilio_client import TwilioSender
    from ivr.voice.script import VoiceScript

EXTENSION = "ivr"
ERROR_EXTENSION = "ivr_error"  # set by create_commands_app: why the line could not start
MAX_UNLISTED_LOGGED = 1000  # numbers remembered as "already logged": bounded, whatever Twilio posts in To
log = logging.getLogger(__name__)


class LineNotRunning(RuntimeError):
    """The app was built without a line (prompts/ or a setting is broken): the message says why."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class NumberLine:
    """What one line says (lines.py): its content, with its own local contact and name, scripts and texts."""

    key: str  # the line's id: in usage events, stats --line and /admin
    name: str  # "" for the one line of IVR_LOCAL_*: texts then go out under sms.yaml's line_name
    language: str  # the language its calls and texts start in
    numbers: tuple[str, ...]
    content: Content
    scripts: dict[str, VoiceScript]
    sms: SmsReplies

    def script(self, lang: str | None) -> VoiceScript:
        return self.scripts.get(lang or "", self.scripts[self.language])

    def sms_text(self, lang: str, key: str) -> str:
        return self.sms.text(lang, key)


@dataclass
class Line:
    settings: Settings
    lines: dict[str, NumberLine]  # by line id, the default line (for numbers no line lists) first
    storage: Storage
    usage: UsageRecorder
    sender: TwilioSender
    hash_number: NumberHasher
    recordings: dict[str, dict[str, Recording]] = field(default_factory=dict)  # by language, then key: what /audio serves
    clock: Callable[[], datetime] = utc_now  # "now", for opening hours and reply budgets; tests pass a fixed one
    reply_budget: ReplyBudget | None = None  # the text line's reply budgets (None: none, for tools that never reply)
    opt_out_journal: OptOutJournal | None = None  # opt-outs the database could not take yet (store/opt_out_journal.py)
    languages_by_number: dict[str, str] = field(init=False)
    line_by_number: dict[str, NumberLine] = field(init=False)

    def __post_init__(self) -> None:
        if self.settings.default_language not in self.scripts:
            raise ConfigError(f"IVR_DEFAULT_LANGUAGE={self.settings.default_language!r}: prompts/ has {sorted(self.scripts)}")
        self.line_by_number = {number: number_line for number_line in self.lines.values() for number in number_line.numbers}
        self.languages_by_number = {number: number_line.language for number, number_line in self.line_by_number.items()}
        # IVR_NUMBER_LANGUAGES (the one-line shorthand; and the practice line's "call --lang es").
        self.languages_by_number.update(self._languages_by_number(self.settings))
        for number in self.languages_by_number:
            self.line_by_number.setdefault(number, self.default_line)
        self._unlisted_logged: set[str] = set()
        self._unlisted_lock = threading.Lock()

    @property
    def default_line(self) -> NumberLine:
        return next(iter(self.lines.values()))

    # The default line's parts: for the tools, and for what no number chooses.
    @property
    def content(self) -> Content:
        return self.default_line.content

    @property
    def scripts(self) -> dict[str, VoiceScript]:
        return self.default_line.scripts

    @property
    def sms(self) -> SmsReplies:
        return self.default_line.sms

    def person(self, number: str | None) -> str | None:
        """The keyed hash of a caller's or texter's number; during a key rotation (IVR_HASH_KEY_OLD), what
        was stored under the old key's hash is re-keyed to it first, so no opt-out is forgotten."""
        if not (number or "").strip():
            return None
        number_hash = self.hash_number(number)
        if self.hash_number.rotating:
            try:
                if self.storage.adopt_old_hash(self.hash_number.old(number), number_hash):
                    log.info("hash_key outcome=rehashed")  # never the number
            except Exception as exc:  # a database failure: the next text tries again
                log.error("hash_key rehash failed error=%s", type(exc).__name__)
        return number_hash

    def opt_out_pending(self, number_hash: str | None, channel: str) -> bool:
        """An opt-out of this number that the database could not take yet: honour it as stored."""
        return self.opt_out_journal is not None and self.opt_out_journal.holds(number_hash, channel)

    def for_number(self, called: str | None) -> NumberLine:
        """The line that ``called`` (the To of a webhook: one of our numbers) belongs to.

        A number no line lists gets the default line, and the log says so once per number (it is ours,
        or Twilio's: never a caller's, so it is logged as it is, to be added to IVR_LINES_FILE).
        """
        number = _our_number(split_address(called)[1], self.settings.default_region)
        found = self.line_by_number.get(number or "")
        if found is not None:
            return found
        if len(self.lines) > 1 or self.line_by_number:
            self._log_unlisted(number or "unusable")
        return self.default_line

    def _log_unlisted(self, number: str) -> None:
        with self._unlisted_lock:
            if number in self._unlisted_logged or len(self._unlisted_logged) >= MAX_UNLISTED_LOGGED:
                return
            self._unlisted_logged.add(number)
        log.warning("line outcome=unlisted_number to=%s line=%s (add it to IVR_LINES_FILE)", number, self.default_line.key)

    def _languages_by_number(self, settings: Settings) -> dict[str, str]:
        """IVR_NUMBER_LANGUAGES, checked against the languages of prompts/."""
        numbers = {}
        for number, lang in settings.number_languages:
            e164 = normalise(number, settings.default_region)
            if e164 is None:
                raise ConfigError(f"IVR_NUMBER_LANGUAGES: {number!r} is not a valid phone number")
            if lang not in self.scripts:
                raise ConfigError(f"IVR_NUMBER_LANGUAGES: {lang!r} is not a language in prompts/ ({sorted(self.scripts)})")
            numbers[e164] = lang
        return numbers

    @property
    def default_language(self) -> str:
        return self.settings.default_language

    def language_of_number(self, called: str | None) -> str:
        """The language a call to ``called`` (one of our numbers, or whatsapp:+1...) starts in."""
        number = _our_number(split_address(called)[1], self.settings.default_region)
        return self.languages_by_number.get(number or "", self.default_language)

    def script(self, lang: str | None) -> VoiceScript:
        return self.scripts.get(lang or "", self.scripts[self.default_language])

    def sms_text(self, lang: str, key: str) -> str:
        return self.default_line.sms_text(lang, key)

    def status_callback_url(self) -> str | None:
        """Absolute URL of the delivery-status webhook, when it exists and is switched on."""
        if not self.settings.status_callback or not has_request_context() or "delivery.status" not in current_app.view_functions:
            return None
        base = self.settings.public_base_url or request.host_url.rstrip("/")
        return base + url_for("delivery.status")

    def init_app(self, app: Flask) -> None:
        if EXTENSION in app.extensions:
            raise RuntimeError("this app already has a line: build one app per line")
        app.extensions[EXTENSION] = self


def current_line() -> Line:
    """The line of the app handling this request or command; LineNotRunning says why there is none."""
    line = current_app.extensions.get(EXTENSION)
    if line is None:
        raise LineNotRunning(current_app.extensions.get(ERROR_EXTENSION, "the line cannot start"))
    return line


@lru_cache(maxsize=256)
def _our_number(called: str | None, region: str) -> str | None:
    """normalise() for the number a call or text came in on: one of ours, so a handful of values (saves ~15 us a webhook)."""
    return normalise(called, region)
