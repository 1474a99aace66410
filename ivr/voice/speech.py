"""Turn a prompt's text into a <Say>: one voice, a slower rate, phone numbers read as numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from twilio.twiml.voice_response import Say

from ivr.content.prompts import PLACEHOLDER, Contact, contact_part, local_info


class Speaker:
    """Says prompt text for one language."""

    def __init__(self, words: dict, rate: str, contacts: dict[str, Contact], lang: str | None = None, numbers: dict | None = None):
        """``words``: the language's voice.yaml; ``lang``: its folder in prompts/ (default: from its ``language``, es-US -> es);
        ``numbers``: the crisis numbers ({crisis.lifeline}: 988), said digit by digit."""
        self.voice = words["voice"]
        self.language = words["language"]
        self.lang = lang or self.language.split("-")[0].lower()
        self.rate = rate
        self.contacts = contacts
        self.words = words
        self.numbers = numbers or {}

    def say(self, *texts: str, **fill) -> Say:
        """One <Say> for ``texts`` in order; ``fill`` replaces {name} placeholders such as {key}."""
        say = Say(voice=self.voice, language=self.language)
        prosody = say.prosody(rate=self.rate)
        pending = ""  # the twilio builder keeps only the last of two strings appended in a row
        text = " ".join(" ".join(t.split()) for t in texts if t and t.strip())
        text = text.replace("{local_info}", local_info(self.words, self.contacts))
        for part in self._parts(text, fill):
            if isinstance(part, str):
                pending += part
                continue
            if pending:
                prosody.append(pending)
                pending = ""
            kind, value = part
            if kind == "pause":
                prosody.break_(time="1s")
            elif kind == "digits":
                prosody.say_as(value, interpret_as="digits")
            else:
                prosody.say_as(value, interpret_as="telephone")
        if pending:
            prosody.append(pending)
        return say

    def _parts(self, text: str, fill: dict):
        """Text pieces, and ("pause", None) or ("phone", digits) where the text asks for them."""
        position = 0
        for match in PLACEHOLDER.finditer(text):
            yield text[position : match.start()]
            position = match.end()
            name = match.group(1)
            contact, _, part = name.partition(".")
            if name == "pause":
                yield ("pause", None)
            elif name in fill:
                yield str(fill[name])
            elif contact == "crisis" and part in self.numbers:
                yield ("digits", self.numbers[part])
            elif contact in self.contacts and part == "phone":
                yield ("phone", self.contacts[contact].spoken)
            elif contact in self.contacts:
                yield contact_part(self.contacts[contact], part, self.words.get("hours"), self.lang)
            else:  # content.load() rejects unknown placeholders, so this is a programming error
                raise KeyError(f"no value for placeholder {{{name}}}")
        yield text[position:]


def spoken_text(element: ET.Element) -> str:
    """What a listener hears from a <Say>: text and telephone numbers, pauses as spaces."""
    return " ".join("".join(element.itertext()).split())
