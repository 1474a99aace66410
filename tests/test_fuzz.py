"""Property-based fuzzing of every webhook's parameters with hypothesis.

Whatever Twilio (or anyone) posts: any Unicode, any length, numbers where words belong, missing
fields, the same field twice, odd path segments and query arguments, signed, unsigned or signed
wrongly, the answer is 200 with TwiML Twilio accepts (only verbs and attributes it knows, see
ivr.tools.simulator.check_twiml) when the request is signed, and 403 when it is not. Never anything else.
"""

from __future__ import annotations

import re
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from ivr import security
from ivr.config import load_settings
from ivr.security import is_webhook
from ivr.tools.simulator import check_twiml, sign
from tests.apps import AUTH_TOKEN, BASE_URL, CALLER, OUR_NUMBER, build_app, close, line_of, make_env

# Every webhook (a POST route under /voice or /sms); test_every_webhook_is_fuzzed keeps this complete.
WEBHOOKS = [
    "/voice",
    "/voice/",
    "/voice/<lang>/menu/<name>",
    "/voice/<lang>/answer/<name>",
    "/voice/<lang>/choose/<name>",
    "/voice/<lang>/transfer/<contact>/done",
    "/voice/<lang>/crisis/<name>",
    "/voice/<lang>/lifeline/done",
    "/voice/<lang>/text/<ticket>",
    "/voice/fallback",
    "/voice/status",
    "/sms",
    "/sms/",
    "/sms/status",
]
TWILIO_FIELDS = [
    "AccountSid",
    "ApiVersion",
    "Body",
    "CallDuration",
    "CallSid",
    "CallStatus",
    "Called",
    "Caller",
    "CallerName",
    "Confidence",
    "DialCallDuration",
    "DialCallSid",
    "DialCallStatus",
    "Digits",
    "Direction",
    "ErrorCode",
    "ErrorUrl",
    "ForwardedFrom",
    "From",
    "MessageSid",
    "MessageStatus",
    "NumMedia",
    "NumSegments",
    "OptOutType",
    "SmsSid",
    "SmsStatus",
    "SpeechResult",
    "To",
]
LIKELY_VALUES = [
    "",
    " ",
    CALLER,
    OUR_NUMBER,
    "anonymous",
    "+1555",
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "9",
    "*",
    "#",
    "12",
    "STOP",
    "start",
    "HELP",
    "RECUR",
    "3",
    "why did it come back",
    "completed",
    "busy",
    "no-answer",
    "failed",
    "in-progress",
    "delivered",
    "undelivered",
    "SM" + "a" * 32,
    "CA" + "b" * 32,
    "0.5",
    "-1",
    "99999999999999999999",
    "1e309",
    "NaN",
]
QUERY_ARGS = ["tries", "answer", "contact", "welcome", "due"]

values = st.one_of(
    st.sampled_from(LIKELY_VALUES),
    st.text(max_size=30),  # any Unicode, control characters and NUL included
    st.text(max_size=3000),  # long
    st.from_regex(r"\+?[0-9 ()\-]{0,20}", fullmatch=True),  # phone-number-like
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
names = st.one_of(st.sampled_from(TWILIO_FIELDS), st.text(min_size=1, max_size=20))
# a list of pairs: fields missing, unknown, or the same field more than once
forms = st.lists(st.tuples(names, values), max_size=30)
queries = st.lists(st.tuples(st.sampled_from(QUERY_ARGS), values), max_size=4)
signing = st.sampled_from(["signed", "signed", "signed", "unsigned", "wrong"])
# any header value HTTP allows (no line breaks), Latin-1 as WSGI gives it
bad_signatures = st.one_of(st.just(""), st.text(alphabet=st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=60))
SEGMENT = st.from_regex(r"[A-Za-z0-9_.~\-]{1,16}", fullmatch=True)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, fake_twilio):
    env = make_env(tmp_path_factory.mktemp("fuzz"), fake_twilio.url, IVR_TEXTS_PER_HOUR=1_000_000)
    app = build_app(load_settings(env), clock=None)
    yield app
    close(app)


def path_values(line) -> dict:
    content = line.content
    return {
        "lang": st.one_of(st.sampled_from(sorted(content.languages)), SEGMENT),
        "name": st.one_of(st.sampled_from(sorted({*content.menus, *content.answers})), SEGMENT),
        "contact": st.one_of(st.sampled_from(sorted(content.contacts)), SEGMENT),
        "ticket": st.one_of(SEGMENT, st.from_regex(r"[A-Za-z0-9_\-&<>\"'.]{1,40}", fullmatch=True)),
    }


def post(client, path: str, pairs: list, query: list, how: str, bad_signature: str):
    form = MultiDict(pairs)
    url_path = path + ("?" + urllib.parse.urlencode(query) if query else "")
    headers = {}
    if how == "signed":
        headers = sign(AUTH_TOKEN, BASE_URL + url_path, form)
    elif how == "wrong":
        headers = {"X-Twilio-Signature": bad_signature}
    return client.post(url_path, base_url=BASE_URL, data=form, headers=headers)


def check(response, path: str, how: str) -> None:
    if how != "signed":
        assert response.status_code == 403, (path, response.status_code, response.data[:300])
        return
    assert response.status_code == 200, (path, response.status_code, response.data[:300])
    assert response.mimetype == "text/xml"
    check_twiml(response.data, kind="sms" if path.startswith("/sms") else "voice")


def test_every_webhook_is_fuzzed(fuzz_app):
    webhooks = {r.rule for r in fuzz_app.url_map.iter_rules() if "POST" in r.methods and is_webhook(r.rule)}
    assert webhooks == set(WEBHOOKS), "add new webhooks to WEBHOOKS in tests/test_fuzz.py"


@pytest.mark.slow
@pytest.mark.parametrize("rule", WEBHOOKS)
def test_any_parameters_get_200_with_valid_twiml_when_signed_and_403_when_not(fuzz_app, rule):
    client = fuzz_app.test_client()
    segments = path_values(line_of(fuzz_app))
    placeholders = re.findall(r"<(\w+)>", rule)
    path_strategy = st.fixed_dictionaries({name: segments[name] for name in placeholders})

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(parts=path_strategy, pairs=forms, query=queries, how=signing, bad_signature=bad_signatures)
    def fuzz(parts, pairs, query, how, bad_signature):
        path = re.sub(r"<(\w+)>", lambda m: parts[m.group(1)], rule)
        check(post(client, path, pairs, query if "<" in rule else [], how, bad_signature), path, how)

    fuzz()


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.binary(max_size=2000), path=st.sampled_from(["/voice", "/voice/en/choose/main", "/sms", "/sms/status"]))
def test_any_bytes_as_a_form_body_never_get_an_error(fuzz_app, body, path):
    """Bodies that are not valid form encoding or UTF-8: signed for what the app reads from them."""
    client = fuzz_app.test_client()
    with fuzz_app.test_request_context(path, base_url=BASE_URL, method="POST", data=body, content_type="application/x-www-form-urlencoded"):
        from flask import request

        form = MultiDict(request.form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(AUTH_TOKEN, BASE_URL + path, form)}
    response = client.post(path, base_url=BASE_URL, data=body, headers=headers)
    check(response, path, "signed")
    unsigned = client.post(path, base_url=BASE_URL, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    check(unsigned, path, "unsigned")


def test_the_fast_signature_matches_twilios_published_example():
    params = MultiDict(
        {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234", "From": "+14158675309", "To": "+18005551212"}
    )
    assert security.signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


@settings(max_examples=300, deadline=None)
@given(url=st.text(max_size=80), pairs=forms, token=st.text(min_size=1, max_size=40))
def test_the_fast_signature_is_twilios_for_any_form(url, pairs, token):
    form = MultiDict(pairs)
    assert security.signature(token, url, form) == RequestValidator(token).compute_signature(url, form)
