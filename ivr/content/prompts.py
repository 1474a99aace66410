"""Load and check everything in prompts/: the menu, the contacts, and each language's words.

Every problem is reported with its file, its key and what is wrong, all at once, so a clinic
editing the words sees the whole list, and a broken file stops start-up instead of a call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from pathlib import Path

import phonenumbers
import yaml

from ivr.content import gsm
from ivr.content.crisis import CrisisWords
from ivr.content.crisis import fold as crisis_fold
from ivr.content.folding import exact_form, phrase_form
from ivr.content.hours import Hours, HoursError
from ivr.content.hours import parse as parse_hours
from ivr.outcomes import DialOutcome, TextOutcome

DEFAULT_LANGUAGE = "en"
MAX_CHOICES = 5
MAX_DEPTH = 3
MAX_SEGMENTS = 4
DEFAULT_BUDGET = 2
REQUIRED_MENUS = ("main", "after_answer", "after_failed_transfer", "closed")


class Kind(StrEnum):
    """What a menu choice leads to (menu.yaml): the voice line acts on each kind, and on no other."""

    MENU = "menu"
    ANSWER = "answer"
    TRANSFER = "transfer"
    TEXT = "text"  # text the caller the numbers
    REPEAT = "repeat"  # the answer just heard, again
    ANYWAY = "anyway"  # connect although the line asked for is closed


ACTIONS = (Kind.TEXT, Kind.REPEAT, Kind.ANYWAY)  # the kinds that are a choice's own name in menu.yaml
# Contacts a deployment may configure or not (see README): menu choices that lead to one that is not
# configured are left out, and texts that mention it are only used when it is.
OPTIONAL_CONTACTS = ("local",)
LOCAL_INFO_WEB = "local_info_web"  # local_info with the local contact's web site: said only when it has one
CONTACT_PARTS = ("phone", "digits", "web", "chat", "name", "hours")  # digits: the number alone, no vanity letters
SITE_PARTS = ("web", "chat")  # web addresses, which a text checks are set
BY_LANGUAGE = ("display", *SITE_PARTS)  # contacts.yaml parts that may differ by language ({en: ..., es: ...})
DIAL_OUTCOMES = tuple(o for o in DialOutcome if o is not DialOutcome.COMPLETED)  # each has a transfer.<outcome> sentence
TEXT_OUTCOMES = tuple(TextOutcome)
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
KEYS = set("123456789")
ALWAYS_KEYS = set("0123456789*#")

# Keys each voice.yaml must have, as dotted paths, and whether the text may be empty.
VOICE_TEXTS = (
    "language",
    "voice",
    "welcome",
    "not_a_choice",
    "not_sure",
    "transfer.offer_no_text",
    "text.cannot_again",
    "silence_warning",
    "silence_goodbye",
    "error",
    "wrong_method",
    "goodbye",
    "transfer.offer",
    "text.repeat_numbers",
    "text.pen_and_paper",
    "text.one_moment",
    "numbers_aloud",
    "fallback.problem",
    "fallback.call_again",
    *(f"transfer.{o}" for o in DIAL_OUTCOMES),
    *(f"text.{o}" for o in TEXT_OUTCOMES),
    *(f"crisis.{part}" for part in ("message", "offer", "connecting", "not_connected")),
)
SMS_TEXTS = ("numbers", "recur", "contacts", "help", "stop", "start", "no_more", "limit_hour", "limit_day", "unknown", "crisis")
# The safety net: contacts.yaml "crisis" numbers (said and texted as {crisis.lifeline}, {crisis.emergency};
# the line dials only the lifeline, when a caller presses menu.yaml's "crisis" key) and crisis.yaml's lists.
CRISIS_NUMBERS = ("lifeline", "emergency")
CRISIS_LISTS = ("phrases", "not", "connect_words")
# The text line's keywords (sms.yaml "keywords"): the intents every language must have, and the words
# Twilio itself treats as opt-out, opt-in and help, which the default language must list so that the
# line and Twilio always agree on who has opted out.
SMS_INTENTS = ("stop", "start", "no_more", "help", "contacts", "recur")
OPTIONAL_INTENTS = ("hello", "thanks")  # greetings, answered as recur in their language; thanks alone: no reply (sms/keywords.py)
TWILIO_KEYWORDS = {
    "stop": ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"),
    "start": ("START", "YES", "UNSTOP"),
    "help": ("HELP", "INFO"),
}
SMS_LISTS = ("topics", "topic_count")  # placeholders of sms.yaml made from its "topics" and "titles"
CARE_NOTE = "care_note"  # sms.yaml: the general-information note and care-team pointer every topic answer ends with
OPTIONAL_KEYS = {"hours.noon", "hours.night"}  # words a language may have and another not (see hours.py)
NOT_MESSAGES = (
    "hours.",
    "keywords.",
    "topics[",
    "titles.",
    "status",
    "line_name",
    "number_words[",
    "question_words[",
    "reactions[",
    "thanks_emoji[",
)
# {line.name} and {line.phone} in texts: who sends them (a clinic's line, else the program's name,
# sms.yaml "line_name") and the line's own contact number (its local contact's, else the contact key 0
# reaches; {line.digits}, the number alone, where a text has no room for its spelled-out form). HELP
# names the sender: carriers review it, and expect the sender's name and number.
SENDER = "line"
SENDER_PARTS = ("name", "phone", "digits")  # words for building or matching texts, checked on their own


class ContentError(Exception):
    """One or more problems in prompts/; ``problems`` lists (file, key, reason)."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = problems
        lines = [f"{f}: {k}: {r}" if k else f"{f}: {r}" for f, k, r in problems]
        super().__init__(f"{len(problems)} problem(s) in prompts/ or the settings:\n  " + "\n  ".join(lines))


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key written twice in one mapping (PyYAML keeps the last)."""


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.MarkedYAMLError(
                "while reading a mapping",
                node.start_mark,
                f"duplicate key {key!r} (line {seen[key] + 1} and line {key_node.start_mark.line + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Contact:
    name: str
    phone: str  # E.164
    display: str  # as printed in texts
    spoken: str  # digits grouped for say-as telephone
    web: str  # in the default language
    label: str = ""  # a proper name, said as is in every language (the local contact's)
    hours: Hours | None = None
    chat: str = ""
    # Parts that differ by language: {("web", "es"): "www.cancer.gov/espanol"}.
    sites: dict[tuple[str, str], str] = field(default_factory=dict)

    def site(self, part: str, lang: str | None) -> str:
        """The contact's ``display``, ``web`` or ``chat`` for a language (its default one if it has none)."""
        return self.sites.get((part, lang or ""), getattr(self, part))


@dataclass(frozen=True)
class Language:
    code: str
    voice: dict
    sms: dict
    budgets: dict  # segments each text may use as prompts/ writes it: the line_name, no local contact
    whatsapp: dict = field(default_factory=dict)  # whatsapp.yaml: WhatsApp's own words for some sms.yaml texts
    label: dict = field(default_factory=dict)  # label.yaml: the words of the printed handout label
    crisis: dict = field(default_factory=dict)  # crisis.yaml: phrases, not, connect_words
    room_for_local: dict = field(default_factory=dict)  # segments more a text may use with a line's own name or local contact

    def budget(self, key: str, own_words: bool = False) -> int:
        """The segments text ``key`` may use; ``own_words``: as a line with its own name or local contact sends it."""
        key = key.split("[")[0]
        return self.budgets.get(key, DEFAULT_BUDGET) + (self.room_for_local.get(key, 0) if own_words else 0)


WHATSAPP_LIMIT = 1600  # characters in one Twilio message (error 21617); WhatsApp is not billed in segments


@dataclass(frozen=True)
class Content:
    root: Path
    menus: dict[str, dict[str, str]]
    always: dict[str, str]
    contacts: dict[str, Contact]
    languages: dict[str, Language]
    answers: tuple[str, ...] = field(default=())
    language_keys: dict[str, str] = field(default_factory=dict)
    sender: Contact | None = None  # {line.name} and {line.phone}: see SENDER
    crisis_numbers: dict[str, str] = field(default_factory=dict)  # {"lifeline": "988", "emergency": "911"}
    crisis_key: str = "1"  # pressed after the crisis message: connect to the lifeline now
    crisis_words: CrisisWords = field(default_factory=lambda: CrisisWords({}))  # every language's, for texts and speech

    @property
    def own_words(self) -> bool:
        """Whether this line's texts carry words of its own (a local contact, a name from IVR_LINES_FILE):
        their budgets then include sms.yaml's room_for_local."""
        return "local" in self.contacts or bool(self.sender and self.sender.label)

    @property
    def text_contacts(self) -> dict[str, Contact]:
        """The contacts a text's placeholders may name: every contact, and the sender (``line``)."""
        return {**self.contacts, SENDER: self.sender} if self.sender else self.contacts

    def render_sms(self, text: str, texts: dict, channel: str = "sms", lang: str | None = None) -> str:
        """A text in ``lang`` filled in for ``channel``: by SMS in GSM-7 (sms_form), on WhatsApp exactly as
        written. The crisis numbers ({crisis.lifeline}) are this content's, and ``lang`` defaults to the
        language whose sms.yaml ``texts`` is, so that no caller has to pass either."""
        if lang is None:
            lang = next((code for code, language in self.languages.items() if language.sms is texts), None)
        filled = render_sms(text, self.text_contacts, texts, lang, self.crisis_numbers)
        return filled if channel == "whatsapp" else sms_form(filled)

    def kind(self, target: str) -> Kind:
        """What ``target`` (a menu choice) is; KeyError for a name menu.yaml does not define."""
        if target in self.menus:
            return Kind.MENU
        if target in self.contacts:
            return Kind.TRANSFER
        if target in ACTIONS:
            return Kind(target)
        if target in self.answers:
            return Kind.ANSWER
        raise KeyError(f"{target!r} is no menu, answer, contact or action of menu.yaml")

    @property
    def person(self) -> str:
        """The contact that key 0 reaches (else the first contact): where the fallback connects."""
        target = self.always.get("0")
        return target if target in self.contacts else next(iter(self.contacts))

    def options(self, menu: str) -> dict[str, str]:
        """The keys a caller can press at ``menu``: its own choices, then the always keys."""
        merged = dict(self.menus[menu])
        for key, target in self.always.items():
            merged.setdefault(key, target)
        return merged


def relative_name(root: Path, path: Path) -> str:
    """How problems name a file: relative to the folder that holds prompts/ (prompts/en/voice.yaml)."""
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _get(data, dotted: str):
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def _flat_keys(data, prefix="") -> set[str]:
    if not isinstance(data, dict):
        return {prefix} if prefix else set()
    keys = set()
    for k, v in data.items():
        keys |= _flat_keys(v, f"{prefix}.{k}" if prefix else str(k))
    return keys


def _texts(data, prefix=""):
    """Every (dotted key, string) in a nested mapping, lists included."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _texts(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _texts(v, f"{prefix}[{i}]")
    elif isinstance(data, str):
        yield prefix, data


class _Checker:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[tuple[str, str, str]] = []
        # Files that could not be read: every check that reads them (or compares with them) would
        # report their absence dozens of times, so load() reports these alone.
        self.unreadable: list[tuple[str, str, str]] = []

    def add(self, path: Path, key: str, reason: str) -> None:
        self.problems.append((relative_name(self.root, path), key, reason))

    def add_once(self, path: Path, key: str, reason: str) -> None:
        """A key's problem said once: it replaces an earlier "is missing ..." of the same key, and
        gives way to any other problem already found for it."""
        name = relative_name(self.root, path)
        for i, (f, k, earlier) in enumerate(self.problems):
            if f == name and k == key:
                if earlier.startswith("is missing"):
                    self.problems[i] = (f, k, reason)
                return
        self.problems.append((name, key, reason))

    def _unreadable(self, path: Path, reason: str) -> dict:
        self.add(path, "", reason)
        self.unreadable.append(self.problems[-1])
        return {}

    def load(self, path: Path) -> dict:
        if not path.is_file():
            return self._unreadable(path, "file is missing")
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
        except UnicodeDecodeError as exc:
            return self._unreadable(path, f"not UTF-8 text ({exc.reason})")
        except yaml.YAMLError as exc:
            return self._unreadable(path, "not valid YAML: " + " ".join(str(exc).split()))
        if data is None:
            return self._unreadable(path, "file is empty")
        if not isinstance(data, dict):
            return self._unreadable(path, "must be a mapping of keys to values")
        return data


def _contacts(check: _Checker, path: Path, raw: dict, region: str) -> dict[str, Contact]:
    contacts = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            check.add(path, str(name), "must be a mapping with phone, display and web")
            continue
        phone = str(entry.get("phone") or "").strip()
        try:
            parsed = phonenumbers.parse(phone, region)
            valid = phonenumbers.is_valid_number(parsed)
        except phonenumbers.NumberParseException:
            valid = False
        if valid:
            e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
            digits = re.sub(r"[^0-9]+", "-", national).strip("-")
            spoken = f"{parsed.country_code}-{digits}" if parsed.country_code == 1 else digits
        else:  # reported; kept so that the rest of the checks do not cascade
            check.add(path, f"{name}.phone", f"{phone!r} is not a valid phone number")
            e164 = spoken = national = phone
        sites = {part: _by_language(check, path, f"{name}.{part}", entry[part]) for part in BY_LANGUAGE if part in entry}
        hours = None
        if entry.get("hours"):
            try:
                hours = parse_hours(entry["hours"])
            except HoursError as exc:
                check.add(path, f"{name}.hours", str(exc))
        contacts[str(name)] = Contact(
            name=str(name),
            phone=e164,
            display=sites.get("display", {}).get("") or national,
            spoken=spoken,
            web=sites.get("web", {}).get("", ""),
            chat=sites.get("chat", {}).get("", ""),
            sites={(part, lang): address for part, by_lang in sites.items() for lang, address in by_lang.items() if lang},
            label=str(entry.get("name") or "").strip(),
            hours=hours,
        )
    return contacts


def _by_language(check: _Checker, path: Path, key: str, raw) -> dict[str, str]:
    """One value, or one for each language ({en: ..., es: ...}): {"": default, "es": ...}."""
    if isinstance(raw, dict):
        by_lang = {str(lang): str(address or "").strip() for lang, address in raw.items()}
        for lang, address in by_lang.items():
            if not address:
                check.add(path, f"{key}.{lang}", "is empty")
        if DEFAULT_LANGUAGE not in by_lang:
            check.add(path, key, f"needs a value for {DEFAULT_LANGUAGE}, used by languages not listed")
        return {"": by_lang.get(DEFAULT_LANGUAGE, ""), **by_lang}
    address = str(raw or "").strip()
    if not address:
        check.add(path, key, "is empty")
    return {"": address}


def _menus(check: _Checker, path: Path, raw: dict, answers: set[str], contacts: set[str]):
    menus_raw = raw.get("menus")
    always_raw = raw.get("always") or {}
    if not isinstance(menus_raw, dict):
        check.add(path, "menus", "is missing or not a mapping")
        return {}, {}
    names = set(map(str, menus_raw))
    known = names | answers | contacts | set(ACTIONS)
    menus: dict[str, dict[str, str]] = {}
    for name in REQUIRED_MENUS:
        if name not in names:
            check.add(path, f"menus.{name}", "is required")
    for name, options in menus_raw.items():
        if not isinstance(options, dict) or not options:
            check.add(path, f"menus.{name}", "must map keys to targets")
            continue
        if len(options) > MAX_CHOICES:
            check.add(path, f"menus.{name}", f"has {len(options)} choices; at most {MAX_CHOICES}")
        menus[str(name)] = {}
        for key, target in options.items():
            key, target = str(key), str(target)
            if key not in KEYS:
                check.add(path, f"menus.{name}.{key}", "keys must be 1 to 9 (0, * and # are for 'always')")
            elif target not in known:
                check.add(path, f"menus.{name}.{key}", f"unknown target {target!r}")
            elif target == "repeat" and name != "after_answer":
                check.add(path, f"menus.{name}.{key}", "'repeat' only makes sense in after_answer")
            else:
                menus[str(name)][key] = target
    always = {}
    for key, target in always_raw.items():
        key, target = str(key), str(target)
        if key not in ALWAYS_KEYS:
            check.add(path, f"always.{key}", "must be a single key: 0-9, * or #")
        elif target not in known or target == "repeat":
            check.add(path, f"always.{key}", f"unknown target {target!r}")
        else:
            for name, options in menus.items():
                if key in options:
                    check.add(path, f"menus.{name}.{key}", f"key {key} is already used by 'always'")
            always[key] = target
    # Depth and reach, from the main menu, counting the answer itself as a level.
    depth = {"main": 0}
    queue = ["main"] if "main" in menus else []
    reached = set()
    while queue:
        name = queue.pop(0)
        for target in menus[name].values():
            reached.add(target)
            if target in menus and target not in depth:
                depth[target] = depth[name] + 1
                queue.append(target)
            elif target in answers and depth[name] + 1 > MAX_DEPTH:
                check.add(path, f"menus.{name}", f"answer {target!r} is {depth[name] + 1} levels deep; at most {MAX_DEPTH}")
    for name, level in depth.items():
        if level >= MAX_DEPTH and any(t in answers or t in menus for t in menus[name].values()):
            check.add(path, f"menus.{name}", f"is {level} levels below main; at most {MAX_DEPTH} levels in all")
    for answer in sorted(answers - reached):
        check.add(path, "menus", f"answer {answer!r} cannot be reached from the main menu")
    return menus, always


def _check_placeholders(check, path, key, text, contacts, allow_key):
    for name in PLACEHOLDER.findall(text):
        if name == "key" and allow_key:
            continue
        if name == "pause" and path.name == "voice.yaml":
            continue
        if name == "local_info" and not key.startswith("local_info"):
            continue
        if name in SMS_LISTS and path.name in ("sms.yaml", "whatsapp.yaml"):
            continue
        if name == CARE_NOTE and path.name == "sms.yaml" and key != CARE_NOTE:
            continue
        contact, _, part = name.partition(".")
        if contact == "crisis" and part in CRISIS_NUMBERS:
            continue
        if contact == SENDER and SENDER in contacts:
            if part not in SENDER_PARTS:
                check.add(path, key, f"unknown placeholder {{{name}}} (the sender has {{line.name}}, {{line.phone}} and {{line.digits}})")
            continue
        if (contact in contacts or contact in OPTIONAL_CONTACTS) and part in CONTACT_PARTS:
            found = contacts.get(contact)
            # The local contact is the deployment's (IVR_LOCAL_* or a line of IVR_LINES_FILE), not contacts.yaml's.
            where = "in contacts.yaml"
            if contact in OPTIONAL_CONTACTS:
                where = (
                    f"set {LOCAL_SETTINGS[part]}, or {part}: in IVR_LINES_FILE" if part in LOCAL_SETTINGS else "a local contact has none"
                )
            if found is not None and part == "hours" and found.hours is None and key != f"transfer.closed.{contact}":
                check.add(path, key, f"{{{name}}}: {contact} has no hours ({where})")
            if found is not None and part == "name" and not found.label:
                check.add(path, key, f"{{{name}}}: {contact} has no name ({where})")
            if found is not None and part in SITE_PARTS and not getattr(found, part) and key != LOCAL_INFO_WEB:
                check.add(path, key, f"{{{name}}}: {contact} has no {part} ({where})")
            continue
        check.add(path, key, f"unknown placeholder {{{name}}}")
    if text.count("{") != text.count("}"):
        check.add(path, key, "has an unmatched { or }")


def _language(
    check, root, code, menus, always, contacts, reference: Language | None, sender: Contact | None = None, numbers: dict | None = None
) -> Language:
    vpath, spath = root / code / "voice.yaml", root / code / "sms.yaml"
    voice, sms = check.load(vpath), check.load(spath)
    crisis = _crisis_words(check, root / code / "crisis.yaml")
    answers = voice.get("answers") if isinstance(voice.get("answers"), dict) else {}
    if voice and not answers:
        check.add(vpath, "answers", "is missing or empty")
    for key in VOICE_TEXTS:
        value = _get(voice, key)
        if voice and (not isinstance(value, str) or not value.strip()):
            check.add(vpath, key, "is missing or empty")
    for name, text in answers.items():
        if not isinstance(text, str) or not text.strip():
            check.add(vpath, f"answers.{name}", "answer is empty")
    if voice:
        used = {t for options in menus.values() for t in options.values()}
        for name in sorted(menus):
            if not isinstance(_get(voice, f"menus.{name}"), str):
                check.add(vpath, f"menus.{name}", 'is missing (it may be empty text: "")')
        for name in sorted(used):
            value = _get(voice, f"choices.{name}")
            if not isinstance(value, str) or "{key}" not in value:
                check.add(vpath, f"choices.{name}", "must be text that says which key to press: {key}")
        for target in always.values():
            value = _get(voice, f"always_hints.{target}")
            if not isinstance(value, str) or "{key}" not in value:
                check.add(vpath, f"always_hints.{target}", "must be text that says {key}")
        for target, value in (voice.get("choices_closed") or {}).items() if isinstance(voice.get("choices_closed"), dict) else ():
            if target not in contacts or not contacts[target].hours:
                reason = "is for a contact with hours in contacts.yaml: what its key does while it is closed"
                check.add(vpath, f"choices_closed.{target}", reason)
            elif not isinstance(value, str) or "{key}" not in value:
                check.add(vpath, f"choices_closed.{target}", "must be text that says which key to press: {key}")
        for target in always.values():
            if target in contacts and contacts[target].hours:
                value = _get(voice, f"always_hints_closed.{target}")
                if not isinstance(value, str) or "{key}" not in value:
                    reason = "must be text that says {key}: what the key does while this line is closed (transfer.closed)"
                    check.add(vpath, f"always_hints_closed.{target}", reason)
        _check_fallback(check, vpath, voice, always, contacts)
        for name, contact in contacts.items():
            if not isinstance(_get(voice, f"transfer.connecting.{name}"), str):
                check.add(vpath, f"transfer.connecting.{name}", "is missing")
            if contact.hours and not isinstance(_get(voice, f"transfer.closed.{name}"), str):
                check.add(vpath, f"transfer.closed.{name}", "is missing: what to say when this line is closed")
        hours_only = _get(voice, "transfer.hours")
        for target, value in hours_only.items() if isinstance(hours_only, dict) else ():
            if target not in contacts or not contacts[target].hours:
                reason = "is for a contact with hours in contacts.yaml: its hours, once the menu said it is closed"
                check.add(vpath, f"transfer.hours.{target}", reason)
            elif not isinstance(value, str) or f"{{{target}.hours}}" not in value:
                check.add(vpath, f"transfer.hours.{target}", f"must be text that says when it is open: {{{target}.hours}}")
        _check_hours_words(check, vpath, voice.get("hours"))
        pace = voice.get("words_per_minute")
        if pace is not None and (isinstance(pace, bool) or not isinstance(pace, int) or not 60 <= pace <= 300):
            check.add(vpath, "words_per_minute", "must be a whole number from 60 to 300: the words this voice says in a minute at 100%")
        names = voice.get("language_names")
        if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names)):
            check.add(vpath, "language_names", "must be a list of the words callers may say to choose this language")
        phrases = voice.get("phrases") or {}
        for name, items in phrases.items():
            if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
                check.add(vpath, f"phrases.{name}", "must be a list of words or phrases")
    for key, text in _texts(voice):
        if key.startswith(NOT_MESSAGES):
            continue
        allow_key = key.startswith(("choices", "always_hints", "language_offer", "crisis.offer"))  # and their _closed variants
        _check_placeholders(check, vpath, key, text, contacts, allow_key)
        if len(text) > 2500:
            check.add(vpath, key, f"is {len(text)} characters; one <Say> takes at most about 2,500")
    budgets = sms.pop("budgets", {}) if isinstance(sms, dict) else {}
    if not isinstance(budgets, dict):
        check.add(spath, "budgets", "must map text keys to a number of segments")
        budgets = {}
    room = sms.pop("room_for_local", {}) if isinstance(sms, dict) else {}
    if not isinstance(room, dict) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in room.values()):
        check.add(spath, "room_for_local", "must map text keys to a number of segments (0 or more)")
        room = {}
    for key in SMS_TEXTS:
        if sms and not isinstance(_get(sms, key), str):
            check.add(spath, key, "is missing or empty")
    if sms:
        _check_hours_words(check, spath, sms.get("hours"))
        if not isinstance(sms.get(CARE_NOTE), str) or not sms[CARE_NOTE].strip():
            check.add(spath, CARE_NOTE, "is missing or empty: the note every topic answer ends with")
        for name, text in (sms.get("answers") or {}).items() if isinstance(sms.get("answers"), dict) else ():
            if isinstance(text, str) and text.strip() and "{" + CARE_NOTE + "}" not in text:
                check.add(spath, f"answers.{name}", "must end with {care_note}: a topic text can arrive alone")
        if not isinstance(sms.get("line_name"), str) or not sms["line_name"].strip():
            check.add(spath, "line_name", "is missing or empty: the name texts go out under when a line has none")
    text_contacts = {**contacts, SENDER: sender} if sender else contacts
    # The budgets hold for the texts as written here (the line_name, no local contact); a line's own
    # name or local contact may add room_for_local's segments, so that a later edit of the words
    # cannot quietly take back a segment a trim saved, and a clinic's longer name still starts.
    written = {name: c for name, c in contacts.items() if name != "local"}
    plain_sender = _sender(written, always, "")
    written_contacts = {**written, SENDER: plain_sender} if plain_sender else written
    for key, text in _texts(sms):
        if key.startswith(NOT_MESSAGES):
            continue
        _check_placeholders(check, spath, key, text, text_contacts, allow_key=False)
        rendered = sms_form(render_sms(text, text_contacts, sms, code, numbers))
        bad = gsm.bad_characters(rendered)
        if bad:
            shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in bad)
            check.add(spath, key, f"has characters outside GSM-7: {shown}")
        budget = budgets.get(key.split("[")[0], DEFAULT_BUDGET)
        if not isinstance(budget, int) or not 1 <= budget <= MAX_SEGMENTS:
            check.add(spath, f"budgets.{key}", f"must be a whole number from 1 to {MAX_SEGMENTS}")
            budget = DEFAULT_BUDGET
        as_written = sms_form(render_sms(text, written_contacts, sms, code, numbers))
        count, written_count = gsm.segments(rendered), gsm.segments(as_written)
        extra = room.get(key.split("[")[0], 0)
        if budget + extra > MAX_SEGMENTS:
            check.add(spath, f"room_for_local.{key}", f"with its budget makes {budget + extra} segments; at most {MAX_SEGMENTS}")
        if written_count > budget:
            check.add(spath, key, f"is {written_count} segments ({len(as_written)} characters); its budget is {budget}")
        elif rendered != as_written and count > budget + extra:
            check.add(
                spath,
                key,
                f"is {count} segments ({len(rendered)} characters) with this line's own name or local contact; "
                f"its budget is {budget}, {budget + extra} with them (room_for_local)",
            )
        if not text.strip():
            check.add(spath, key, "is empty")
    whatsapp = _whatsapp(check, root / code / "whatsapp.yaml", sms, text_contacts, numbers)
    label_words = _label(check, root / code / "label.yaml", sms)
    if reference is not None and label_words and not reference.label:
        check.add(root / code / "label.yaml", "", f"{reference.code}/label.yaml is missing: a label needs both")
    if reference is not None:
        wpath = root / code / "whatsapp.yaml"
        for key in sorted(set(reference.whatsapp) - set(whatsapp)):
            check.add_once(wpath, key, f"is missing; {reference.code}/whatsapp.yaml has it")
        for key in sorted(set(whatsapp) - set(reference.whatsapp)):
            check.add(wpath, key, f"is not in {reference.code}/whatsapp.yaml")
        for label, mine, theirs, path in (("voice", voice, reference.voice, vpath), ("sms", sms, reference.sms, spath)):
            if not mine:
                continue
            mine_keys, their_keys = _flat_keys(mine) - OPTIONAL_KEYS, _flat_keys(theirs) - OPTIONAL_KEYS
            for key in sorted(their_keys - mine_keys):
                check.add_once(path, key, f"is missing; {reference.code}/{label}.yaml has it")
            for key in sorted(mine_keys - their_keys):
                check.add(path, key, f"is not in {reference.code}/{label}.yaml")
    return Language(
        code=code, voice=voice, sms=sms, budgets=budgets, whatsapp=whatsapp, label=label_words, crisis=crisis, room_for_local=room
    )


def _check_fallback(check: _Checker, path: Path, voice: dict, always: dict, contacts: dict[str, Contact]) -> None:
    """fallback.connect: one sentence for each line the fallback may connect to, the person key 0 reaches
    among them; fallback.closed: for each of those with hours, said while it is closed (and not dialled)."""
    person = always.get("0") if always.get("0") in contacts else next(iter(contacts), None)
    connect = _get(voice, "fallback.connect")
    connect = connect if isinstance(connect, dict) else {}
    if person is not None and not isinstance(connect.get(person), str):
        check.add(path, f"fallback.connect.{person}", "is missing: how the fallback connects to the line key 0 reaches")
    for name, text in connect.items():
        if name not in contacts:
            check.add(path, f"fallback.connect.{name}", "is for no contact of contacts.yaml")
        elif not isinstance(text, str) or not text.strip():
            check.add(path, f"fallback.connect.{name}", "is missing or empty")
        elif contacts[name].hours and not isinstance(_get(voice, f"fallback.closed.{name}"), str):
            check.add(path, f"fallback.closed.{name}", "is missing: what the fallback says while this line is closed")


LABEL_TEXTS = ("about", "call_or_text", "keyword", "local", "scan_call", "scan_text")


def _label(check: _Checker, path: Path, sms: dict) -> dict[str, str]:
    """label.yaml (optional): the printed label's words. Its keyword must be one the text line answers."""
    if not path.is_file():
        return {}
    raw = check.load(path)
    words = {}
    for key in LABEL_TEXTS:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            check.add(path, key, "is missing or empty")
            continue
        words[key] = " ".join(value.split())
    for key in sorted(set(map(str, raw)) - set(LABEL_TEXTS)):
        check.add(path, key, f"is not a word of the label ({', '.join(LABEL_TEXTS)})")
    if "call_or_text" in words and "{keyword}" not in words["call_or_text"]:
        check.add(path, "call_or_text", "must say {keyword}: the word to text")
    recur = (sms.get("keywords") or {}).get("recur") if isinstance(sms.get("keywords"), dict) else None
    recur_words = {phrase_form(w) for w in recur or [] if isinstance(w, str)}
    if "keyword" in words and phrase_form(words["keyword"]) not in recur_words:
        check.add(path, "keyword", f"{words['keyword']!r} is not a recur keyword of sms.yaml: a texter sending it would not get the topics")
    return words


def message_keys(sms: dict) -> list[str]:
    """Every text the text line sends, as keys of sms.yaml: the SMS_TEXTS, then each topic's answer."""
    topics = sms.get("topics") if isinstance(sms.get("topics"), list) else []
    return [*SMS_TEXTS, *(f"answers.{t}" for t in topics if isinstance(t, str))]


def _whatsapp(check: _Checker, path: Path, sms: dict, contacts: dict[str, Contact], numbers: dict | None = None) -> dict[str, str]:
    """whatsapp.yaml (optional): WhatsApp's own words for some texts, where they help (HELP and STOP
    speak of WhatsApp, not texts). Every other text goes out on WhatsApp as sms.yaml writes it."""
    if not path.is_file():
        return {}
    raw = check.load(path)
    known = set(message_keys(sms))
    found = {}
    for key, text in _texts(raw):
        if key not in known:
            check.add(path, key, "is not a text of sms.yaml (a WhatsApp variant replaces one of them)")
            continue
        if not text.strip():
            check.add(path, key, "is empty")
            continue
        _check_placeholders(check, path, key, text, contacts, allow_key=False)
        rendered = render_sms(text, contacts, sms, numbers=numbers)
        if len(rendered) > WHATSAPP_LIMIT:
            check.add(path, key, f"is {len(rendered)} characters; one WhatsApp message takes at most {WHATSAPP_LIMIT}")
        found[key] = text
    return found


def _crisis_words(check: _Checker, path: Path) -> dict:
    """crisis.yaml: the phrases that bring the crisis message, the near misses taken out first, the words for yes."""
    words = check.load(path)
    if not words:
        return {}
    for name in CRISIS_LISTS:
        items = words.get(name)
        if name == "phrases" and not items:
            check.add(path, name, "is missing or empty: the words that bring the crisis message")
        elif items is not None and (not isinstance(items, list) or not all(isinstance(i, str) and crisis_fold(i).strip() for i in items)):
            check.add(path, name, "must be a list of words or phrases, each with a letter")
    for name in sorted(set(map(str, words)) - set(CRISIS_LISTS)):
        check.add(path, str(name), f"is not one of {', '.join(CRISIS_LISTS)} (quote yes and no: unquoted, YAML reads them as true/false)")
    phrases = [crisis_fold(p) for p in words.get("phrases") or [] if isinstance(p, str)]
    for miss in words.get("not") or []:
        if isinstance(miss, str) and not any(p in crisis_fold(miss) for p in phrases):
            check.add(path, "not", f"{miss!r} holds none of the phrases, so taking it out changes nothing")
    return words


def _check_hours_words(check: _Checker, path: Path, words) -> None:
    """The words that say opening hours: try them on a sample, so a typo shows at start-up."""
    sample = Hours(days=(0, 1, 2, 3, 4), opens=time(9), closes=time(21, 30), zone="America/New_York")
    try:
        if not isinstance(words, dict) or len(words.get("weekdays") or []) != 7:
            raise KeyError("weekdays (seven names, Monday first)")
        sample.describe(words)
        Hours(days=(0, 2), opens=time(9), closes=time(17), zone="UTC").describe(words)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        check.add(path, "hours", f"needs weekdays, day_range, and, open, time, am, pm and zones: {exc}")


def contact_part(contact: Contact, part: str, hours_words: dict | None, lang: str | None = None) -> str:
    """A contact's name, web site or hours as text in ``lang`` (phone numbers are said or printed by the caller)."""
    if part == "name":
        return contact.label
    if part == "hours":
        return contact.hours.describe(hours_words) if contact.hours and hours_words else ""
    if part == "digits":
        return contact.spoken  # the digits alone, where a text has no room for the number's spelled-out form too
    return contact.site(part, lang)


def local_info(words: dict, contacts: dict[str, Contact]) -> str:
    """The words' ``local_info`` sentence when the deployment has a local contact (``local_info_web``
    when the contact has a web site: IVR_LOCAL_WEB, or web: in IVR_LINES_FILE), else nothing."""
    local = contacts.get("local")
    if local is None:
        return ""
    if local.web and isinstance(words.get(LOCAL_INFO_WEB), str):
        return words[LOCAL_INFO_WEB]
    return words.get("local_info", "")


def render_sms(
    text: str, contacts: dict[str, Contact], texts: dict | None = None, lang: str | None = None, numbers: dict | None = None
) -> str:
    """Fill the placeholders of a text message (``texts``: its sms.yaml, in ``lang``: its web sites and
    how it prints numbers; ``numbers``: the crisis numbers, {crisis.lifeline}) and fold YAML whitespace.
    A contact's name is given as written: sms_form writes it in its closest GSM-7 form for SMS
    ("Clínica San José" -> "Clinica San José")."""
    texts = texts or {}

    def sub(match):
        if match.group(1) == "local_info":
            return PLACEHOLDER.sub(sub, local_info(texts, contacts))
        if match.group(1) == CARE_NOTE and isinstance(texts.get(CARE_NOTE), str):
            return PLACEHOLDER.sub(sub, texts[CARE_NOTE])
        if match.group(1) in SMS_LISTS:
            return sms_list(match.group(1), texts)
        contact, _, part = match.group(1).partition(".")
        if contact == "crisis" and numbers and part in numbers:
            return numbers[part]
        c = contacts.get(contact)
        if c is None:
            return match.group(0)
        if contact == SENDER and part == "name":
            return c.label or str(texts.get("line_name") or "")
        if contact == SENDER and part == "digits":  # the number as texts print it, only without vanity letters
            display = c.site("display", lang)
            return c.spoken if re.search(r"[A-Za-z]", display) else display
        if part == "name":
            return c.label  # sms_form then writes it in its closest GSM-7 form, for SMS only
        return c.site("display", lang) if part == "phone" else contact_part(c, part, texts.get("hours"), lang)

    filled = PLACEHOLDER.sub(sub, text)
    return "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in filled.strip().splitlines())


def sms_form(text: str) -> str:
    """A text as it goes out by SMS: the accents GSM-7 lacks dropped (a clinic's "Clínica" is "Clinica").

    prompts/ may write words with every accent (WhatsApp and voice keep them); SMS is billed in GSM-7
    segments, and one á would turn a whole text into 70-character UCS-2 parts.
    """
    return gsm.fold_accents(text)


def sms_list(name: str, texts: dict) -> str:
    """{topics}: the numbered titles, one a line; {topic_count}: how many topics there are."""
    topics = texts.get("topics") if isinstance(texts.get("topics"), list) else []
    if name == "topic_count":
        return str(len(topics))
    titles = texts.get("titles") if isinstance(texts.get("titles"), dict) else {}
    return "\n" + "\n".join(f"{n} {titles.get(t, t)}" for n, t in enumerate(topics, 1)) + "\n"


def _sms_keywords(check: _Checker, path: Path, sms: dict, is_default: bool) -> None:
    """sms.yaml "topics", "titles", "answers" and "keywords": complete, and no word with two meanings."""
    topics = sms.get("topics")
    if not isinstance(topics, list) or not topics or not all(isinstance(t, str) and t for t in topics):
        check.add(path, "topics", "must be a list of answer names (the order gives their numbers)")
        topics = []
    for name in sorted({t for t in topics if topics.count(t) > 1}):
        check.add(path, "topics", f"{name!r} is listed twice")
    for section in ("titles", "answers"):
        texts = sms.get(section) if isinstance(sms.get(section), dict) else {}
        for name in topics:
            if not isinstance(texts.get(name), str) or not texts[name].strip():
                check.add(path, f"{section}.{name}", "is missing or empty (every topic needs a title and an answer)")
        for name in sorted(set(map(str, texts)) - set(topics)):
            check.add(path, f"{section}.{name}", "is not in topics, so no number reaches it")
    keywords = sms.get("keywords")
    if not isinstance(keywords, dict):
        check.add(path, "keywords", "must map each reply to the words that ask for it")
        return
    for intent in SMS_INTENTS:
        if intent not in keywords:
            check.add(path, f"keywords.{intent}", "is missing")
    owner: dict[str, str] = {}
    for intent, items in keywords.items():
        intent = str(intent)
        if intent not in SMS_INTENTS and intent not in OPTIONAL_INTENTS and intent not in topics:
            check.add(path, f"keywords.{intent}", f"is neither one of {', '.join(SMS_INTENTS + OPTIONAL_INTENTS)} nor a topic")
            continue
        if isinstance(items, list) and any(isinstance(i, bool) for i in items):
            check.add(path, f"keywords.{intent}", 'put YES, NO, ON and OFF in quotes ("YES"): unquoted, YAML reads them as true/false')
            continue
        if not isinstance(items, list) or not items or not all(isinstance(i, str) and phrase_form(i) for i in items):
            check.add(path, f"keywords.{intent}", "must be a list of words, each with a letter or digit")
            continue
        for item in items:
            form = phrase_form(item)
            if form.isdigit() or form.split()[0].isdigit():
                check.add(path, f"keywords.{intent}", f"{item!r}: numbers are for topics (1-{len(topics)})")
            if intent in TWILIO_KEYWORDS and intent != "help" and exact_form(item) != form:
                check.add(path, f"keywords.{intent}", f"{item!r}: opt-out and opt-in words are letters and spaces only")
            other = owner.setdefault(form, intent)
            if other != intent:
                kind = "an opt-out word" if "stop" in (other, intent) else "an opt-in word" if "start" in (other, intent) else "a keyword"
                check.add(path, f"keywords.{intent}", f"{item!r} is also {kind} of {other!r}; a word can mean one thing only")
    numbers = sms.get("number_words")
    if numbers is not None and (not isinstance(numbers, list) or not all(isinstance(n, str) and phrase_form(n) for n in numbers)):
        check.add(path, "number_words", "must be a list of the words for 1, 2, 3 ... in this language")
    for item in numbers if isinstance(numbers, list) else []:
        if isinstance(item, str) and phrase_form(item) in owner:
            check.add(path, "number_words", f"{item!r} is also a keyword of {owner[phrase_form(item)]!r}; a word can mean one thing only")
    for item in sms.get("question_words") or []:
        if not isinstance(item, str) or phrase_form(item) not in owner:
            check.add(path, "question_words", f"{item!r} is no keyword here: a question word must be one of a topic's keywords")
    reactions = sms.get("reactions")
    if reactions is not None and (not isinstance(reactions, list) or not all(isinstance(r, str) and phrase_form(r) for r in reactions)):
        check.add(path, "reactions", "must be a list of the words that open a phone's reaction to a text (Liked, Loved ...)")
    emoji = sms.get("thanks_emoji")
    emoji_only = isinstance(emoji, list) and all(isinstance(e, str) and e.strip() and not phrase_form(e) for e in emoji)
    if emoji is not None and not emoji_only:
        check.add(path, "thanks_emoji", "must be a list of emoji (no letters or digits) that alone say thanks")
    if is_default:
        for intent, required in TWILIO_KEYWORDS.items():
            listed = {exact_form(i) for i in keywords.get(intent) or [] if isinstance(i, str)}
            for word in required:
                if word not in listed:
                    check.add(path, f"keywords.{intent}", f"must list {word}: Twilio treats it as {intent}, and so must the line")


def _sms_across_languages(check: _Checker, root: Path, languages: dict[str, Language]) -> None:
    """The same topic numbers everywhere, and no word that means one thing in one language and another elsewhere."""
    owner: dict[str, tuple[str, str]] = {}
    reference = languages.get(DEFAULT_LANGUAGE)
    for code, language in languages.items():
        path = root / code / "sms.yaml"
        if reference is not None and code != DEFAULT_LANGUAGE and language.sms.get("topics") != reference.sms.get("topics"):
            check.add(path, "topics", f"must be the same list as in {DEFAULT_LANGUAGE}/sms.yaml: a number means one topic")
        keywords = language.sms.get("keywords") if isinstance(language.sms.get("keywords"), dict) else {}
        for intent, items in keywords.items():
            for item in items if isinstance(items, list) else []:
                form = phrase_form(str(item))
                first = owner.setdefault(form, (code, str(intent)))
                if first[0] != code and first[1] != intent:
                    check.add(path, f"keywords.{intent}", f"{item!r} means {first[1]!r} in {first[0]}/sms.yaml")


def load(root: Path, region: str = "US", local: dict | None = None, line_name: str = "", local_source: str = "settings") -> Content:
    """Read and check prompts/ at ``root``; raise ContentError listing every problem.

    ``local`` is the line's own contact (name, phone, optional hours and web) or None, and
    ``line_name`` the line's name ("": sms.yaml's line_name); ``local_source`` names where they come
    from in problems (the settings, or a line of IVR_LINES_FILE). Texts are checked with them in.
    """
    root = Path(root)
    check = _Checker(root)
    line_name = gsm.plain_punctuation(line_name)  # "St. Mary’s Clinic" opens texts: GSM-7's apostrophe
    contacts_path, menu_path = root / "contacts.yaml", root / "menu.yaml"
    raw_contacts, raw_menu = check.load(contacts_path), check.load(menu_path)
    reference_voice = check.load(root / DEFAULT_LANGUAGE / "voice.yaml")
    if check.problems:  # a file that cannot be read: report that alone, not its consequences
        raise ContentError(check.problems)
    numbers = _crisis_numbers(check, contacts_path, raw_contacts.pop("crisis", None))
    contacts = _contacts(check, contacts_path, raw_contacts, region)
    for name in sorted(set(contacts) & set(OPTIONAL_CONTACTS)):
        check.add(contacts_path, name, "is configured by the deployment (IVR_LOCAL_*), not here")
    if local:
        contacts.update(_local_contact(check, local, region, local_source))
    answers = set(map(str, (reference_voice.get("answers") or {}))) if reference_voice else set()
    menus, always = _menus(check, menu_path, raw_menu, answers, set(contacts) | set(OPTIONAL_CONTACTS))
    # Leave out the choices that lead to an optional contact this deployment has not configured.
    menus = {name: {k: t for k, t in opts.items() if t in contacts or t not in OPTIONAL_CONTACTS} for name, opts in menus.items()}
    language_keys = _language_keys(check, menu_path, raw_menu, menus, always)
    crisis_key = str(raw_menu.get("crisis", ""))
    if crisis_key not in KEYS:
        check.add(menu_path, "crisis", "must be a key from 1 to 9: the one that connects a caller in distress to the lifeline")
    elif crisis_key in always:
        check.add(menu_path, "crisis", f"key {crisis_key} is an 'always' key, which must keep working after the crisis message")
    for clash in sorted(set(menus) & (answers | set(contacts) | set(ACTIONS))):
        check.add(menu_path, f"menus.{clash}", "a menu cannot share its name with an answer, contact or action")
    languages: dict[str, Language] = {}
    codes = sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "voice.yaml").exists()) if root.is_dir() else []
    if DEFAULT_LANGUAGE not in codes:
        check.add(root / DEFAULT_LANGUAGE / "voice.yaml", "", "file is missing")
    else:
        codes.remove(DEFAULT_LANGUAGE)
        codes.insert(0, DEFAULT_LANGUAGE)
    sender = _sender(contacts, always, line_name)
    for code in codes:
        reference = languages.get(DEFAULT_LANGUAGE)
        languages[code] = _language(check, root, code, menus, always, contacts, reference, sender, numbers)
        if languages[code].sms:
            _sms_keywords(check, root / code / "sms.yaml", languages[code].sms, code == DEFAULT_LANGUAGE)
        if len(codes) > 1 and code not in language_keys:
            check.add(menu_path, f"languages.{code}", "every language needs the key that chooses it at the welcome")
    _sms_across_languages(check, root, languages)
    if check.unreadable:  # a file that cannot be read: report it once, not what follows from its absence
        raise ContentError(check.unreadable)
    if check.problems:
        raise ContentError(check.problems)
    return Content(
        root=root,
        menus=menus,
        always=always,
        contacts=contacts,
        languages=languages,
        answers=tuple(reference_voice["answers"]),
        language_keys={code: key for code, key in language_keys.items() if code in languages},
        sender=sender,
        crisis_numbers=numbers,
        crisis_key=crisis_key,
        crisis_words=CrisisWords({code: language.crisis for code, language in languages.items()}),
    )


# The settings a local contact's parts come from when it is the shorthand (IVR_LOCAL_*), not a line's.
LOCAL_SETTINGS = {"name": "IVR_LOCAL_NAME", "phone": "IVR_LOCAL_PHONE", "hours": "IVR_LOCAL_HOURS", "web": "IVR_LOCAL_WEB"}


def _local_contact(check: _Checker, local: dict, region: str, source: str) -> dict[str, Contact]:
    """The line's own contact, checked; a problem of the shorthand names its environment variable.

    Its name is said and texted: a curly apostrophe or a dash becomes its plain form (GSM-7), and a
    character no SMS can carry (an emoji) is this setting's problem, not the texts' it would spoil.
    """
    own = _Checker(check.root)
    local = dict(local)
    if isinstance(local.get("name"), str):
        local["name"] = gsm.plain_punctuation(local["name"])
        bad = gsm.bad_characters(sms_form(local["name"]))
        if bad:
            shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in bad)
            own.add(Path(source), "local.name", f"has characters a text message cannot carry in GSM-7: {shown}; leave them out")
            local["name"] = gsm.to_gsm7(local["name"])  # so the texts it is in are not blamed as well
    found = _contacts(own, Path(source), {"local": local}, region)
    for file, key, reason in own.problems:
        part = key.partition(".")[2].partition(".")[0]
        if source == "settings" and part in LOCAL_SETTINGS:
            check.problems.append(("environment", LOCAL_SETTINGS[part], reason))
        else:
            check.problems.append((file, key, reason))
    return found


def _sender(contacts: dict[str, Contact], always: dict[str, str], line_name: str) -> Contact | None:
    """The sender of the texts (SENDER): the line's name, and its local contact's number, else key 0's."""
    target = always.get("0")
    own = contacts.get("local") or contacts.get(target or "") or next(iter(contacts.values()), None)
    if own is None:
        return None
    # display and spoken stay the contact's own, as contacts.yaml gives them for each language
    return Contact(name=SENDER, phone=own.phone, display=own.display, spoken=own.spoken, web=own.web, label=line_name, sites=own.sites)


def _crisis_numbers(check: _Checker, path: Path, raw) -> dict[str, str]:
    """contacts.yaml ``crisis``: the short numbers the crisis message gives (988, 911), digits only."""
    if not isinstance(raw, dict):
        check.add(path, "crisis", f"must give {' and '.join(CRISIS_NUMBERS)} (the numbers the crisis message gives)")
        return {}
    numbers = {}
    for name in CRISIS_NUMBERS:
        value = str(raw.get(name) or "").strip()
        if not re.fullmatch(r"[0-9]{3,15}", value):
            check.add(path, f"crisis.{name}", f"{value!r} must be the digits to dial, such as 988 or 911")
        numbers[name] = value
    for name in sorted(set(map(str, raw)) - set(CRISIS_NUMBERS)):
        check.add(path, f"crisis.{name}", f"is not one of {', '.join(CRISIS_NUMBERS)}")
    return numbers


def _language_keys(check: _Checker, path: Path, raw: dict, menus: dict, always: dict) -> dict[str, str]:
    """menu.yaml ``languages``: the key that switches to each language at the welcome."""
    raw_keys = raw.get("languages") or {}
    if not isinstance(raw_keys, dict):
        check.add(path, "languages", "must map a language code to a key")
        return {}
    keys = {str(code): str(key) for code, key in raw_keys.items()}
    for code, key in keys.items():
        if key not in KEYS:
            check.add(path, f"languages.{code}", "must be a key from 1 to 9")
        elif key in always:
            check.add(path, f"languages.{code}", f"key {key} is already an 'always' key")
        else:  # the language key works at every menu, so no menu may use it for anything else
            for name, options in menus.items():
                if key in options:
                    check.add(
                        path,
                        f"languages.{code}",
                        f"key {key} is already a choice of the {name} menu; it chooses the language at every menu",
                    )
    return keys
