"""Para español: a whole Spanish call and a Spanish texting session, as a caller and a texter see them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ivr.config import ROOT
from ivr.content import gsm
from ivr.content import prompts as content
from ivr.tools.simulator import Call, FlaskTransport, Texter
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, SATURDAY, line_of, path_to
from tests.prompt_edits import edit, problems


def en_espanol(call) -> Call:
    c = call().press("9")
    assert "No es consejo médico" in c.text
    return c


def test_the_first_thing_heard_offers_spanish_in_a_spanish_voice(call, signed_post):
    c = call()
    first = next(e for e in c.events if e.kind == "say")
    assert first.detail == "Para español, oprima 9."
    assert c.events[-1].data["language"] == "en-US"
    says = ET.fromstring(signed_post("/voice", {"To": OUR_NUMBER}).data).find("Gather").findall("Say")
    assert says[0].get("voice") == "Polly.Lupe" and says[0].get("language") == "es-US"
    assert says[1].get("voice") == "Polly.Joanna" and says[1].get("language") == "en-US"


def test_after_a_silence_at_the_welcome_the_offer_is_not_said_again_and_still_works(call):
    c = call()
    assert c.heard.count("Para español, oprima 9.") == 2  # first, and at the end of the menu
    c.silence()
    assert c.heard.count("Para español, oprima 9.") == 0 and "did not hear a choice" in c.text  # heard twice just now
    assert "welcome" not in c.gathers[-1].get("action")  # no longer the welcome: nothing says to offer it first
    c.silence()
    assert c.heard.count("Para español, oprima 9.") == 0
    c.press("9")
    assert "No es consejo médico" in c.text


def test_the_main_menu_chosen_later_ends_with_the_offer_again(call):
    """Not a re-prompt: a caller back at the main menu (by *) hears the offer at its end, as at the welcome."""
    c = call().press("1").press("*")
    assert "Main menu." in c.text and c.heard[-1] == "Para español, oprima 9."


def test_nine_switches_everything_to_spanish(call):
    c = en_espanol(call)
    assert "información del Instituto Nacional del Cáncer" not in c.text  # the welcome says it in its own words
    assert "No es consejo médico" in c.text and "Para español" not in c.text
    gather = c.events[-1].data
    assert gather["language"] == "es-US" and "por qué regresó" in gather["hints"]
    assert gather["action"].startswith("/voice/es/")


@pytest.mark.parametrize("answer", ["what", "why", "where", "different", "harder", "remember", "more_info"])
def test_every_spanish_answer_is_reachable(call, answer):
    c = en_espanol(call)  # the handout's facts in each: tests/test_handout_facts.py
    for key in path_to(answer):
        c.press(key)
    assert "para escucharlo otra vez, oprima 1" in c.text.lower()


def test_spanish_speech_lands_on_the_answer(call):
    c = en_espanol(call).say("¿por qué regresó mi cáncer?")
    assert "científicos no saben" in c.text.lower()


def test_spanish_transfers_and_a_failed_one(call):
    c = en_espanol(call).press("0")
    assert "Le estamos comunicando con el Centro de Contacto del Instituto Nacional del Cáncer" in c.text
    assert c.dialled[-1]["number"] == "+18004226237" and c.dialled[-1]["callerId"] == OUR_NUMBER
    c.dial_ends("busy")
    assert "ocupada" in c.text and "mensaje de texto" in c.text
    c = en_espanol(call).press("3").press("2")
    assert c.dialled[-1]["number"] == "+18886513038" and "inglés" in c.text


def test_spanish_text_me_sends_the_spanish_numbers(call, twilio):
    c = en_espanol(call).press("4")
    assert "Le enviamos un mensaje de texto" in c.text
    [message] = twilio.messages
    body = message["Body"]
    assert "www.cancer.gov/espanol" in body and "1-800-422-6237" in body and "888-651-3038" in body
    assert gsm.is_gsm7(body) and gsm.segments(body) <= 2


def test_spanish_text_me_failures_are_spanish_too(call, twilio):
    twilio.answer("error", 21614)
    c = en_espanol(call).press("4")
    assert "no puede recibir mensajes de texto" in c.text and c.text.count("1-800-422-6237") == 2
    c = en_espanol(lambda: call(caller="anonymous")).press("4")
    assert "No podemos ver su número" in c.text


def test_spanish_silence_errors_and_goodbye(call, signed_post):
    c = en_espanol(call).silence()
    assert "No escuché una opción" in c.text
    c.silence().silence()
    assert "Adiós" in c.text and c.ended
    c = en_espanol(call).press("7")
    assert c.text.startswith("Lo siento, esa no es una de las opciones.")
    response = signed_post("/voice/es/menu/nowhere", {"CallSid": "CA1"})
    assert "algo salió mal" in response.data.decode()
    fallback = signed_post("/voice/fallback", {"ErrorCode": "11200"}).data.decode()
    assert "This line is having a problem" in fallback and "Esta línea tiene un problema" in fallback


def test_spanish_outside_hours(make_app):
    client = make_app(clock=SATURDAY).test_client()
    c = en_espanol(lambda: Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start())
    assert "La línea del Instituto Nacional del Cáncer está cerrada. Su horario, oprima 0." in c.text  # no promise of a person
    assert "en cualquier momento para el Instituto" not in c.text
    c.press("0")
    assert "cerrad" not in c.text and "escuchará información grabada" in c.text  # "cerrada" once: the menu said it
    assert "de lunes a viernes, de 9 de la mañana a 9 de la noche, hora del Este" in c.text
    c.press("2")
    assert c.dialled[-1]["number"] == "+18004226237"


def test_choosing_spanish_at_the_closed_menu_says_it_is_closed_in_spanish(make_app):
    client = make_app(clock=SATURDAY).test_client()
    c = Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start().press("0")
    assert "is open Monday to Friday" in c.text
    c.press("9")
    assert "está cerrado en este momento" in c.text and "hora del Este" in c.text
    assert "de todos modos, oprima 2" in c.text and "For English" not in c.text
    c.press("2")
    assert c.dialled[-1]["number"] == "+18004226237"  # the contact still travels: connected anyway
    c = Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start().press("0").say("español")
    assert "está cerrado en este momento" in c.text


def test_a_number_configured_to_start_in_spanish(make_app):
    client = make_app(IVR_NUMBER_LANGUAGES=f"{OUR_NUMBER}=es").test_client()
    c = Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER, called=OUR_NUMBER).start()
    assert c.heard[0] == "For English, press 9." and "No es consejo médico" in c.text
    c.press("9")
    assert "not medical advice" in c.text
    other = Call(FlaskTransport(client), AUTH_TOKEN, BASE_URL, caller=CALLER, called="+16175550101").start()
    assert "Para español" in other.text  # other numbers still start in English


# --- texts ---------------------------------------------------------------------------------------
@pytest.fixture
def texter(client):
    return Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER)


def test_a_spanish_texting_session(texter):
    [menu] = texter.send("RECURRENCIA")
    assert "Responda un numero" in menu and "1 ¿Qué es la recurrencia?" in menu
    [answer] = texter.send("3")  # a bare number after the Spanish menu is answered in Spanish
    assert answer.startswith("¿Donde sucede la recurrencia?")
    [contacts] = texter.send("llamar")
    assert "Centro de Contacto del Instituto Nacional del Cancer" in contacts and "lun a vie 9am a 9pm" in contacts
    [help_text] = texter.send("AYUDA")
    for required in ("Linea de Informacion sobre Cancer Recurrente", "1-800-422-6237", "1 msj/pedido", "tarifas de msj y datos", "STOP"):
        assert required in help_text
    [english] = texter.send("RECUR")
    assert english.startswith("Facts on cancer")
    [answer] = texter.send("3")
    assert answer.startswith("Where does recurrence happen?")


@pytest.mark.parametrize("word", ["PARAR", "alto", "No más", "NO MAS"])
def test_spanish_opt_out_words_confirm_once_then_silence_until_start(texter, line, word):
    texter.send("RECURRENCIA")
    [confirmation] = texter.send(word)  # Twilio does not know these words, so the line confirms
    assert "ya no recibira textos" in confirmation
    assert line.storage.is_opted_out(line.hash_number(CALLER))
    assert texter.send("RECURRENCIA") == [] and texter.send("3") == []
    assert texter.send(word) == []  # no second confirmation
    assert texter.send("START") == []  # Twilio's own word: Twilio confirms it (IVR_SMS_OPT_OUT_REPLIES=twilio)
    assert not line.storage.is_opted_out(line.hash_number(CALLER))
    assert texter.send("RECURRENCIA")


def spanish_texter(make_app, **extra) -> tuple[Texter, object]:
    application = make_app(**extra)
    client = application.test_client()
    return Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER), line_of(application)


@pytest.mark.parametrize("word", ["NCI", "asco", "HELP", "Info", "metastasis"])
def test_words_both_languages_use_keep_a_spanish_texter_in_spanish(texter, line, word):
    """The Spanish texts ask for NCI and STOP: sending them must not switch the texter to English."""
    texter.send("RECURRENCIA")
    [reply] = texter.send(word)
    assert reply in {line.sms.text("es", key) for key in ("contacts", "help", "answers.where")}
    [answer] = texter.send("3")
    assert answer.startswith("¿Donde sucede la recurrencia?")


def test_shared_words_do_not_switch_an_english_texter_to_spanish(texter, line):
    [english] = texter.send("NCI")
    assert english == line.sms.text("en", "contacts")
    [answer] = texter.send("3")
    assert answer.startswith("Where does recurrence happen?")
    texter.send("RECUR")
    assert texter.send("HELP") == [line.sms.text("en", "help")]


def test_on_a_spanish_number_shared_words_answer_in_spanish(make_app):
    texter, the_line = spanish_texter(make_app, IVR_NUMBER_LANGUAGES=f"{OUR_NUMBER}=es")
    assert texter.send("NCI") == [the_line.sms.text("es", "contacts")]
    assert texter.send("HELP") == [the_line.sms.text("es", "help")]


def test_stop_and_start_confirm_in_the_spanish_texters_language(make_app):
    texter, the_line = spanish_texter(make_app, IVR_SMS_OPT_OUT_REPLIES="app")
    texter.send("RECURRENCIA")
    assert texter.send("STOP") == [the_line.sms.text("es", "stop")]
    assert texter.send("HELP") == [the_line.sms.text("es", "help")]
    assert texter.send("START") == [the_line.sms.text("es", "start")]
    [answer] = texter.send("3")
    assert answer.startswith("¿Donde sucede la recurrencia?")


@pytest.mark.parametrize("body", ["Recurencia", "recurrensia", "RECURENCIA", "recurrencia!"])
def test_misspelled_recurrencia_still_gets_the_spanish_menu(texter, body):
    [menu] = texter.send(body)
    assert "Responda un numero" in menu


def test_spanish_everyday_words_are_not_guessed_at(texter, line):
    texter.send("RECURRENCIA")
    assert texter.send("cuales son las opciones") == [line.sms.text("es", "unknown")]  # not EMOCIONES


@pytest.mark.parametrize("body", ["no mas mensajes", "No quiero mas mensajes", "dejen de enviar textos", "no me envien nada"])
def test_asking_in_spanish_for_no_more_texts_gets_how_to_stop_in_one_part(texter, line, body):
    [reply] = texter.send(body)
    assert reply == line.sms.text("es", "no_more")
    assert "responda STOP" in reply and gsm.segments(reply) == 1
    assert not line.storage.is_opted_out(line.hash_number(CALLER))


def test_after_a_spanish_opt_out_the_voice_line_will_not_text(texter, call, twilio):
    texter.send("PARAR")
    c = call().press("9").press("4")
    assert "pidió no recibir mensajes de texto" in c.text
    assert twilio.messages == []


def test_every_spanish_sms_text_is_gsm7_and_marked_for_review():
    loaded = content.load(ROOT / "prompts")
    es = loaded.languages["es"]
    assert "medical translator" in es.sms["status"] and "medical translator" in es.voice["status"]
    for key in ("numbers", "recur", "contacts", "help", "stop", "start", "no_more", "unknown"):
        text = loaded.render_sms(es.sms[key], es.sms)
        assert gsm.is_gsm7(text), key
        assert gsm.segments(text) <= es.budgets.get(key, 2) <= 4


def test_a_language_missing_a_key_the_other_has_stops_start_up(prompts):
    edit(prompts / "es" / "voice.yaml", 'goodbye: "Gracias por llamar. Cuídese mucho. Adiós."\n', "")
    assert ("prompts/es/voice.yaml", "goodbye", "is missing; en/voice.yaml has it") in problems(prompts)
