"""The phone menu as TwiML, for one language.

Everything that does not depend on who is calling is rendered once, at start-up, and served from
memory. Where the caller is travels in the URLs Twilio posts back, so any instance can answer.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache, cached_property
from urllib.parse import urlencode

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from ivr.content.prompts import ACTIONS, TEXT_OUTCOMES, Content, ContentError, Kind, relative_name
from ivr.outcomes import DialOutcome, TextOutcome
from ivr.voice.speech import Speaker
from ivr.voice.understand import Understander

XML = bytes
SAY_LIMIT = 3000  # characters Twilio takes in one <Say>; a longer one fails the call with an application error


def build_scripts(content: Content, rate: str, gather_timeout: int, silence_tries: int, dial_timeout: int) -> dict[str, VoiceScript]:
    """One script per language of ``content``, each offering the others, every response rendered.

    Rendering at start-up is what turns a prompt that Twilio would refuse into a ContentError now,
    not a failed call later; it needs every language's script, so it comes after all are built.
    """
    scripts: dict[str, VoiceScript] = {}
    for lang in content.languages:
        scripts[lang] = VoiceScript(content, lang, rate, gather_timeout, silence_tries, dial_timeout, siblings=scripts)
    for script in scripts.values():
        script.warm()
    return scripts


class VoiceScript:
    def __init__(
        self,
        content: Content,
        lang: str,
        rate: str,
        gather_timeout: int,
        silence_tries: int,
        dial_timeout: int,
        siblings: dict[str, VoiceScript] | None = None,
    ):
        self.content = content
        self.lang = lang
        self.words = content.languages[lang].voice
        self.speaker = Speaker(self.words, rate, content.contacts)
        self.siblings = siblings if siblings is not None else {lang: self}  # every language's script, this one too
        known = set(content.menus) | set(content.answers) | set(content.contacts) | set(ACTIONS) | {"main"}
        self.understander = Understander(self.words, known=known, transfers=frozenset(content.contacts))
        self.gather_timeout = gather_timeout
        self.silence_tries = silence_tries
        self.dial_timeout = dial_timeout

    @cached_property
    def offers(self) -> tuple[tuple[VoiceScript, str], ...]:
        """The other languages offered before the welcome: (their script, the key that chooses them)."""
        keys = self.content.language_keys.items()
        return tuple((self.siblings[other], key) for other, key in keys if other != self.lang and other in self.siblings)

    # --- URLs (relative: Twilio resolves them against the URL it just requested) ---------------
    def url(self, kind: str, name: str, **query) -> str:
        query = {k: v for k, v in sorted(query.items()) if v not in (None, "", 0)}
        return f"/voice/{self.lang}/{kind}/{name}" + (f"?{urlencode(query)}" if query else "")

    # --- what is said -------------------------------------------------------------------------
    def text(self, dotted: str) -> str:
        value = self.words
        for part in dotted.split("."):
            value = value[part]
        return value

    def menu_words(self, name: str) -> list[str]:
        offered = self.content.menus[name]
        lines = [self.words["menus"].get(name, "")]
        lines += [self.words["choices"][t].replace("{key}", self._key_name(k)) for k, t in offered.items()]
        for key, target in self.content.always.items():
            if target in offered.values() or (target == "main" and name == "main"):
                continue
            if name == "closed" and self.content.kind(target) is Kind.TRANSFER:
                continue  # "talk with a person" is no promise to make while a line is closed (0 still connects)
            lines.append(self.words["always_hints"][target].replace("{key}", self._key_name(key)))
        return lines

    def _key_name(self, key: str) -> str:
        return {"*": self.words["key_words"]["*"][0], "#": self.words["key_words"]["#"][0]}.get(key, key)

    # --- responses ------------------------------------------------------------------------------
    @cache
    def menu(
        self,
        name: str,
        tries: int = 0,
        answer: str | None = None,
        before: tuple[str, ...] = (),
        lead: tuple[str, ...] = (),
        contact: str | None = None,
        welcome: bool = False,
    ) -> XML:
        """``lead`` is said first and cannot be skipped; ``before`` opens the menu and can be.

        ``answer`` and ``contact`` travel in the URLs (what to repeat, whom to connect anyway);
        ``welcome`` offers the other languages first.
        """
        response = VoiceResponse()
        if tries >= self.silence_tries:
            response.append(self.speaker.say(self.text("silence_goodbye")))
            response.hangup()
            return response.to_xml().encode()
        if lead:
            response.append(self.speaker.say(*lead))
        if tries:
            before = ("silence_warning", *before)
        offered = self.content.options(name)
        gather = Gather(
            input="dtmf speech",
            num_digits=1,
            timeout=self.gather_timeout,
            speech_timeout="auto",
            language=self.words["language"],
            hints=self.understander.hints(set(offered.values())),
            # tries travels on: speech that holds no words counts as one more silence (voice.choose)
            action=self.url("choose", name, answer=answer, contact=contact, welcome=int(welcome), tries=tries),
            method="POST",
        )
        if welcome:
            for other, key in self.offers:
                gather.append(other.speaker.say(other.text("language_offer"), key=key))
        gather.append(self.speaker.say(*(self.text(k) for k in before), *self.menu_words(name)))
        response.append(gather)
        context = {"answer": answer, "contact": contact, "welcome": int(welcome)}
        response.redirect(self.url("menu", name, tries=tries + 1, **context), method="POST")
        return response.to_xml().encode()

    def answer(self, name: str, before: tuple[str, ...] = ()) -> XML:
        return self.menu("after_answer", answer=name, before=before, lead=(self.words["answers"][name],))

    def welcome(self, offer: bool = True) -> XML:
        return self.menu("main", before=("welcome",), welcome=offer and bool(self.offers))

    def language_for(self, digits: str) -> str | None:
        """At the welcome: the language a key chooses, if it chooses one."""
        return next((other.lang for other, key in self.offers if key == digits[:1]), None)

    def error(self) -> XML:
        return self.menu("main", before=("error",))

    @cache
    def numbers_aloud(self, twice: bool) -> tuple[str, ...]:
        numbers = self.text("numbers_aloud")
        return (numbers, self.text("text.repeat_numbers"), numbers) if twice else (numbers,)

    @cache
    def text_outcome(self, outcome: TextOutcome) -> XML:
        """What the caller hears after asking for the numbers by text, then the main menu."""
        lead = (self.text(f"text.{outcome}"),)
        if outcome is not TextOutcome.SENT:
            lead += self.numbers_aloud(twice=outcome in (TextOutcome.CANNOT_RECEIVE, TextOutcome.NO_CALLER_ID))
        return self.menu("main", lead=lead)

    def closed(self, contact: str) -> XML:
        """The line is outside its hours: say when it is open, offer the text or connecting anyway."""
        return self.menu("closed", contact=contact, lead=(self.text(f"transfer.closed.{contact}"),))

    def transfer(self, contact: str, caller_id: str | None) -> XML:
        response = VoiceResponse()
        response.append(self.speaker.say(self.text(f"transfer.connecting.{contact}")))
        dial = Dial(
            caller_id=caller_id,
            timeout=self.dial_timeout,
            action=self.url("transfer", contact + "/done"),
            method="POST",
        )
        dial.number(self.content.contacts[contact].phone)
        response.append(dial)
        return response.to_xml().encode()

    @cache
    def transfer_done(self, status: DialOutcome) -> XML:
        """``status``: already mapped from Twilio's DialCallStatus, so the cache holds five entries at most."""
        if status is DialOutcome.COMPLETED:
            response = VoiceResponse()
            response.append(self.speaker.say(self.text("goodbye")))
            response.hangup()
            return response.to_xml().encode()
        return self.menu("after_failed_transfer", lead=(self.text(f"transfer.{status}"), self.text("transfer.offer")))

    @cache
    def fallback(self) -> XML:
        """For Twilio's Fallback URL: no database, no REST call, just a way to a person, in every language."""
        response = VoiceResponse()
        response.append(self.speaker.say(self.text("fallback")))
        for other, _key in self.offers:
            response.append(other.speaker.say(other.text("fallback")))
        response.dial(self.content.contacts[self.content.person].phone, timeout=self.dial_timeout)
        return response.to_xml().encode()

    # --- understanding the caller ---------------------------------------------------------------
    def resolve(self, menu: str, digits: str, speech: str) -> str | None:
        offered = self.content.options(menu)
        digits = (digits or "").strip()
        if digits:
            return offered.get(digits[:1])
        if speech:
            return self.understander.target_from_speech(speech[:500], offered)
        return None

    def warm(self) -> None:
        """Render every response that does not depend on the caller, so errors show at start-up."""
        problems: list[tuple[str, str, str]] = []

        def render(key: str, xml: XML) -> None:
            for say in ET.fromstring(xml).iter("Say"):
                length = len(" ".join(" ".join(say.itertext()).split()))
                if length > SAY_LIMIT:
                    reason = f"says {length} characters at once; Twilio takes at most {SAY_LIMIT:,} in one <Say>: shorten it"
                    problems.append((relative_name(self.content.root, self.content.root / self.lang / "voice.yaml"), key, reason))

        render("welcome", self.welcome())
        render("error", self.error())
        render("fallback", self.fallback())
        for name in self.content.menus:
            for tries in range(self.silence_tries + 1):
                render(f"menus.{name}", self.menu(name, tries=tries))
            render(f"menus.{name}", self.menu(name, before=("not_a_choice",)))
        for name in self.content.answers:
            render(f"answers.{name}", self.answer(name))
            for tries in range(self.silence_tries + 1):
                render(f"answers.{name}", self.menu("after_answer", tries=tries, answer=name))
            render(f"answers.{name}", self.menu("after_answer", answer=name, before=("not_a_choice",)))
        for contact in self.content.contacts.values():
            if contact.hours:
                render(f"transfer.closed.{contact.name}", self.closed(contact.name))
        for outcome in TEXT_OUTCOMES:
            render(f"text.{outcome}", self.text_outcome(outcome))
        for status in DialOutcome:
            render("transfer", self.transfer_done(status))
        if problems:
            raise ContentError(list(dict.fromkeys(problems)))  # each once, however many renderings repeat it
