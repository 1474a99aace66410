"""The text line's replies, rendered once at start-up as MessagingResponse XML, and its keyword matcher.

A reply never depends on who texted, so each (language, reply) is a few hundred bytes in memory.
Which reply a text gets is decided in ivr/sms/webhooks.py; the words are all in prompts/<lang>/sms.yaml.
"""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse

from ivr.content.prompts import SMS_TEXTS, Content, render_sms
from ivr.sms import keywords

XML = bytes
EMPTY: XML = MessagingResponse().to_xml().encode()  # <Response />: Twilio sends nothing


class SmsReplies:
    def __init__(self, content: Content, default_language: str = "en"):
        self.content = content
        self.default_language = default_language if default_language in content.languages else next(iter(content.languages))
        ordered = [self.default_language, *(code for code in content.languages if code != self.default_language)]
        sms = {code: content.languages[code].sms for code in ordered}
        self.topics: list[str] = list(sms[self.default_language].get("topics") or [])
        self.matcher = keywords.Matcher({code: words.get("keywords") or {} for code, words in sms.items()}, self.topics)
        self.texts: dict[tuple[str, str], str] = {}
        self.xml: dict[tuple[str, str], XML] = {}
        for code, words in sms.items():
            for key in (*SMS_TEXTS, *(f"answers.{t}" for t in words.get("topics") or [])):
                raw = words["answers"][key.partition(".")[2]] if key.startswith("answers.") else words[key]
                text = render_sms(raw, content.contacts, words)
                response = MessagingResponse()
                response.message(text)
                self.texts[(code, key)] = text
                self.xml[(code, key)] = response.to_xml().encode()

    @staticmethod
    def key_for(intent: str) -> str:
        """The sms.yaml text that answers an intent: a topic's answer, or the text of that name."""
        if intent in (keywords.UNKNOWN, keywords.EMPTY):
            return "help" if intent == keywords.EMPTY else "unknown"
        return intent if intent in SMS_TEXTS else f"answers.{intent}"

    def _lang(self, lang: str | None) -> str:
        return lang if lang in self.content.languages else self.default_language

    def text(self, lang: str | None, key: str) -> str:
        return self.texts[(self._lang(lang), key)]

    def reply(self, lang: str | None, key: str) -> XML:
        return self.xml[(self._lang(lang), key)]
