"""The text line's replies, rendered once at start-up as MessagingResponse XML, and its keyword matcher.

A reply never depends on who texted, so each (channel, language, reply) is a few hundred bytes in
memory. By SMS a reply is GSM-7 (accents GSM-7 lacks dropped, see content.sms_form); on WhatsApp it
is the text exactly as written, or its WhatsApp variant (prompts/<lang>/whatsapp.yaml) where there is
one. Which reply a text gets is decided in webhooks.py; the words are all in prompts/<lang>/.
"""

from __future__ import annotations

from twilio.twiml.messaging_response import MessagingResponse

from ivr.channels import Channel
from ivr.content.folding import words as folded_words
from ivr.content.prompts import SMS_TEXTS, Content, _texts, message_keys
from ivr.sms import keywords

XML = bytes
EMPTY: XML = MessagingResponse().to_xml().encode()  # <Response />: Twilio sends nothing
MESSAGING = (Channel.SMS, Channel.WHATSAPP)


class SmsReplies:
    def __init__(self, content: Content, default_language: str = "en"):
        self.content = content
        self.default_language = default_language if default_language in content.languages else next(iter(content.languages))
        ordered = [self.default_language, *(code for code in content.languages if code != self.default_language)]
        sms = {code: content.languages[code].sms for code in ordered}
        self.topics: list[str] = list(sms[self.default_language].get("topics") or [])
        self.matcher = keywords.Matcher(
            {code: words.get("keywords") or {} for code, words in sms.items()},
            self.topics,
            {code: words.get("number_words") or [] for code, words in sms.items()},
            question_words={code: words.get("question_words") or [] for code, words in sms.items()},
            reactions={code: words.get("reactions") or [] for code, words in sms.items()},
            thanks_emoji={code: words.get("thanks_emoji") or [] for code, words in sms.items()},
            vocabulary={code: vocabulary(content, code) for code in ordered},
        )
        self.texts: dict[tuple[str, str, str], str] = {}
        self.xml: dict[tuple[str, str, str], XML] = {}
        for code, words in sms.items():
            variants = content.languages[code].whatsapp
            for key in message_keys(words):
                raw = words["answers"][key.partition(".")[2]] if key.startswith("answers.") else words[key]
                for channel in MESSAGING:
                    written = variants.get(key, raw) if channel == Channel.WHATSAPP else raw
                    text = content.render_sms(written, words, channel, code)
                    response = MessagingResponse()
                    response.message(text)
                    self.texts[(channel, code, key)] = text
                    self.xml[(channel, code, key)] = response.to_xml().encode()

    @staticmethod
    def key_for(intent: str) -> str:
        """The sms.yaml text that answers an intent: a topic's answer, or the text of that name."""
        if intent in (keywords.UNKNOWN, keywords.EMPTY):
            return "unknown"  # what to send (RECUR, a number, NCI, HELP): also for a text of emoji only
        return intent if intent in SMS_TEXTS else f"answers.{intent}"

    def _lang(self, lang: str | None) -> str:
        return lang if lang in self.content.languages else self.default_language

    def text(self, lang: str | None, key: str, channel: str = Channel.SMS) -> str:
        return self.texts[(channel, self._lang(lang), key)]

    def reply(self, lang: str | None, key: str, channel: str = Channel.SMS) -> XML:
        return self.xml[(channel, self._lang(lang), key)]


def vocabulary(content: Content, code: str) -> set[str]:
    """Every folded word of a language's texts, spoken words, keywords and crisis phrases: what tells a
    text in that language from one in another, when no keyword does."""
    language = content.languages[code]
    found: set[str] = set()
    for part in (language.voice, language.sms, language.crisis):
        for _, text in _texts(part):
            found.update(folded_words(text))
    return {w for w in found if not w.isdigit()}
