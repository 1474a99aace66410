"""The safety net: words that sound like a crisis, in a text or said at any menu, in English or Spanish,
get at once a warm message with 988 and 911 (and, in a call, one key to connect to 988 now); then the
line goes on as before. Counted without content; the words are never stored or logged."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from ivr.config import ROOT
from ivr.content import gsm
from ivr.content import prompts as content
from ivr.content.crisis import CrisisWords
from ivr.store.migrate import upgrade
from ivr.store.storage import Storage, usage_daily, usage_events, usage_seen
from ivr.tools.admin import _tiles
from ivr.tools.simulator import Call, FlaskTransport, Texter
from ivr.tools.stats import format_table, report, report_from_events
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, line_of
from tests.instances import usage_rows
from tests.prompt_edits import edit, problems

LOADED = content.load(ROOT / "prompts")
WORDS = CrisisWords({code: language.crisis for code, language in LOADED.languages.items()})

ENGLISH = [
    "I want to die",
    "i just want to die",
    "I can't go on",
    "I can’t go on like this anymore",  # a curly apostrophe, as phones type it
    "I CANNOT GO ON",
    "I'm thinking about killing myself",
    "sometimes I think about suicide",
    "I feel suicidal",
    "I want to end my life",
    "everyone would be better off without me",
    "I have nothing to live for",
    "I don't want to live anymore",
    "I dont want to be alive",
    "I want to end it all",
    "I can't take it anymore",
    "I want to hurt myself",
    "I don't want to die, I want to kill myself",  # a near miss does not hide what follows it
    # being a burden, no reason to live (the warning signs README names), as people write them
    "I'm a burden to my family",
    "I am such a burden",
    "I feel like a burden to everyone",
    "there is no point in living anymore",
    "no point living like this",
    "I don't want to be here anymore",
    "i dont want to be here",
    "what's the point of living",
    # passive wishes to die: the Columbia scale's first question, as people write it
    "I wish I could go to sleep and not wake up",
    "sometimes I wish I could just fall asleep and never wake up",
    "I wish I could just die",
    "I just want to die in my sleep",
    "i wish i would die",
    "I wish I'd never been born",
]
SPANISH = [
    "Quiero morir",
    "me quiero morir",
    "ya no quiero vivir",
    "Ya no puedo más",
    "estoy pensando en suicidarme",
    "quiero quitarme la vida",
    "a veces quiero matarme",
    "no tengo razón para vivir",
    "quisiera estar muerta",
    "no quiero seguir viviendo así",
    "quiero acabar con todo",
    "soy una carga",
    "siento que soy una carga para mi familia",
    "no quiero estar aquí",
    "ya no quiero estar aquí",
    "no tiene sentido vivir",
    "ya no tiene sentido seguir viviendo",
    # passive wishes to die, and the everyday "I can't go on"
    "no puedo más",
    "No puedo mas!!",
    "ya no aguanto",
    "no aguanto más este dolor",
    "quisiera morirme",
    "a veces quisiera morir",
    "ojalá me muera",
    "ojala me muriera ya",
    "quisiera dormirme y no despertar",
]
NEAR_MISSES = [
    "this traffic is killing me",
    "I'm dying to know why it came back",
    "my phone is about to die",
    "I don't want to die",
    "I do not want to die",
    "am I going to die",
    "I'm scared to die",
    "my feet are killing me",
    "I want to die at home, with my family",  # a wish about end-of-life care
    "end of life care",
    "what happens at the end of my life",
    "I killed it at the gym",
    "I could go on about this",
    "este tráfico me está matando",
    "me muero de ganas de verlos",
    "me muero de hambre",
    "mi jefe va a matarme",
    "no quiero morir",
    "no me quiero morir",
    "tengo miedo de morir",
    "quiero morir en casa",
    "quisiera morir en casa, con mi familia",
    "no quisiera morirme sin ver a mis nietos",
    "ojalá no me muera",
    "no puedo más, estoy llena",  # after a meal
    "I wish I could die at home",  # end-of-life care
    "what is the point of treatment",
    "is there any point in more chemo",
    "the cost of treatment is a burden",
    "what is the tumor burden",
    "where do I want to be treated",
    "la quimio es una carga pesada",
    "no quiero estar sola en el hospital",
    "RECUR",
    "3",
    "",
]


@pytest.mark.parametrize("words", ENGLISH)
def test_english_phrasings_are_recognised(words):
    assert WORDS.language_of(words) == "en"


@pytest.mark.parametrize("words", SPANISH)
def test_spanish_phrasings_are_recognised(words):
    assert WORDS.language_of(words) == "es"


@pytest.mark.parametrize("words", NEAR_MISSES)
def test_everyday_near_misses_are_not(words):
    assert WORDS.language_of(words) is None


# --- texts ---------------------------------------------------------------------------------------
@pytest.fixture
def texter(client):
    return Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER)


def test_a_text_in_crisis_gets_the_warm_message_first_then_the_line_goes_on(texter, line):
    [reply] = texter.send("I can't go on")
    assert reply == line.sms.text("en", "crisis")
    assert "988" in reply and "911" in reply and "Spanish" in reply and "not alone" in reply
    [menu] = texter.send("RECUR")
    assert menu == line.sms.text("en", "recur")


@pytest.mark.parametrize(
    ("body", "lang"),
    [("call me please help, I can't go on", "en"), ("HELP I want to die", "en"), ("I want to die, what are your hours", "en"),
     ("ayuda, llámenme, ya no puedo más", "es"), ("NCI please help me I'm suicidal", "en")],
)  # fmt: skip
def test_distress_with_a_request_for_help_or_a_call_gets_the_crisis_text_not_help(texter, line, body, lang):
    assert texter.send(body) == [line.sms.text(lang, "crisis")]


def test_a_request_for_help_or_a_call_without_distress_words_gets_what_it_asks_for(texter, line):
    assert texter.send("call me please help") == [line.sms.text("en", "contacts")]  # a person asking for help: people to talk to
    assert texter.send("please call me") == [line.sms.text("en", "contacts")]


def test_a_spanish_text_in_crisis_gets_the_spanish_message(texter, line):
    texter.send("RECUR")  # an English texter who then writes in Spanish
    [reply] = texter.send("ya no quiero vivir")
    assert reply == line.sms.text("es", "crisis")
    assert "llame al 988 (oprima 2 para español)" in reply and "llame al 911" in reply


def test_an_opted_out_texter_still_gets_the_crisis_message(texter, line):
    texter.send("PARAR")
    assert texter.send("RECUR") == []
    [reply] = texter.send("I want to die")
    assert reply == line.sms.text("en", "crisis")


@pytest.mark.parametrize(("lang", "by_call", "by_text"), [("en", "press 2", "text AYUDA"), ("es", "oprima 2", "la palabra AYUDA")])
def test_the_crisis_text_says_how_to_reach_the_lifeline_in_spanish(line, lang, by_call, by_text):
    """Not "Spanish available": how, as the 988 Lifeline itself answers (contacts.yaml): press 2 on a call, AYUDA by text."""
    reply = line.sms.text(lang, "crisis")
    assert by_call in reply and by_text in reply, reply
    assert "available" not in reply


def test_the_crisis_texts_are_one_or_two_plain_parts(line):
    for lang in line.content.languages:
        text = line.sms.text(lang, "crisis")
        assert gsm.is_gsm7(text) and gsm.segments(text) <= line.content.languages[lang].budgets["crisis"] <= 2


# --- calls ---------------------------------------------------------------------------------------
def test_words_of_crisis_at_the_main_menu_offer_988_and_one_key_connects(call):
    c = call().say("I just can't go on anymore")
    heard = c.text
    assert heard.startswith("We are so sorry you are going through this.")
    assert "988" in heard and "911" in heard and "For Spanish, press 2 when you call." in heard
    assert "To be connected to 988 now, press 1." in heard and c.waiting == "gather"
    c.press("1")
    assert "Connecting you now to 988" in c.text
    assert c.dialled[-1]["number"] == "988" and c.dialled[-1]["callerId"] == CALLER  # the caller's own number


def test_after_the_message_silence_or_another_key_goes_back_to_where_the_caller_was(call, line):
    heading = line.script("en").text("menus.again")
    c = call().press("2").say("I want to die")  # at the "second time" menu
    assert "988" in c.text
    c.silence()
    assert c.text.startswith(heading) and "did not hear" not in c.text  # as before: no silence counted
    c.say("quiero morirme")  # Spanish words in an English call: the message in the call's language
    assert "988" in c.text and "We are so sorry" in c.text
    c.press("5")
    assert c.text.startswith(heading) and not c.dialled


def test_after_the_message_zero_still_reaches_a_person_and_yes_connects(call):
    c = call().say("I want to kill myself").press("0")
    assert c.dialled[-1]["number"] == "+18004226237"
    c = call().say("I want to kill myself").say("yes please")
    assert c.dialled[-1]["number"] == "988"


def test_a_call_to_988_that_does_not_go_through_says_so_and_goes_on(call):
    c = call().say("suicide").press("1")
    c.dial_ends("failed")
    assert "the call to 988 did not go through" in c.text and "Main menu" in c.text


def test_in_spanish_after_an_answer_the_message_is_spanish(call):
    c = call().press("9").press("2").press("3")  # español, segunda vez, cosas que recordar
    c.say("ya no puedo más")
    heard = c.text
    assert heard.startswith("Lamentamos mucho que esté pasando por esto.")
    assert "oprima 2 para español" in heard and "Para que le comuniquemos ahora con el 988, oprima 1." in heard
    c.press("1")
    assert "Le comunicamos con el 988. Tras el saludo, oprima 2 para español." in c.text and c.dialled[-1]["number"] == "988"


def test_at_the_welcome_too(call):
    c = call().say("I want to die")
    assert "988" in c.text
    c.silence()
    assert "Para español, oprima 9." in c.text  # back to the welcome's menu, offer included


@pytest.mark.parametrize(("words", "lang"), [("no point in living", "en"), ("I'm a burden to my family", "en"), ("soy una carga", "es")])
def test_a_burden_or_no_point_in_living_said_at_a_menu_offers_988(call, words, lang):
    c = call().press("1").say(words)
    assert "988" in c.text and "To be connected to 988 now, press 1." in c.text


@pytest.mark.parametrize(("body", "lang"), [("I'm a burden to my family", "en"), ("no point in living anymore", "en"),
                                            ("I don't want to be here anymore", "en"), ("soy una carga", "es"),
                                            ("no quiero estar aquí", "es"), ("no tiene sentido vivir", "es")])  # fmt: skip
def test_a_burden_or_no_point_in_living_texted_gets_the_crisis_text(texter, line, body, lang):
    assert texter.send(body) == [line.sms.text(lang, "crisis")]


@pytest.mark.parametrize(("body", "lang"), [("I wish I could go to sleep and not wake up", "en"), ("I wish I could just die", "en"),
                                            ("I just want to die in my sleep", "en"), ("no puedo más", "es"), ("ya no aguanto", "es"),
                                            ("quisiera morirme", "es"), ("ojalá me muera", "es")])  # fmt: skip
def test_a_passive_wish_to_die_texted_gets_the_crisis_text_in_its_language(texter, line, body, lang):
    assert texter.send(body) == [line.sms.text(lang, "crisis")]


@pytest.mark.parametrize(("lang", "words"), [("en", "I wish I could go to sleep and not wake up"), ("en", "I wish I could just die"),
                                             ("es", "no puedo más"), ("es", "quisiera morirme"), ("es", "ojalá me muera"),
                                             ("es", "ya no aguanto")])  # fmt: skip
def test_a_passive_wish_to_die_said_at_a_menu_offers_988(call, lang, words):
    c = call().press("1") if lang == "en" else call().press("9").press("1")  # in Spanish: español, sobre la recurrencia
    c.say(words)
    assert "988" in c.text and c.text.startswith("We are so sorry" if lang == "en" else "Lamentamos mucho") and not c.dialled


def test_what_is_the_point_of_treatment_is_a_question_not_a_crisis(texter, line):
    assert texter.send("what is the point of treatment") != [line.sms.text("en", "crisis")]


@pytest.mark.parametrize("words", ["this traffic is killing me", "I'm dying to know why it came back"])
def test_near_misses_at_a_menu_are_only_not_a_choice(call, words):
    c = call().press("1").say(words)
    assert "988" not in c.text and not c.dialled


# --- what is kept ----------------------------------------------------------------------------------
def test_crisis_events_are_counted_with_no_number_no_call_and_no_words(line, client, caplog):
    caplog.set_level(logging.INFO)
    texter = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER)
    texter.send("I want to end my life tonight")
    c = Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start()
    c.say("I can't go on").press("1")
    c.dial_ends("completed")
    rows = usage_rows(line)
    # No row at all: one among the call's rows would be tied by its time to the call's first, which has the number's hash.
    assert [r for r in rows if r["event"] == "crisis"] == [] and any(r["event"] == "call" for r in rows)
    stored = json.dumps([list(r.values()) for r in rows], default=str).lower()
    logged = caplog.text.lower()
    for word in ("end my life", "tonight", "go on", "cant"):
        assert word not in stored and word not in logged
    data = report(line.storage, rows[0]["at"].date(), rows[-1]["at"].date())
    assert data["crisis"] == {"sms": {"offered": 1}, "voice": {"completed": 1, "connect": 1, "offered": 1}}
    # Only the per-day counts hold them (the report above reads nothing else), with nothing that tells
    # people apart: no numbered events, no first-of-the-day rows; the report from events reads them there.
    assert report_from_events(line.storage, rows[0]["at"].date(), rows[-1]["at"].date())["crisis"] == data["crisis"]
    with line.storage.engine.connect() as conn:
        daily = conn.execute(select(usage_daily).where(usage_daily.c.event == "crisis")).mappings().all()
        seen = conn.execute(select(usage_seen)).mappings().all()
    assert sorted((r["channel"], r["outcome"], r["events"], r["numbered"], r["keyword"], r["topic"]) for r in daily) == [
        ("sms", "offered", 1, 0, "", ""),
        ("voice", "completed", 1, 0, "", ""),
        ("voice", "connect", 1, 0, "", ""),
        ("voice", "offered", 1, 0, "", ""),
    ]
    # The caller is counted by the call's own events; the texter, whose one text was a crisis, not at all.
    assert {r["measure"] for r in seen} == {"callers", "call_language"}
    table = format_table(data)
    assert "Crisis messages (the safety net; no numbers, no words)" in table and "voice    connect" in table
    assert ("crisis messages", 2, "the safety net, by call or text; calls put through to 988: 1") in _tiles(data)


def test_a_recount_keeps_the_crisis_counts_and_deletes_any_crisis_row_the_code_before_left(app_on):
    """On SQLite and PostgreSQL: ``usage recount`` rebuilds the counts from the events, where no crisis is."""
    line = line_of(app_on)
    client = app_on.test_client()
    Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER).send("I want to end my life")
    Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start().say("I can't go on").press("1")
    rows = usage_rows(line)
    today = rows[-1]["at"].date()
    before = report(line.storage, today, today)
    assert before["crisis"] == {"sms": {"offered": 1}, "voice": {"connect": 1, "offered": 1}}
    with line.storage.engine.begin() as conn:  # a crisis row as the code before wrote it (and counted)
        conn.execute(insert(usage_events), [{**{k: v for k, v in rows[-1].items() if k != "id"}, "event": "crisis", "outcome": "offered"}])
    for args in (["usage", "recount", "--days", "1"], ["usage", "recount", "--all"]):
        result = app_on.test_cli_runner().invoke(args=args)
        assert result.exit_code == 0, result.output
        assert report(line.storage, today, today) == before  # kept, not lost, not counted twice
    assert [r for r in usage_rows(line) if r["event"] == "crisis"] == []


def test_migration_0008_deletes_the_crisis_rows_and_keeps_their_counts(tmp_path, database_url):
    url = database_url.replace("postgresql://", "postgresql+psycopg://")
    upgrade(url, "0005")
    storage = Storage(url)
    at = datetime.now(UTC)
    row = {"at": at, "channel": "voice", "event": "crisis", "outcome": "offered", "language": "en"}
    with storage.engine.begin() as conn:  # as 0005's code wrote a crisis event: a row, and its count
        conn.execute(insert(usage_events), [row, {**row, "event": "call", "number_hash": "ab" * 32, "outcome": None}])
    with storage.engine.begin() as conn:
        conn.execute(insert(usage_daily), [{"day": at.date(), "channel": "voice", "event": "crisis", "outcome": "offered",
                                            "language": "en", "events": 1, "numbered": 0}])  # fmt: skip
    upgrade(url)
    with storage.engine.connect() as conn:
        assert [r.event for r in conn.execute(select(usage_events.c.event))] == ["call"]
    assert report(storage, at.date(), at.date())["crisis"] == {"voice": {"offered": 1}}
    storage.engine.dispose()


def test_on_whatsapp_an_opted_out_user_gets_the_crisis_message_as_written_and_nothing_more(client, line):
    wa = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=f"whatsapp:{CALLER}", to=f"whatsapp:{OUR_NUMBER}")
    wa.send("STOP")
    assert wa.send("RECUR") == [] and wa.send("HELP") == []  # opted out on WhatsApp: nothing, not even HELP
    [reply] = wa.send("quisiera estar muerta")
    assert reply == line.sms.text("es", "crisis", "whatsapp")
    assert "llame al 988 (oprima 2 para español)" in reply and "911" in reply
    [english] = wa.send("I feel suicidal")
    assert english == line.sms.text("en", "crisis", "whatsapp") and "988" in english
    assert wa.send("RECUR") == []  # still opted out: the crisis text answered their own message only
    assert [r for r in usage_rows(line) if r["event"] == "crisis"] == []  # counted only, per day
    with line.storage.engine.connect() as conn:
        daily = conn.execute(select(usage_daily).where(usage_daily.c.event == "crisis")).mappings().all()
    assert sorted((r["channel"], r["language"], r["outcome"], r["events"], r["numbered"]) for r in daily) == [
        ("whatsapp", "en", "offered", 1, 0),
        ("whatsapp", "es", "offered", 1, 0),
    ]


# --- the words are data, checked at start-up ---------------------------------------------------------
def test_crisis_words_and_numbers_are_checked_at_start_up(prompts):
    edit(prompts / "contacts.yaml", 'lifeline: "988"', 'lifeline: "9 8 8"')
    edit(prompts / "en" / "crisis.yaml", "  - want to die with dignity\n", "  - want to die with dignity\n  - zebra crossing\n")
    edit(prompts / "menu.yaml", 'crisis: "1"', 'crisis: "0"')
    found = problems(prompts)
    assert ("prompts/contacts.yaml", "crisis.lifeline", "'9 8 8' must be the digits to dial, such as 988 or 911") in found
    assert ("prompts/en/crisis.yaml", "not", "'zebra crossing' holds none of the phrases, so taking it out changes nothing") in found
    assert any(f == "prompts/menu.yaml" and k == "crisis" for f, k, _ in found)


def test_a_language_without_crisis_words_stops_start_up(prompts):
    (prompts / "es" / "crisis.yaml").unlink()
    assert ("prompts/es/crisis.yaml", "", "file is missing") in problems(prompts)
