"""The running line: settings, checked content, rendered scripts, storage and the Twilio client."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from flask import current_app, has_request_context, request, url_for

from ivr.config import ConfigError, Settings
from ivr.content import prompts as content_module
from ivr.privacy import NumberHasher, load_key, normalise
from ivr.sms.replies import SmsReplies
from ivr.store.storage import Storage
from ivr.store.usage import UsageRecorder
from ivr.twilio_client import TwilioSender
from ivr.voice.script import VoiceScript


class Line:
    def __init__(self, settings: Settings, storage: Storage | None = None, sender: TwilioSender | None = None):
        self.settings = settings
        self.content = content_module.load(settings.prompts_dir, settings.default_region, local=settings.local_contact())
        # The time "now", for opening hours. Tests may replace it with a fixed clock.
        self.clock = lambda: datetime.now(UTC)
        self.scripts = {
            lang: VoiceScript(
                self.content, lang, settings.speech_rate, settings.gather_timeout, settings.silence_tries, settings.dial_timeout
            )
            for lang in self.content.languages
        }
        for lang, script in self.scripts.items():
            script.offers = tuple(
                (self.scripts[other], key) for other, key in self.content.language_keys.items() if other != lang and other in self.scripts
            )
        for script in self.scripts.values():
            script.warm()
        self.sms = SmsReplies(self.content, settings.default_language)  # the text line, rendered once
        self.languages_by_number = self._languages_by_number(settings)
        self.hash_number = NumberHasher(load_key(settings.hash_key, settings.instance_path), settings.default_region)
        self.storage = storage or Storage(settings.database_url)
        self.usage = UsageRecorder(self.storage, self.hash_number, default_language=self.default_language)
        self.sender = sender or TwilioSender(settings.account_sid, settings.auth_token, settings.api_url, settings.rest_timeout)

    def _languages_by_number(self, settings: Settings) -> dict[str, str]:
        if settings.default_language not in self.scripts:
            raise ConfigError(f"IVR_DEFAULT_LANGUAGE={settings.default_language!r}: prompts/ has {sorted(self.scripts)}")
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
        texts = self.content.languages.get(lang, self.content.languages[self.default_language]).sms
        return content_module.render_sms(texts[key], self.content.contacts, texts)

    def status_callback_url(self) -> str | None:
        """Absolute URL of the delivery-status webhook, when it exists and is switched on."""
        if not self.settings.status_callback or not has_request_context() or "delivery.status" not in current_app.view_functions:
            return None
        base = self.settings.public_base_url or request.host_url.rstrip("/")
        return base + url_for("delivery.status")


@lru_cache(maxsize=256)
def _our_number(called: str | None, region: str) -> str | None:
    """normalise() for the number a call or text came in on: one of ours, so a handful of values (saves ~15 us a webhook)."""
    return normalise(called, region)
