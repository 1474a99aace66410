"""The running line, and the one way to reach it: ``current_line()``.

A ``Line`` holds what every request needs, built once by the factory (``ivr.app.build_line``): the
settings, the checked content, the rendered voice scripts and text replies, storage, usage, the
Twilio client and the clock. It lives under one key of ``app.extensions``; nothing else reads that
key. This module is a base module: it names the packages' types only for type checking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from flask import Flask, current_app, has_request_context, request, url_for

from ivr.config import ConfigError, Settings
from ivr.privacy import NumberHasher, normalise

if TYPE_CHECKING:  # the packages' types, for readers and checkers; base modules never import them
    from ivr.content.prompts import Content
    from ivr.content.recordings import Recording
    from ivr.sms.replies import SmsReplies
    from ivr.store.storage import Storage
    from ivr.store.usage import UsageRecorder
    from ivr.twilio_client import TwilioSender
    from ivr.voice.script import VoiceScript

EXTENSION = "ivr"
ERROR_EXTENSION = "ivr_error"  # set by create_commands_app: why the line could not start


class LineNotRunning(RuntimeError):
    """The app was built without a line (prompts/ or a setting is broken): the message says why."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Line:
    settings: Settings
    content: Content
    scripts: dict[str, VoiceScript]
    sms: SmsReplies
    storage: Storage
    usage: UsageRecorder
    sender: TwilioSender
    hash_number: NumberHasher
    recordings: dict[str, dict[str, Recording]] = field(default_factory=dict)  # by language, then key: what /audio serves
    clock: Callable[[], datetime] = utc_now  # "now", for opening hours; tests pass a fixed one
    languages_by_number: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        if self.settings.default_language not in self.scripts:
            raise ConfigError(f"IVR_DEFAULT_LANGUAGE={self.settings.default_language!r}: prompts/ has {sorted(self.scripts)}")
        self.languages_by_number = self._languages_by_number(self.settings)

    def _languages_by_number(self, settings: Settings) -> dict[str, str]:
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
        """The language a call to ``called`` (one of our numbers) starts in."""
        return self.languages_by_number.get(_our_number(called, self.settings.default_region) or "", self.default_language)

    def script(self, lang: str | None) -> VoiceScript:
        return self.scripts.get(lang or "", self.scripts[self.default_language])

    def sms_text(self, lang: str, key: str) -> str:
        return self.sms.text(lang, key)

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
