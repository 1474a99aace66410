"""The caller in control: every sentence cut short by a key, the first choice within 15 s, the other language at every menu.

The keypad crawl presses every key at every <Gather> (also while the words before the menu are
still said), lets every menu time out and every transfer end each way, in both languages, and
holds each TwiML document it reaches to one rule: no more than 12 words stand outside a <Gather>
before the next one, and words outside one may only lead to a <Dial> or a <Hangup>.
"""

from __future__ import annotations

import re
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import pytest

from ivr.outcomes import TextOutcome
from ivr.tools.simulator import Call, FlaskTransport, check_twiml, sign
from ivr.voice.budget import FIRST_CHOICE_BUDGET, MENU_BUDGET, count_words, measure
from ivr.voice.speech import spoken_text
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, MENU, OUR_NUMBER, SATURDAY, line_of, path_to
from tests.handout_facts import FACTS
from tests.prompt_edits import edit

WORD_LIMIT = 12
KEYS = "0123456789*#"
SPANISH_NUMBER = "+16175550101"
DIAL_ENDS = ("completed", "busy", "no-answer", "failed", "canceled")


def loose_words(root: ET.Element) -> list[tuple[int, str]]:
    """(words, what follows) for each run of words said outside a <Gather>."""
    runs, words = [], 0
    for verb in root:
        if verb.tag == "Say":
            words += count_words(spoken_text(verb))
        elif verb.tag == "Play":
            words += WORD_LIMIT + 1  # a recording outside a <Gather> cannot be cut short at all
        elif words:
            runs.append((words, verb.tag))
            words = 0
    if words:
        runs.append((words, "end"))
    return runs


def breaks_the_rule(root: ET.Element) -> list[str]:
    problems = []
    for words, then in loose_words(root):
        if then == "Gather" and words > WORD_LIMIT:
            problems.append(f"{words} words outside a <Gather> before the next one")
        elif then not in ("Gather", "Dial", "Hangup"):
            problems.append(f"{words} words outside a <Gather>, then {then}: only words before a <Dial> or <Hangup> may be")
    return problems


@pytest.fixture
def crawl_app(make_app):
    return make_app(IVR_NUMBER_LANGUAGES=f"{SPANISH_NUMBER}=es")


def crawl(client, numbers: tuple[str, ...]) -> dict[bytes, str]:
    """Every TwiML document reachable by keys, silence and how transfers end: body -> the first URL that gave it."""
    documents: dict[bytes, str] = {}
    seen: set[tuple[str, str, tuple]] = set()
    queue = [(BASE_URL + "/voice", number, ()) for number in numbers]
    while queue:
        url, number, extra = queue.pop()
        if (url, number, extra) in seen:
            continue
        seen.add((url, number, extra))
        params = {"CallSid": "CA" + uuid.uuid4().hex, "From": CALLER, "To": number, "CallStatus": "in-progress", **dict(extra)}
        parts = urllib.parse.urlsplit(url)
        response = client.post(
            parts.path + (f"?{parts.query}" if parts.query else ""), base_url=BASE_URL, data=params, headers=sign(AUTH_TOKEN, url, params)
        )
        assert response.status_code == 200, (url, extra)
        root = check_twiml(response.data)
        documents.setdefault(response.data, url)
        for verb in root:
            if verb.tag == "Gather":
                action = urllib.parse.urljoin(url, verb.get("action") or url)
                queue += [(action, number, (("Digits", key),)) for key in KEYS]
            elif verb.tag == "Redirect":
                queue.append((urllib.parse.urljoin(url, verb.text.strip()), number, ()))
            elif verb.tag == "Dial" and verb.get("action"):
                action = urllib.parse.urljoin(url, verb.get("action"))
                queue += [(action, number, (("DialCallStatus", status),)) for status in DIAL_ENDS]
    return documents


def test_a_keypad_crawl_of_both_languages_finds_no_words_a_key_cannot_cut_short(crawl_app):
    documents = crawl(crawl_app.test_client(), (OUR_NUMBER, SPANISH_NUMBER))
    languages = {g.get("language") for body in documents for g in ET.fromstring(body).iter("Gather")}
    assert {"en-US", "es-US"} <= languages
    assert {g.get("finishOnKey") for body in documents for g in ET.fromstring(body).iter("Gather")} == {""}  # # is a key
    assert len(documents) > 100  # every menu, answer, transfer outcome, silence and text outcome, twice
    broken = {documents[body]: breaks_the_rule(ET.fromstring(body)) for body in documents}
    assert {url: problems for url, problems in broken.items() if problems} == {}


def test_every_document_the_line_renders_keeps_the_rule(line):
    for script in (*line.scripts.values(), *(s.all_hours_closed for s in line.scripts.values())):  # after hours too
        xml = [script.welcome(), script.error(), script.fallback()]
        xml += [script.answer(name) for name in script.content.answers]
        xml += [script.text_outcome(o) for o in tuple(TextOutcome)]
        xml += [script.transfer_done(s) for s in DIAL_ENDS] + [script.closed("nci"), script.transfer("nci", OUR_NUMBER)]
        xml += [script.menu(name, tries=t) for name in script.content.menus for t in range(line.settings.silence_tries + 1)]
        for body in xml:
            assert breaks_the_rule(check_twiml(body)) == [], body


def test_the_rule_sees_words_a_key_cannot_cut_short():
    loose = "<Response><Say>" + "word " * 13 + "</Say><Gather><Say>Press 1.</Say></Gather></Response>"
    assert breaks_the_rule(ET.fromstring(loose)) == ["13 words outside a <Gather> before the next one"]
    before_redirect = "<Response><Say>Sorry.</Say><Redirect>/voice</Redirect></Response>"
    assert breaks_the_rule(ET.fromstring(before_redirect))
    assert breaks_the_rule(ET.fromstring("<Response><Say>" + "word " * 30 + "</Say><Hangup/></Response>")) == []


# --- keys while an answer plays ----------------------------------------------------------------
def at_answer(call, answer: str) -> Call:
    c = call()
    for key in path_to(answer):
        c.press(key)
    return c


@pytest.mark.parametrize("answer", sorted(FACTS["en"]))
def test_a_key_pressed_during_an_answer_does_what_it_does_after_it(call, answer):
    for key in ["0", "*", "1", "2", "3", "4"]:
        during = at_answer(call, answer)
        first = during.gathers[0]
        assert first.get("input") == "dtmf" and len(during.gathers) == 2  # keys only while the answer plays, then the menu
        assert during.text.lower().count("press") == len(MENU["after_answer"]) + 1  # the answer, then the menu's choices and 0
        during.interrupt(key)
        after = at_answer(call, answer).press(key)
        assert during.text == after.text and during.waiting == after.waiting, key
        assert [d["number"] for d in during.dialled[-1:]] == [d["number"] for d in after.dialled[-1:]], key
        if key == "0":
            assert during.dialled[-1]["number"] == "+18004226237"
        if key in ("*", "2"):
            assert "main menu" in during.text.lower()
        if key == "1":
            assert during.text == at_answer(call, answer).text  # the same answer again


def test_speech_does_not_stop_an_answer_but_speaks_at_the_menu_after(call):
    c = at_answer(call, "why")
    answer, menu = c.gathers
    assert answer.get("input") == "dtmf" and "speech" not in answer.get("input")
    assert menu.get("input") == "dtmf speech" and menu.get("action") == answer.get("action")
    c.say("what is recurrence")
    assert "recurrent cancer" in c.text.lower()


@pytest.mark.parametrize("code", [None, 21614])
def test_zero_cuts_the_text_outcome_and_the_numbers_short(call, twilio, code):
    if code:
        twilio.answer("error", code)
    c = call().press("4")
    assert c.gathers[0].get("input") == "dtmf"
    c.interrupt("0")
    assert c.dialled[-1]["number"] == "+18004226237"


def test_closed_hours_and_a_failed_transfer_can_be_cut_short(call, line):
    c = call().press("0").dial_ends("busy")
    assert c.gathers[0].get("input") == "dtmf" and "busy" in c.text
    c.interrupt(path_to("text", "after_failed_transfer")[0])
    assert "we have sent you a text" in c.text.lower()
    line.clock = lambda: SATURDAY
    c = call().press("0")
    assert "is open Monday to Friday" in c.text  # the hours the menu offered 0 for
    c.interrupt("2")  # connect anyway, while the hours are still being said
    assert c.dialled[-1]["number"] == "+18004226237"


# --- the other language, at every menu -----------------------------------------------------------
VOICES = {"en": ("en-US", "Polly.Joanna"), "es": ("es-US", "Polly.Lupe")}
NAMES = {"es": ["español", "Spanish", "en español", "espanol please"], "en": ["English", "inglés", "en inglés"]}


def choose_url(lang: str, menu: str) -> str:
    query = {"after_answer": "?answer=why", "closed": "?contact=nci"}.get(menu, "")
    return f"/voice/{lang}/choose/{menu}{query}"


@pytest.mark.parametrize(("lang", "other"), [("en", "es"), ("es", "en")])
@pytest.mark.parametrize("menu", sorted(MENU))
def test_nine_and_the_languages_name_switch_at_every_menu(signed_post, lang, other, menu):
    for params in [{"Digits": "9"}, {"SpeechResult": "nine" if lang == "en" else "nueve"}] + [{"SpeechResult": n} for n in NAMES[other]]:
        response = signed_post(choose_url(lang, menu), {"From": CALLER, "To": OUR_NUMBER, **params})
        root = check_twiml(response.data)
        gather = root.findall("Gather")[-1]
        assert gather.get("language") == VOICES[other][0], (menu, params)
        assert gather.get("action").startswith(f"/voice/{other}/choose/{menu}"), (menu, params)
        heard = " ".join(spoken_text(s) for s in root.iter("Say") if s.get("language") == VOICES[other][0]).lower()
        if menu == "main":  # the welcome, in words they understand
            assert ("not medical advice" if other == "en" else "no es consejo médico") in heard
        if menu == "after_answer":  # the answer they were hearing, in their language
            assert ("scientists do not know" if other == "en" else "científicos no saben") in heard


def test_other_words_do_not_switch_language(call):
    c = call().say("English")  # the language the call is in already
    assert c.gathers[-1].get("language") == "en-US" and "not one of the choices" in c.text.lower()
    c = call().say("why did it come back")
    assert "scientists do not know" in c.text.lower()


@pytest.mark.parametrize(
    ("lang", "offer", "voice"), [("en", "Para español, oprima 9.", "Polly.Lupe"), ("es", "For English, press 9.", "Polly.Joanna")]
)
def test_the_main_menu_ends_with_the_other_languages_offer_in_its_voice(signed_post, lang, offer, voice):
    root = check_twiml(signed_post(f"/voice/{lang}/menu/main", {"To": OUR_NUMBER}).data)
    last = root.findall("Gather")[-1].findall("Say")[-1]
    assert spoken_text(last) == offer and last.get("voice") == voice
    hints = root.findall("Gather")[-1].get("hints")
    assert ("español" if lang == "en" else "English") in hints


def test_a_spanish_caller_who_missed_the_offer_can_switch_later(call):
    c = call().press("1").press("9")
    assert "Sobre la recurrencia" in c.text and c.gathers[-1].get("language") == "es-US"
    c.say("English")
    assert "About recurrence" in c.text


# --- the call-time budget --------------------------------------------------------------------------
def test_the_shipped_prompts_keep_the_call_time_budget(line):
    for script in line.scripts.values():
        budget = measure(script, line.settings.speech_rate)
        assert budget.first_choice <= FIRST_CHOICE_BUDGET, script.lang
        assert all(seconds <= MENU_BUDGET for seconds in budget.menus.values()), budget.menus
        assert budget.over == []
        assert all(reach > 0 and keys for reach, keys, _length in budget.answers.values())


@pytest.mark.parametrize("called", [OUR_NUMBER, SPANISH_NUMBER])
def test_the_first_choice_as_heard_comes_within_15_seconds(crawl_app, called):
    """Counted from the <Say>s the caller hears, each at its voice's pace, not from the budget's own plan."""
    line = line_of(crawl_app)
    pace = {s.words["language"]: s.words["words_per_minute"] * 0.9 for s in line.scripts.values()}  # IVR_SPEECH_RATE 90%
    c = Call(FlaskTransport(crawl_app.test_client()), AUTH_TOKEN, BASE_URL, caller=CALLER, called=called).start()
    first = "press 1." if called == OUR_NUMBER else "oprima 1."
    seconds, before = 0.0, ""
    for say in c.gathers[-1].iter("Say"):
        text = spoken_text(say)
        if first in text:
            text = text[: text.index(first) + len(first)]
        seconds += count_words(text) / pace[say.get("language")] * 60
        before += " " + text
        if first in text:
            break
    assert seconds <= FIRST_CHOICE_BUDGET, before
    budget = measure(line.script("en" if called == OUR_NUMBER else "es"), "90%")
    assert budget.first_choice == pytest.approx(seconds, abs=0.01)
    assert "National Cancer Institute" in before or "Instituto Nacional del Cáncer" in before
    assert "medical advice" in before or "consejo médico" in before
    assert "press a key, or speak" in before.lower() or "oprima una tecla, o hable" in before.lower()


def test_a_welcome_that_grew_breaks_the_budget(make_app, prompts):
    edit(
        prompts / "en" / "voice.yaml",
        "  It is not medical advice.",
        "  It is not medical advice. For questions about your own care, please talk with your health care team.",
    )
    line = line_of(make_app(IVR_PROMPTS_DIR=prompts))
    [sentence] = measure(line.script("en"), line.settings.speech_rate).over
    assert re.fullmatch(r"en: the first choice comes after (\d+\.\d) s \(budget 15 s\)", sentence)
    assert float(sentence.split()[6]) > 15
