"""WhatsApp on the same Messaging webhook: the same keywords and answers, richer text, its own opt-outs."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from ivr.content import gsm
from ivr.store.storage import opt_outs
from ivr.tools.simulator import FlaskTransport, Texter
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, line_of
from tests.instances import usage_rows

WHATSAPP_FROM, WHATSAPP_TO = f"whatsapp:{CALLER}", f"whatsapp:{OUR_NUMBER}"


def on_whatsapp(app) -> Texter:
    return Texter(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, sender=WHATSAPP_FROM, to=WHATSAPP_TO)


def by_sms(app) -> Texter:
    return Texter(FlaskTransport(app.test_client()), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER)


def test_a_whatsapp_session_from_recur_to_stop_silence_start_and_spanish(app_on):
    """On SQLite and on PostgreSQL: the Done-when session of issue 12."""
    line = line_of(app_on)
    wa = on_whatsapp(app_on)
    [menu] = wa.send("RECUR")
    assert menu == line.sms.text("en", "recur", "whatsapp") == line.sms.text("en", "recur")  # same answer as SMS
    [answer] = wa.send("2")
    assert answer.startswith("Why does recurrence happen?")

    [stopped] = wa.send("STOP")  # Twilio does not confirm on WhatsApp: the line does, once
    assert stopped.startswith("Cancer Recurrence Info Line: you will get no more WhatsApp messages")
    assert "START" in stopped
    for words in ("RECUR", "3", "HELP", "hello", "STOP"):
        assert wa.send(words) == [], f"{words!r} after STOP must get nothing on WhatsApp"
    [started] = wa.send("START")
    assert started.startswith("Cancer Recurrence Info Line: you can get WhatsApp messages again")

    [spanish] = wa.send("RECURRENCIA")
    assert spanish.startswith("Datos del NCI sobre el cáncer que regresa (recurrencia)") and "Responda un número" in spanish
    assert "3 ¿Dónde sucede?" in spanish and "5 ¿Es más difícil el tratamiento?" in spanish and "7 Más información" in spanish
    assert not gsm.is_gsm7(spanish)  # the accents SMS drops
    [sms_spanish] = by_sms(app_on).send("RECURRENCIA")
    assert (
        sms_spanish.startswith("Datos del NCI sobre el cancer que regresa")
        and "3 ¿Donde sucede?" in sms_spanish
        and gsm.is_gsm7(sms_spanish)
    )

    rows = [r for r in usage_rows(line) if r["event"] == "text_in"]
    assert [r["channel"] for r in rows] == ["whatsapp"] * 10 + ["sms"]
    assert [r["keyword"] for r in rows[:3]] == ["recur", "why", "stop"] and rows[0]["line"] == "main"
    assert rows[0]["number_hash"] == rows[-1]["number_hash"] == line.hash_number(CALLER)  # one person, two channels
    with line.storage.engine.connect() as conn:
        assert conn.execute(select(opt_outs)).all() == []


def test_opt_outs_are_per_channel(app_on):
    wa, sms = on_whatsapp(app_on), by_sms(app_on)
    sms.send("STOP")  # Twilio confirms an SMS STOP itself: the line sends nothing
    [reply] = wa.send("RECUR")
    assert reply.startswith("Facts on cancer")  # an SMS STOP does not silence WhatsApp
    assert sms.send("RECUR") == []
    wa.send("STOP")
    sms.send("START")
    assert wa.send("RECUR") == [] and sms.send("RECUR")[0].startswith("Facts on cancer")  # nor the reverse
    line = line_of(app_on)
    with line.storage.engine.connect() as conn:
        assert conn.execute(select(opt_outs.c.channel)).scalars().all() == ["whatsapp"]


def test_help_on_each_channel_says_that_opt_outs_are_per_channel(client):
    [help_sms] = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER).send("HELP")
    assert "Reply STOP to cancel (SMS only)." in help_sms and gsm.segments(help_sms) == 1
    [help_wa] = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=WHATSAPP_FROM, to=WHATSAPP_TO).send("HELP")
    assert "Reply STOP to stop WhatsApp messages from us; texts (SMS) have their own STOP." in help_wa
    assert "Msg&data" not in help_wa  # WhatsApp is not billed per message by the carrier
    [ayuda] = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=WHATSAPP_FROM, to=WHATSAPP_TO).send("AYUDA")
    assert "los textos (SMS) tienen su propio STOP" in ayuda and "información" in ayuda


def test_the_line_confirms_stop_on_whatsapp_even_when_twilio_confirms_sms(client, line):
    """IVR_SMS_OPT_OUT_REPLIES=twilio (the default) leaves SMS STOP to Twilio; WhatsApp's is the line's."""
    assert line.settings.sms_opt_out_replies == "twilio"
    texter = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=WHATSAPP_FROM, to=WHATSAPP_TO)
    assert texter.send("stop")[0].startswith("Cancer Recurrence Info Line: you will get no more WhatsApp")
    assert texter.send("STOP") == []  # already opted out: no second confirmation
    assert texter.send("PARAR") == []
    # PARAR made the texter's language Spanish; on WhatsApp the line's name keeps its accents.
    assert texter.send("START")[0].startswith("Línea de Información sobre Cáncer Recurrente: puede recibir mensajes de WhatsApp")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"Body": "", "NumMedia": "1", "MediaContentType0": "image/jpeg", "MediaUrl0": "https://api.twilio.com/m/1"}, "unknown"),
        ({"Body": "", "Latitude": "42.36", "Longitude": "-71.06", "Address": "Boston"}, "unknown"),  # a location
        ({"Body": "", "ButtonText": "RECUR", "ButtonPayload": "recur"}, "recur"),  # a quick-reply button
        ({"Body": "recur " + "x" * 4000}, "recur"),  # WhatsApp allows 4,096 characters
        ({"Body": "🙂" * 50}, "unknown"),  # nothing to read: what to send, RECUR first
    ],
)
def test_bad_input_from_whatsapp_gets_the_same_clear_treatment_as_sms(client, line, extra, expected):
    texter = Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=WHATSAPP_FROM, to=WHATSAPP_TO)
    assert texter.send(None, **extra) == [line.sms.text("en", expected, "whatsapp")]


def test_a_database_failure_on_whatsapp_sends_nothing_rather_than_risk_an_opted_out_user(client, line):
    with line.storage.engine.begin() as conn:
        conn.execute(text("DROP TABLE opt_outs"))  # every opt-out read now fails
    assert on_whatsapp_client(client).send("RECUR") == []  # no one but the line stops WhatsApp messages
    assert Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=CALLER, to=OUR_NUMBER).send("RECUR") != []  # Twilio's block


def on_whatsapp_client(client) -> Texter:
    return Texter(FlaskTransport(client), AUTH_TOKEN, BASE_URL, sender=WHATSAPP_FROM, to=WHATSAPP_TO)


def test_text_me_from_a_call_stays_sms_and_ignores_a_whatsapp_opt_out(call, client, twilio):
    on_whatsapp_client(client).send("STOP")
    c = call().press("4")
    assert "sent you a text" in c.text
    [message] = twilio.messages
    assert message["To"] == CALLER and message["From"] == OUR_NUMBER  # no whatsapp: prefix


# Spanish words that are misspelt without their accent; by SMS, á í ó ú are dropped (not GSM-7).
NEED_ACCENTS = ("cancer", "informacion", "tambien", "atencion", "metastasis", "telefonos", "dificil", "oncologia", "clinica")


def test_spanish_on_whatsapp_keeps_every_accent_and_by_sms_stays_gsm7(line):
    import re

    from ivr.content.prompts import message_keys

    keys = message_keys(line.content.languages["es"].sms)
    for key in keys:
        whatsapp, sms = line.sms.text("es", key, "whatsapp"), line.sms.text("es", key)
        words = re.findall(r"[A-Za-zÁÉÍÓÚáéíóúñÑü]+", re.sub(r"\S+\.(gov|net|org|com)\S*|Cancer\.Net", "", whatsapp))  # not web sites
        unaccented = [w for w in words if w.lower() in NEED_ACCENTS]
        assert unaccented == [], (key, unaccented)
        assert gsm.is_gsm7(sms), (key, gsm.bad_characters(sms))
    answer = line.sms.text("es", "answers.where", "whatsapp")
    assert "¿Dónde sucede la recurrencia? El cáncer" in answer and "metástasis" in answer
    assert "¿Donde sucede la recurrencia? El cancer" in line.sms.text("es", "answers.where")  # the same words, by SMS


def test_spanish_help_prints_the_number_as_spanish_texts_do(line):
    for channel in ("sms", "whatsapp"):
        help_text = line.sms.text("es", "help", channel)
        assert "1-800-422-6237" in help_text and "CANCER" not in help_text, channel
    # English HELP too prints the digits alone (room for "Not run by NCI" in one part); WhatsApp's has room
    assert "Help: 1-800-422-6237. " in line.sms.text("en", "help")
    assert "1-800-422-6237 (1-800-4-CANCER)" in line.sms.text("en", "help", "whatsapp")
