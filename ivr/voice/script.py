"""The phone menu as TwiML, for one language.

Everything that does not depend on who is calling is rendered once, at start-up, and served from
memory. Where the caller is travels in the URLs Twilio posts back, so any instance can answer.

The caller is in control: every sentence is said inside a <Gather>, so a key cuts it short, and a
key pressed while something is said does what it does at the menu that follows. Only the words just
before a <Dial> or a <Hangup> stand outside one. Long things (answers, the numbers read aloud, text
outcomes, closed hours, a failed transfer) are said in a keys-only <Gather> (input="dtmf"): keys
interrupt them, speech does not, so a television or a relative talking in the room never stops an
answer (README, "Speech while an answer plays"). The menu that follows takes keys and speech.

A document is planned first (blocks of what is said, each a ``Said``) and rendered from the plan;
tools.prompts_check times the same plans for the call-time budget.
"""

from __future__ import annotations

import copy
import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from functools import cache, cached_property
from urllib.parse import urlencode

from twilio.twiml.voice_response import Dial, Gather, Play, VoiceResponse

from ivr.content.prompts import ACTIONS, Content, ContentError, Kind, relative_name
from ivr.content.recordings import Recording
from ivr.outcomes import DialOutcome, TextOutcome
from ivr.voice.speech import Speaker, spoken_text
from ivr.voice.turn import TEXT_TOLD
from ivr.voice.understand import Understander

XML = bytes
SAY_LIMIT = 3000  # characters Twilio takes in one <Say>; a longer one fails the call with an application error
# finishOnKey="" on every <Gather>: Twilio's default is #, which would end it with no digits (silence), though
# # is a key the menus answer ("not one of the choices") like any other.
KEYS_TIMEOUT = 1  # seconds a keys-only <Gather> waits after its words before the menu goes on (Twilio's least)
TEXT_WAIT_PAUSE = 1  # seconds of silence while "text me" waits for Twilio, before the line asks again
TICKET = b"TICKET0placeholder0"  # where a ticket goes in the rendered "one moment"
# Placeholders whose value is the deployment's, not prompts/': a recording cannot say them.
VARYING = re.compile(r"\{(local_info|local\.[a-z]+|[a-z]+\.hours)\}")


@dataclass(frozen=True)
class Said:
    """One prompt said in a document: whose voice, which voice.yaml key, its text, the key it offers."""

    lang: str
    key: str
    text: str  # {key} already filled in
    offers: str | None = None  # the key this sentence tells the caller to press, when it is a choice


# A document: blocks in order, each ("keys" | "menu" | "plain", what is said), then how it ends.
Block = tuple[str, tuple[Said, ...]]


@dataclass(frozen=True)
class Plan:
    blocks: tuple[Block, ...]
    end: str  # "redirect" (no key: the menu again), "hangup" or "dial"


def build_scripts(
    content: Content,
    rate: str,
    gather_timeout: int,
    silence_tries: int,
    dial_timeout: int,
    recordings: dict[str, dict[str, Recording]] | None = None,
    audio_base: str = "",
) -> dict[str, VoiceScript]:
    """One script per language of ``content``, each offering the others, every response rendered.

    Rendering at start-up is what turns a prompt that Twilio would refuse (or a recording that no
    longer says its text) into a ContentError now, not a failed call later; it needs every
    language's script, so it comes after all are built.
    """
    scripts: dict[str, VoiceScript] = {}
    for lang in content.languages:
        scripts[lang] = VoiceScript(
            content,
            lang,
            rate,
            gather_timeout,
            silence_tries,
            dial_timeout,
            siblings=scripts,
            recordings=(recordings or {}).get(lang),
            audio_base=audio_base,
        )
    for script in scripts.values():
        script.warm()
        if script.all_hours_closed is not script:
            script.all_hours_closed.warm()  # after hours: the same menus, saying what 0 does then
    return scripts


def _plain(text: str) -> str:
    """Lower case, no accents or punctuation: how spoken language names are compared."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return " ".join(re.sub(r"[^\w\s]", " ", "".join(c for c in decomposed if not unicodedata.combining(c))).split())


# A call's text state (where "text me" stands), for the menus: None, a text may go; TEXT_OFF, the caller
# ID is one the line cannot text (text_me.refused_before_sending, known from every request's From, so it
# need not travel); TEXT_TOLD, the caller heard so earlier in the call (travels in the URLs, ?text=told).
# Either way the menus offer no text (README "What a caller gets"); after TEXT_TOLD, the text key is short.
TEXT_OFF = "off"

# Outcomes where no text will ever come: the numbers are read twice (time to find a pen).
ONLY_ALOUD = (
    TextOutcome.CANNOT_RECEIVE,
    TextOutcome.NO_CALLER_ID,
    TextOutcome.UNUSABLE_NUMBER,
    TextOutcome.ABROAD,
    TextOutcome.NOT_MOBILE,
)


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
        recordings: dict[str, Recording] | None = None,
        audio_base: str = "",
    ):
        self.content = content
        self.lang = lang
        self.words = content.languages[lang].voice
        self.speaker = Speaker(self.words, rate, content.contacts, lang, content.crisis_numbers)
        self.siblings = siblings if siblings is not None else {lang: self}  # every language's script, this one too
        known = set(content.menus) | set(content.answers) | set(content.contacts) | set(ACTIONS) | {"main"}
        self.understander = Understander(self.words, known=known, transfers=frozenset(content.contacts))
        self.gather_timeout = gather_timeout
        self.silence_tries = silence_tries
        self.dial_timeout = dial_timeout
        self.recordings = recordings or {}
        self.audio_base = audio_base.rstrip("/")
        self.names = {_plain(n) for n in self.words.get("language_names") or []}  # what callers call this language
        self.fillers = {_plain(w) for w in (self.words.get("ignore_words") or []) + (self.words.get("key_prefixes") or [])}
        self.closed_now: frozenset[str] = frozenset()  # the contacts closed at this moment: see at()
        self.base = self  # the script of opening hours, that each variant of at() is a copy of
        self._at_last: tuple[int, VoiceScript] | None = None  # at(): the last minute asked, and its script

    # --- the moment of the call ------------------------------------------------------------------
    def at(self, now: datetime) -> VoiceScript:
        """This script as it must speak at ``now``: "0 at any time" says what 0 does while its line is closed.

        The responses stay rendered once: one script for each set of closed contacts (a few at most),
        each with its own cache.
        """
        minute = int(now.timestamp()) // 60  # opening hours change on the minute at most: asked once a minute
        last = self.base._at_last
        if last is not None and last[0] == minute:
            return last[1]
        closed = frozenset(name for name, contact in self.content.contacts.items() if contact.hours and not contact.hours.is_open(now))
        variant = self.while_closed(closed)
        self.base._at_last = (minute, variant)  # one tuple, swapped whole: safe across threads
        return variant

    @cache
    def while_closed(self, closed: frozenset[str]) -> VoiceScript:
        """This script while the contacts ``closed`` are outside their hours."""
        if self.base is not self:
            return self.base.while_closed(closed)
        if not closed:
            return self
        variant = copy.copy(self)
        variant.closed_now = closed
        return variant

    @cached_property
    def all_hours_closed(self) -> VoiceScript:
        """This script while every contact with hours is closed: for start-up checks and the budget."""
        return self.while_closed(frozenset(name for name, contact in self.content.contacts.items() if contact.hours))

    @cached_property
    def offers(self) -> tuple[tuple[VoiceScript, str], ...]:
        """The other languages, each offered with the key that chooses it: (their script, the key)."""
        keys = self.content.language_keys.items()
        return tuple((self.siblings[other], key) for other, key in keys if other != self.lang and other in self.siblings)

    # --- URLs (relative: Twilio resolves them against the URL it just requested) ---------------
    def url(self, kind: str, name: str, **query) -> str:
        query = {k: v for k, v in sorted(query.items()) if v not in (None, "", 0)}
        return f"/voice/{self.lang}/{kind}/{name}" + (f"?{urlencode(query)}" if query else "")

    def audio_url(self, recording: Recording) -> str:
        return f"{self.audio_base}/audio/{self.lang}/{recording.filename}?v={recording.version}"

    # --- what is said -------------------------------------------------------------------------
    def text(self, dotted: str) -> str:
        value = self.words
        for part in dotted.split("."):
            value = value[part]
        return value

    def said(self, dotted: str, offers: str | None = None, **fill) -> Said:
        text = self.text(dotted)
        for name, value in fill.items():
            text = text.replace("{" + name + "}", value)
        return Said(self.lang, dotted, text, offers)

    def _key_name(self, key: str) -> str:
        return {"*": self.words["key_words"]["*"][0], "#": self.words["key_words"]["#"][0]}.get(key, key)

    def _offer(self, key: str) -> Said:
        """This language's offer, in its own voice: "Para español, oprima 9"."""
        return self.said("language_offer", offers=key, key=self._key_name(key))

    def menu_said(self, name: str, heading: bool = True, offer: bool = True, skip: str | None = None, no_text: bool = False) -> list[Said]:
        """The menu's heading, its choices, the always keys it does not offer; the main menu ends with the
        language offers (``offer``). ``skip``: a choice not offered (the line whose transfer just failed);
        ``no_text``: no offer of a text this call cannot get. Their keys still work."""
        offered = self.content.menus[name]
        said = [self.said(f"menus.{name}")] if heading and self.words["menus"].get(name) else []
        said += [
            self.said(self._choice_key(t), offers=k, key=self._key_name(k))
            for k, t in offered.items()
            if t != skip and not (no_text and self.content.kind(t) is Kind.TEXT)
        ]
        for key, target in self.content.always.items():
            if target in offered.values() or (target == "main" and name == "main"):
                continue
            if name == "closed" and self.content.kind(target) is Kind.TRANSFER:
                continue  # "talk with a person" is no promise to make while a line is closed (0 still connects)
            hint = "always_hints_closed" if target in self.closed_now else "always_hints"  # what the key does now
            said.append(self.said(f"{hint}.{target}", offers=key, key=self._key_name(key)))
        if name == "main" and offer:
            said += [other._offer(key) for other, key in self.offers]
        return said

    def _choice_key(self, target: str) -> str:
        """choices.<target>; while that line is closed, choices_closed.<target> when voice.yaml has it (what the key does then)."""
        if target in self.closed_now and isinstance((self.words.get("choices_closed") or {}).get(target), str):
            return f"choices_closed.{target}"
        return f"choices.{target}"

    def menu_words(self, name: str) -> list[str]:
        return [s.text for s in self.menu_said(name)]

    # --- plans ----------------------------------------------------------------------------------
    def plan_menu(
        self,
        name: str,
        tries: int = 0,
        before: tuple[str, ...] = (),
        lead: tuple[str, ...] = (),
        opening: bool = False,
        skip: str | None = None,
        no_text: bool = False,
    ) -> Plan:
        """``lead`` is said first, keys only; ``before`` opens the menu. ``opening``: the call's first words, the
        language offers first. A re-prompt (after a silence, or a key that is no choice) says no language
        offer at all: the caller heard it with the menu just before, and hearing it at every re-prompt
        only delays the choices; its key (9) and the language's name still work there."""
        if tries >= self.silence_tries:
            return Plan((("plain", (self.said("silence_goodbye"),)),), "hangup")
        reprompt = bool(tries) or "not_a_choice" in before or "not_sure" in before
        blocks: list[Block] = []
        if lead:
            blocks.append(("keys", tuple(self.said(k) for k in lead)))
        said = [other._offer(key) for other, key in self.offers] if opening and not reprompt else []  # once: the menu ends with it
        if tries:
            before = ("silence_warning", *before)
        said += [self.said(k) for k in before]
        said += self.menu_said(
            name, heading="welcome" not in before, offer=not reprompt, skip=skip, no_text=no_text
        )  # the welcome says what this is
        blocks.append(("menu", tuple(said)))
        return Plan(tuple(blocks), "redirect")

    @staticmethod
    def carried(text: str | None) -> str | None:
        """What of the text state travels in the URLs: only TEXT_TOLD (TEXT_OFF is known again from From)."""
        return TEXT_TOLD if text == TEXT_TOLD else None

    def plan_transfer(self, contact: str) -> Plan:
        return Plan((("plain", (self.said(f"transfer.connecting.{contact}"),)),), "dial")

    # --- rendering ------------------------------------------------------------------------------
    def _voice(self, lang: str) -> VoiceScript:
        return self if lang == self.lang else next(other for other, _ in self.offers if other.lang == lang)

    def recording(self, said: Said) -> Recording | None:
        """The recording that says ``said``, when there is one and it says exactly that."""
        recording = self._voice(said.lang).recordings.get(said.key)
        if recording is None or VARYING.search(said.text) or recording.text != self.heard(said):
            return None  # never used: warm() refuses such a recording at start-up
        return recording

    def heard(self, said: Said) -> str:
        """What a listener hears of ``said``, as text: what its recording's .txt must hold."""
        say = self._voice(said.lang).speaker.say(said.text)
        return spoken_text(ET.fromstring(say.to_xml(xml_declaration=False)))

    def _append(self, parent, said: tuple[Said, ...]) -> None:
        """One <Say> for each run of synthesised sentences in one voice, a <Play> for each recording."""
        run: list[Said] = []

        def flush():
            if run:
                parent.append(self._voice(run[0].lang).speaker.say(*(s.text for s in run)))
                run.clear()

        for item in said:
            recording = self.recording(item)
            if recording is not None:
                flush()
                parent.append(Play(self._voice(item.lang).audio_url(recording)))
            else:
                if run and run[0].lang != item.lang:
                    flush()
                run.append(item)
        flush()

    def _hints(self, name: str) -> str:
        hints = self.understander.hints(set(self.content.options(name).values()))
        names = [n for other, _ in self.offers for n in other.words.get("language_names") or []]
        return ", ".join([hints, *names]) if names else hints

    def render(self, plan: Plan, name: str = "main", action: str = "", redirect: str = "") -> XML:
        response = VoiceResponse()
        for kind, said in plan.blocks:
            if kind == "plain":
                self._append(response, said)
                continue
            if kind == "keys":
                gather = Gather(input="dtmf", num_digits=1, finish_on_key="", timeout=KEYS_TIMEOUT, action=action, method="POST")
            else:
                gather = Gather(
                    input="dtmf speech",
                    num_digits=1,
                    finish_on_key="",
                    timeout=self.gather_timeout,
                    speech_timeout="auto",
                    language=self.words["language"],
                    hints=self._hints(name),
                    action=action,
                    method="POST",
                )
            self._append(gather, said)
            response.append(gather)
        if plan.end == "hangup":
            response.hangup()
        elif plan.end == "redirect":
            response.redirect(redirect, method="POST")
        return response.to_xml().encode()

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
        text: str | None = None,
    ) -> XML:
        """``lead`` (keys: dotted voice.yaml keys) is said first, keys only; ``before`` opens the menu.

        ``answer`` and ``contact`` travel in the URLs (what to repeat; the line that is closed, to connect
        anyway, or whose transfer just failed, not offered again first). ``welcome``: the call's first
        words, the other languages offered first; it does not travel on, since what follows the welcome
        is a re-prompt or another menu, never the welcome again. A key pressed during ``lead`` is posted
        to the same URL as one pressed at the menu, so it does the same. ``text``: the call's text state
        (TEXT_OFF, TEXT_TOLD: no text offered).
        """
        skip = contact if name == "after_failed_transfer" else None
        plan = self.plan_menu(name, tries, before, lead, opening=welcome and bool(self.offers), skip=skip, no_text=text is not None)
        # tries travels on: speech that holds no words counts as one more silence (voice.choose)
        told = self.carried(text)
        action = self.url("choose", name, answer=answer, contact=contact, tries=tries, text=told)
        redirect = self.url("menu", name, tries=tries + 1, answer=answer, contact=contact, text=told)
        return self.render(plan, name, action, redirect)

    def answer(self, name: str, before: tuple[str, ...] = (), text: str | None = None) -> XML:
        return self.menu("after_answer", answer=name, before=before, lead=(f"answers.{name}",), text=text)

    def welcome(self, offer: bool = True, text: str | None = None) -> XML:
        return self.menu("main", before=("welcome",), welcome=offer and bool(self.offers), text=text)

    def language_for(self, key: str | None) -> VoiceScript | None:
        """The other language a key chooses (9), at any menu."""
        return next((other for other, k in self.offers if key and k == key[:1]), None)

    def language_named(self, speech: str) -> VoiceScript | None:
        """The other language the caller named ("español", "Spanish"), when that is all they said."""
        words = [w for w in _plain(speech[:200]).split() if w not in self.fillers]
        said = " ".join(words)
        for other, _ in self.offers:
            if said and (said in other.names or " ".join(w for w in words if w not in other.fillers) in other.names):
                return other
        return None

    def switched_to(self, menu: str, answer: str | None, contact: str | None, text: str | None = None) -> XML:
        """Where a caller lands in this language when they choose it at ``menu`` of another."""
        if menu == "main":
            return self.welcome(offer=False, text=text)  # the welcome, in words they understand
        if menu == "after_answer" and answer:
            return self.answer(answer, text=text)  # the answer they were hearing, again, in this language
        if menu == "closed" and contact:
            return self.closed(contact, text=text)  # that it is closed and when it opens, in words they understand
        return self.menu(menu, answer=answer, contact=contact, text=text)

    def error(self, text: str | None = None) -> XML:
        """The apology after a failure, then the main menu; ``text``: the call's text state, which the
        failed request carried (a call told it cannot be texted is not offered a text again)."""
        return self.menu("main", before=("error",), text=text)

    def wrong_method(self) -> XML:
        """A webhook set to HTTP GET: a plain apology, keys only (a key does what it does at the menu), then the
        welcome. Every caller hears it until the setting is fixed, so it says nothing technical: the log
        line names the fix for the people who run the line (webhook_methods)."""
        return self.menu("main", before=("welcome",), lead=("wrong_method",), welcome=bool(self.offers))

    @cache
    def numbers_aloud(self, twice: bool) -> tuple[str, ...]:
        return ("numbers_aloud", "text.repeat_numbers", "numbers_aloud") if twice else ("numbers_aloud",)

    def text_outcome_lead(self, outcome: TextOutcome) -> tuple[str, ...]:
        """What happened to the text, then, when none is on its way, the numbers: after "you may want a
        pen and paper" (text.pen_and_paper), said here once for every outcome that reads them."""
        lead = (f"text.{outcome}",)
        if outcome not in (TextOutcome.SENT, TextOutcome.ALREADY_SENT):
            lead += ("text.pen_and_paper", *self.numbers_aloud(twice=outcome in ONLY_ALOUD))
        return lead

    @cache
    def text_outcome(self, outcome: TextOutcome, text: str | None = None) -> XML:
        """What the caller hears after asking for the numbers by text, then the main menu. After an
        outcome that no text will follow in this call (ONLY_ALOUD), the menus offer no text again."""
        return self.menu("main", lead=self.text_outcome_lead(outcome), text=TEXT_TOLD if outcome in ONLY_ALOUD else text)

    def text_refused_again(self) -> XML:
        """The text key again, after this call heard that no text can reach it: one short sentence, not the
        numbers twice more (they were read twice already), then the main menu."""
        return self.menu("main", lead=("text.cannot_again",), text=TEXT_TOLD)

    def plan_text_wait(self, first: bool = True) -> Plan:
        return Plan((("keys", (self.said("text.one_moment"),) if first else ()),), "redirect")

    def text_wait(self, ticket: str, due: int, first: bool = True, pause: int = TEXT_WAIT_PAUSE) -> XML:
        """ "Text me" while Twilio has not answered: "one moment" (``first``), ``pause`` seconds, then
        Twilio asks the ticket's URL again. A key cuts it short and asks at once (webhooks.text_result).

        ``ticket``: URL-safe (secrets.token_urlsafe); rendered once, the ticket put in by replace."""
        template = self._text_wait(first, pause)
        return template.replace(b"/" + TICKET + b"?due=1", f"/{ticket}?due={due}".encode())

    @cache
    def _text_wait(self, first: bool, pause: int) -> XML:
        url = self.url("text", TICKET.decode(), due=1)
        response = VoiceResponse()
        gather = Gather(input="dtmf", num_digits=1, finish_on_key="", timeout=KEYS_TIMEOUT, action=url, method="POST")
        self._append(gather, self.plan_text_wait(first).blocks[0][1])
        gather.pause(length=pause)
        response.append(gather)
        response.redirect(url, method="POST")
        return response.to_xml().encode()

    def closed(self, contact: str, told: bool = False, text: str | None = None) -> XML:
        """The line is outside its hours: say when it is open, offer the text or connecting anyway.

        ``told``: the key's own words at the menu said the line is closed (said_closed_at): then
        transfer.hours.<contact>, its hours without "closed" a second time, when voice.yaml has it."""
        return self.menu("closed", contact=contact, lead=(self._closed_lead(contact, told),), text=text)

    def _closed_lead(self, contact: str, told: bool) -> str:
        hours = f"transfer.hours.{contact}"
        return hours if told and isinstance((self.words["transfer"].get("hours") or {}).get(contact), str) else f"transfer.closed.{contact}"

    def said_closed_at(self, menu: str | None, target: str) -> bool:
        """Whether ``menu``, as said now, told the caller that ``target`` is closed where it offered its key:
        its choice (choices_closed) or, for a key of any time, its hint (always_hints_closed)."""
        if menu not in self.content.menus or target not in self.closed_now:
            return False
        if target in self.content.menus[menu].values():
            return self._choice_key(target).startswith("choices_closed.")
        return target in self.content.always.values() and not (menu == "closed" and self.content.kind(target) is Kind.TRANSFER)

    def transfer(self, contact: str, caller_id: str | None, text: str | None = None) -> XML:
        response = VoiceResponse()
        self._append(response, self.plan_transfer(contact).blocks[0][1])
        dial = Dial(
            caller_id=caller_id,
            timeout=self.dial_timeout,
            action=self.url("transfer", contact + "/done", text=self.carried(text)),
            method="POST",
        )
        dial.number(self.content.contacts[contact].phone)
        response.append(dial)
        return response.to_xml().encode()

    def transfer_failed_lead(self, status: DialOutcome, no_text: bool = False) -> tuple[str, ...]:
        return (f"transfer.{status}", "transfer.offer_no_text" if no_text else "transfer.offer")

    @cache
    def transfer_done(self, status: DialOutcome, contact: str | None = None, text: str | None = None) -> XML:
        """``status``: already mapped from Twilio's DialCallStatus, so the cache holds five entries a contact at most.

        After a failed transfer the menu does not offer ``contact`` (the line just busy or unanswered)
        again: the other line comes first (its key still works); ``contact`` travels in its URLs."""
        if status is DialOutcome.COMPLETED:
            return self.render(Plan((("plain", (self.said("goodbye"),)),), "hangup"))
        lead = self.transfer_failed_lead(status, no_text=text is not None)
        return self.menu("after_failed_transfer", lead=lead, contact=contact, text=text)

    # --- the safety net ------------------------------------------------------------------------------
    def plan_crisis(self) -> Plan:
        key = self.content.crisis_key
        said = (self.said("crisis.message"), self.said("crisis.offer", offers=key, key=self._key_name(key)))
        return Plan((("menu", said),), "redirect")

    @cache
    def crisis(self, back_to: str, answer: str | None = None, contact: str | None = None, text: str | None = None) -> XML:
        """The crisis message and the one key that connects to the lifeline now; then the menu the caller was at.

        Said inside a <Gather>, so a key cuts it short; the "always" keys still work (webhooks.crisis);
        silence goes back to the menu ``back_to``, as before.
        """
        context = {"answer": answer, "contact": contact, "text": self.carried(text)}
        return self.render(self.plan_crisis(), back_to, self.url("crisis", back_to, **context), self.url("menu", back_to, **context))

    def crisis_transfer(self, caller_id: str | None, text: str | None = None) -> XML:
        """Connect to the lifeline; the text state travels in the Dial's action, for the menu after a failed call."""
        response = VoiceResponse()
        self._append(response, (self.said("crisis.connecting"),))
        action = self.url("lifeline", "done", text=self.carried(text))
        dial = Dial(caller_id=caller_id, timeout=self.dial_timeout, action=action, method="POST")
        dial.number(self.content.crisis_numbers["lifeline"])
        response.append(dial)
        return response.to_xml().encode()

    @cache
    def crisis_transfer_done(self, status: DialOutcome, text: str | None = None) -> XML:
        """After the call to the lifeline: goodbye when it was answered, else say so and go on at the main menu."""
        if status is DialOutcome.COMPLETED:
            return self.transfer_done(status)
        return self.menu("main", lead=("crisis.not_connected",), text=text)

    # --- Twilio's Fallback URL -----------------------------------------------------------------------
    def fallback_contact(self) -> str | None:
        """Where the fallback connects now: the person key 0 reaches, else the next contact the fallback has
        words for (fallback.connect), the first that is open; None while every one of them is closed."""
        person = self.content.person
        names = [person, *(name for name in self.content.contacts if name != person)]
        connect = self.words["fallback"].get("connect") or {}
        return next((name for name in names if name in connect and name not in self.closed_now), None)

    def fallback_said(self) -> tuple[Said, ...]:
        """What the fallback says in one language: the problem, the lines closed before the one it connects to, and
        that one (or, when every line is closed, to call again)."""
        contact = self.fallback_contact()
        person = self.content.person
        names = [person, *(name for name in self.content.contacts if name != person)]
        closed = self.words["fallback"].get("closed") or {}
        keys = ["fallback.problem"]
        for name in names[: names.index(contact)] if contact else names:
            if name in self.closed_now and name in closed:
                keys.append(f"fallback.closed.{name}")
        keys.append(f"fallback.connect.{contact}" if contact else "fallback.call_again")
        return tuple(self.said(key) for key in keys)

    def plan_fallback(self) -> Plan:
        said = (*self.fallback_said(), *(s for o, _ in self.offers for s in o.while_closed(self.closed_now).fallback_said()))
        return Plan((("keys", said),), "dial" if self.fallback_contact() else "hangup")

    @cache
    def fallback(self) -> XML:
        """For Twilio's Fallback URL: no database, no REST call, just a way to a person, in every language.

        Said in a keys-only <Gather> without an action, so Twilio posts a key to the URL that served this
        document, the fallback itself (the one part of the line known to answer now): fallback_pressed.
        A line that is closed now is never dialled."""
        plan = self.plan_fallback()
        response = VoiceResponse()
        gather = Gather(input="dtmf", num_digits=1, finish_on_key="", timeout=KEYS_TIMEOUT, method="POST")
        self._append(gather, plan.blocks[0][1])
        response.append(gather)
        return self._fallback_end(response)

    @cache
    def fallback_pressed(self) -> XML:
        """A key pressed during the fallback's words: connect at once, or (every line closed) goodbye."""
        response = VoiceResponse()
        if not self.fallback_contact():
            self._append(response, (self.said("fallback.call_again"),))
        return self._fallback_end(response)

    def _fallback_end(self, response: VoiceResponse) -> XML:
        contact = self.fallback_contact()
        if contact:
            response.dial(self.content.contacts[contact].phone, timeout=self.dial_timeout)
        else:
            response.hangup()
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

    # --- every document, for start-up and the budget ---------------------------------------------
    def plans(self):
        """(label, plan) for every document that does not depend on the caller."""
        yield "welcome", self.plan_menu("main", before=("welcome",), opening=bool(self.offers))
        yield "error", self.plan_menu("main", before=("error",))
        for name in self.content.menus:
            for tries in range(self.silence_tries + 1):
                yield f"menus.{name}", self.plan_menu(name, tries=tries)
            yield f"menus.{name}", self.plan_menu(name, before=("not_a_choice",))
            yield f"menus.{name}", self.plan_menu(name, before=("not_sure",))
            if any(self.content.kind(t) is Kind.TEXT for t in self.content.menus[name].values()):
                yield f"menus.{name}", self.plan_menu(name, no_text=True)  # a call that cannot be texted: no text offered
        if self.all_hours_closed.closed_now:  # the same menus after hours: "0 at any time" says what 0 does then
            yield "welcome", self.all_hours_closed.plan_menu("main", before=("welcome",), opening=bool(self.offers))
            for name in self.content.menus:
                yield f"menus.{name}", self.all_hours_closed.plan_menu(name)
        for name in self.content.answers:
            yield f"answers.{name}", self.plan_menu("after_answer", lead=(f"answers.{name}",))
        for contact in self.content.contacts.values():
            if contact.hours:
                for told in (False, True):
                    lead = self._closed_lead(contact.name, told)
                    yield lead, self.plan_menu("closed", lead=(lead,))
            yield f"transfer.connecting.{contact.name}", self.plan_transfer(contact.name)
        for outcome in TextOutcome:
            yield f"text.{outcome}", self.plan_menu("main", lead=self.text_outcome_lead(outcome))
        yield "text.one_moment", self.plan_text_wait()
        yield "text.cannot_again", self.plan_menu("main", lead=("text.cannot_again",), no_text=True)
        for status in (s for s in DialOutcome if s is not DialOutcome.COMPLETED):
            yield f"transfer.{status}", self.plan_menu("after_failed_transfer", lead=self.transfer_failed_lead(status))
            yield f"transfer.{status}", self.plan_menu("after_failed_transfer", lead=self.transfer_failed_lead(status, True), no_text=True)
        yield "goodbye", Plan((("plain", (self.said("goodbye"),)),), "hangup")
        yield "fallback", self.plan_fallback()
        if self.all_hours_closed.closed_now:
            yield "fallback", self.all_hours_closed.plan_fallback()

    def warm(self) -> None:
        """Render every response that does not depend on the caller, so errors show at start-up."""
        problems: list[tuple[str, str, str]] = []
        voice_file = relative_name(self.content.root, self.content.root / self.lang / "voice.yaml")

        def render(key: str, xml: XML) -> None:
            for say in ET.fromstring(xml).iter("Say"):
                length = len(" ".join(" ".join(say.itertext()).split()))
                if length > SAY_LIMIT:
                    reason = f"says {length} characters at once; Twilio takes at most {SAY_LIMIT:,} in one <Say>: shorten it"
                    problems.append((voice_file, key, reason))

        render("welcome", self.welcome())
        render("error", self.error())
        render("fallback", self.fallback())
        render("fallback", self.all_hours_closed.fallback())
        for name in self.content.menus:
            for tries in range(self.silence_tries + 1):
                render(f"menus.{name}", self.menu(name, tries=tries))
            render(f"menus.{name}", self.menu(name, before=("not_a_choice",)))
            render(f"menus.{name}", self.menu(name, before=("not_sure",)))
            render(f"menus.{name}", self.all_hours_closed.menu(name))
        render("welcome", self.all_hours_closed.welcome())
        for name in self.content.answers:
            render(f"answers.{name}", self.answer(name))
            for tries in range(self.silence_tries + 1):
                render(f"answers.{name}", self.menu("after_answer", tries=tries, answer=name))
            render(f"answers.{name}", self.menu("after_answer", answer=name, before=("not_a_choice",)))
        for contact in self.content.contacts.values():
            if contact.hours:
                render(f"transfer.closed.{contact.name}", self.closed(contact.name))
                render(self._closed_lead(contact.name, True), self.closed(contact.name, told=True))
        for outcome in TextOutcome:
            render(f"text.{outcome}", self.text_outcome(outcome))
        render("text.one_moment", self.text_wait("ticket", 0))
        render("text.cannot_again", self.text_refused_again())
        for status in DialOutcome:
            render("transfer", self.transfer_done(status))
            for contact in self.content.contacts:
                render("transfer", self.transfer_done(status, contact))
                render("transfer", self.transfer_done(status, contact, TEXT_TOLD))
            render("crisis", self.crisis_transfer_done(status))
            render("crisis", self.crisis_transfer_done(status, TEXT_TOLD))
        render("crisis", self.crisis("main"))
        render("crisis", self.crisis_transfer(None))
        problems += self._recording_problems()
        if problems:
            raise ContentError(list(dict.fromkeys(problems)))  # each once, however many renderings repeat it

    def _recording_problems(self) -> list[tuple[str, str, str]]:
        """A recording must say exactly what its key says, wherever the key is said, and only fixed words."""
        if not self.recordings and not any(other.recordings for other, _ in self.offers):
            return []
        problems = []
        # This language's keys are said by this script, and its offer by the others' main menus.
        said_keys = {
            item.key
            for script in (self, *(other for other, _ in self.offers))
            for _label, plan in script.plans()
            for _kind, said in plan.blocks
            for item in said
            if item.lang == self.lang
        }
        refused: set = set()
        for label, plan in self.plans():
            for _kind, said in plan.blocks:
                for item in said:
                    recording = self._voice(item.lang).recordings.get(item.key)
                    if recording is None or recording.path in refused:
                        continue  # one reason a recording, the first found
                    where = relative_name(self.content.root, recording.path)
                    if VARYING.search(item.text):
                        placeholder = VARYING.search(item.text).group(0)
                        reason = f"cannot be recorded: its text says {placeholder}, which each deployment sets (delete the recording)"
                        problems.append((where, item.key, reason))
                    elif recording.text != self.heard(item):
                        reason = (
                            f"its {recording.path.with_suffix('.txt').name} no longer matches what {item.key} says now "
                            f"in {label} ({self.heard(item)[:60]!r}): record it again, or delete it (the line then speaks the text)"
                        )
                        problems.append((where, item.key, reason))
                    if problems and problems[-1][0] == where:
                        refused.add(recording.path)
        for key, recording in self.recordings.items():
            if key not in said_keys:
                where = relative_name(self.content.root, recording.path)
                problems.append((where, key, "is not a key the line says: name it <key>.mp3, as in voice.yaml (answers.why.mp3)"))
        return problems
