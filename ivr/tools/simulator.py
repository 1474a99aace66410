"""A phone call as Twilio would make it: signed webhooks, TwiML followed verb by verb.

One interpreter serves the tests and ``flask --app app call``. It speaks to the app through a
transport: in-process (Flask's test client) or over HTTP (a running server).
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from twilio.request_validator import RequestValidator

from ivr.voice.speech import spoken_text

# The TwiML verbs and attributes this line may use, from Twilio's docs and twilio.twiml.
VOICE_VERBS = {
    "Say": {"voice", "language", "loop"},
    "Play": {"loop", "digits"},
    "Pause": {"length"},
    "Gather": {
        "input",
        "action",
        "method",
        "timeout",
        "speechTimeout",
        "finishOnKey",
        "numDigits",
        "hints",
        "language",
        "actionOnEmptyResult",
        "partialResultCallback",
        "profanityFilter",
        "speechModel",
        "enhanced",
        "bargeIn",
    },
    "Redirect": {"method"},
    "Dial": {"action", "method", "timeout", "callerId", "timeLimit", "answerOnBridge", "record", "hangupOnStar"},
    "Hangup": set(),
    "Reject": {"reason"},
}
DIAL_NOUNS = {"Number": {"sendDigits", "url", "method", "statusCallback", "statusCallbackEvent"}}
GATHER_CHILDREN = {"Say", "Play", "Pause"}
SSML = {
    "prosody": {"rate", "volume", "pitch"},
    "say-as": {"interpret-as", "format"},
    "break": {"time", "strength"},
    "emphasis": {"level"},
    "lang": {"xml:lang"},
    "p": set(),
    "s": set(),
    "sub": {"alias"},
    "w": {"role"},
    "phoneme": {"alphabet", "ph"},
}
MESSAGING_VERBS = {"Message": {"to", "from", "action", "method", "statusCallback"}, "Redirect": {"method"}}


class TwimlError(AssertionError):
    """The app answered with something Twilio would not accept."""


def check_twiml(body: bytes | str, kind: str = "voice") -> ET.Element:
    """Parse TwiML and check it uses only verbs, nouns and attributes Twilio knows."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise TwimlError(f"not well-formed XML: {exc}") from None
    if root.tag != "Response" or root.attrib:
        raise TwimlError(f"root must be a bare <Response>, got <{root.tag}>")
    verbs = VOICE_VERBS if kind == "voice" else MESSAGING_VERBS
    for verb in root:
        _check_element(verb, verbs, "Response")
        if verb.tag == "Gather":
            for child in verb:
                if child.tag not in GATHER_CHILDREN:
                    raise TwimlError(f"<Gather> may not hold <{child.tag}>")
                _check_element(child, VOICE_VERBS, "Gather")
        elif verb.tag == "Dial":
            for child in verb:
                _check_element(child, DIAL_NOUNS, "Dial")
        elif verb.tag == "Message":
            for child in verb:
                if child.tag not in ("Body", "Media"):
                    raise TwimlError(f"<Message> may not hold <{child.tag}>")
    return root


def _check_element(element: ET.Element, allowed: dict, parent: str) -> None:
    if element.tag not in allowed:
        raise TwimlError(f"<{element.tag}> is not allowed in <{parent}>")
    unknown = set(element.attrib) - allowed[element.tag]
    if unknown:
        raise TwimlError(f"<{element.tag}> has unknown attributes {sorted(unknown)}")
    if element.tag == "Say":
        if len(spoken_text(element)) > 3000:
            raise TwimlError("<Say> holds more than 3,000 characters")
        for node in element.iter():
            if node is not element and node.tag not in SSML:
                raise TwimlError(f"<Say> holds unknown SSML <{node.tag}>")
            if node is not element and set(node.attrib) - SSML[node.tag]:
                raise TwimlError(f"<{node.tag}> has unknown attributes")


# --- transports ---------------------------------------------------------------------------------
class FlaskTransport:
    """Posts through a Flask test client, as if from Twilio's address."""

    def __init__(self, client, remote_addr: str = "127.0.0.1"):
        self.client = client
        self.remote_addr = remote_addr

    def post(self, url: str, params: dict, headers: dict) -> tuple[int, bytes]:
        parts = urllib.parse.urlsplit(url)
        response = self.client.post(
            parts.path + (f"?{parts.query}" if parts.query else ""),
            base_url=f"{parts.scheme}://{parts.netloc}",
            data=params,
            headers=headers,
            environ_base={"REMOTE_ADDR": self.remote_addr},
        )
        return response.status_code, response.data


class HttpTransport:
    """Posts over real HTTP to a running server (``url`` is then that server's address)."""

    def __init__(self, timeout: float = 15.0):
        self.timeout = timeout

    def post(self, url: str, params: dict, headers: dict) -> tuple[int, bytes]:
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


def sign(auth_token: str | None, url: str, params: dict) -> dict:
    if not auth_token:
        return {}
    return {"X-Twilio-Signature": RequestValidator(auth_token).compute_signature(url, params)}


# --- a call -----------------------------------------------------------------------------------------
@dataclass
class Event:
    kind: str  # say | play | pause | gather | dial | text | hangup | http
    detail: str
    data: dict = field(default_factory=dict)


class Call:
    """One simulated call. Read ``heard`` after each step; ``waiting`` says what the call waits for."""

    def __init__(
        self,
        transport,
        auth_token: str | None,
        base_url: str = "https://ivr.example.org",
        caller: str = "+16175550123",
        called: str = "+16175550100",
        path: str = "/voice",
    ):
        self.transport = transport
        self.auth_token = auth_token
        self.base_url = base_url.rstrip("/")
        self.params = {
            "CallSid": "CA" + uuid.uuid4().hex,
            "AccountSid": "AC" + "0" * 32,
            "From": caller,
            "To": called,
            "Caller": caller,
            "Called": called,
            "CallStatus": "in-progress",
            "ApiVersion": "2010-04-01",
            "Direction": "inbound",
        }
        self.start_url = self.base_url + path
        self.url = self.start_url
        self.events: list[Event] = []
        self.heard: list[str] = []
        self.waiting: str | None = None  # "gather", "dial" or None (call ended)
        self._gather: ET.Element | None = None
        self._passed: list[ET.Element] = []  # the <Gather>s of this document the caller listened through
        self._dial: ET.Element | None = None
        self._rest: list[ET.Element] = []
        self._document: list[ET.Element] = []  # the verbs of the TwiML document the call is in
        self.ended = False
        self.statuses: list[int] = []
        self.pause = time.sleep  # what a <Pause length> does: the call waits, as on the phone

    # --- driving -------------------------------------------------------------------------------------
    def start(self) -> Call:
        self._request(self.start_url, {})
        return self

    def press(self, digits: str) -> Call:
        """Press keys where the call waits: after listening to everything said so far."""
        self._need("gather")
        digits = self._before_finish_key(self._gather, digits)
        if not digits:
            return self.silence()  # the finish key alone: Twilio hears no input and goes on with the next verb
        self._answer_gather({"Digits": digits})
        return self

    def interrupt(self, digits: str, gather: int = 0) -> Call:
        """Press keys while the words of this document's ``gather``-th <Gather> are said (0: the first).

        Twilio stops the words at once and posts the keys to that <Gather>'s action.
        """
        self._need("gather")
        gathers = [*self._passed, self._gather]
        digits = self._before_finish_key(gathers[gather], digits)
        self.heard = []
        if not digits:  # the finish key alone ends that <Gather> with no input: on to the verb after it
            verbs = self._document[self._document.index(gathers[gather]) + 1 :]
            self._passed = gathers[: gather + 1]
            self._run(verbs, new_document=False)
            return self
        self._request(self._resolve(gathers[gather].get("action") or self.url), {"Digits": digits})
        return self

    @staticmethod
    def _before_finish_key(gather: ET.Element, digits: str) -> str:
        """What Twilio posts of ``digits``: the keys before the <Gather>'s finishOnKey (``#`` when not set;
        ``""`` means none, so ``#`` is a key like any other)."""
        finish = gather.get("finishOnKey", "#")
        return digits.split(finish, 1)[0] if finish else digits

    @property
    def gathers(self) -> list[ET.Element]:
        """Every <Gather> of the current document up to where the call waits."""
        return [*self._passed, self._gather] if self.waiting == "gather" else list(self._passed)

    def say(self, words: str, confidence: float = 0.9) -> Call:
        self._answer_gather({"SpeechResult": words, "Confidence": str(confidence)})
        return self

    def respond(self, entry: str) -> Call:
        """What a person does at a menu, as typed: keys ("1", "*"), words (speech) or nothing (silence)."""
        entry = " ".join(entry.split())
        if not entry:
            return self.silence()
        if re.fullmatch(r"[0-9*#]+", entry):
            return self.press(entry)
        return self.say(entry)

    def silence(self) -> Call:
        """Say nothing: the Gather times out and the call goes on with the next verb."""
        self._need("gather")
        self.heard = []
        self._run(self._rest, new_document=False)
        return self

    def dial_ends(self, status: str = "completed", duration: int = 60) -> Call:
        self._need("dial")
        action = self._dial.get("action")
        self.heard = []
        if action:
            extra = {"DialCallStatus": status, "DialCallSid": "CA" + uuid.uuid4().hex, "DialCallDuration": str(duration)}
            self._request(self._resolve(action), extra)
        else:
            self._run(self._rest, new_document=False)
        return self

    @property
    def text(self) -> str:
        """Everything heard since the last input, as one string."""
        return " ".join(self.heard)

    @property
    def dialled(self) -> list[dict]:
        return [e.data for e in self.events if e.kind == "dial"]

    # --- interpreter ---------------------------------------------------------------------------------
    def _need(self, what: str) -> None:
        if self.waiting != what:
            raise AssertionError(f"the call is not waiting for a {what} (it waits for {self.waiting})")

    def _answer_gather(self, extra: dict) -> None:
        self._need("gather")
        self.heard = []
        action = self._gather.get("action") or self.url
        self._request(self._resolve(action), extra)

    def _resolve(self, url: str) -> str:
        return urllib.parse.urljoin(self.url, url)

    def _request(self, url: str, extra: dict) -> None:
        params = {**self.params, **extra}
        status, body = self.transport.post(url, params, sign(self.auth_token, url, params))
        self.statuses.append(status)
        self.events.append(Event("http", url, {"status": status, "params": extra}))
        if status != 200:
            raise AssertionError(f"POST {url} answered {status}: {body[:300]!r}")
        self.url = url
        self._document = list(check_twiml(body))
        self._run(self._document)

    def _run(self, verbs: list[ET.Element], new_document: bool = True) -> None:
        self.waiting = None
        if new_document:
            self._passed = []
        for index, verb in enumerate(verbs):
            rest = verbs[index + 1 :]
            if verb.tag in ("Say", "Play"):
                self._hear(verb)
            elif verb.tag == "Pause":
                self._wait(verb)
            elif verb.tag == "Gather":
                for child in verb:
                    if child.tag in ("Say", "Play"):
                        self._hear(child)
                    elif child.tag == "Pause":
                        self._wait(child)
                goes_on = self._goes_on_as_a_key_would(verb, rest)
                if any(v.tag == "Gather" for v in rest) or goes_on:
                    # A caller who presses nothing listens on: this one times out into the next <Gather>
                    # (or into a <Redirect> to where a key would have gone: the call is not waiting for one).
                    # Like the time words take, the <Gather>'s time-out is not waited here; a <Pause> is.
                    self._passed.append(verb)
                    self.events.append(Event("gather", verb.get("action", ""), {**verb.attrib, "passed": True}))
                    continue
                self._gather, self._rest, self.waiting = verb, rest, "gather"
                self.events.append(Event("gather", verb.get("action", ""), dict(verb.attrib)))
                return
            elif verb.tag == "Dial":
                numbers = [n.text.strip() for n in verb if n.tag == "Number"] or [(verb.text or "").strip()]
                data = {"number": numbers[0], **verb.attrib}
                self.events.append(Event("dial", numbers[0], data))
                self._dial, self._rest, self.waiting = verb, rest, "dial"
                return
            elif verb.tag == "Redirect":
                self._request(self._resolve(verb.text.strip()), {})
                return
            elif verb.tag in ("Hangup", "Reject"):
                break
        self.ended = True
        self.events.append(Event("hangup", ""))

    def _goes_on_as_a_key_would(self, gather: ET.Element, rest: list[ET.Element]) -> bool:
        action = gather.get("action")
        return bool(action and rest and rest[0].tag == "Redirect" and (rest[0].text or "").strip() == action)

    def _wait(self, element: ET.Element) -> None:
        seconds = float(element.get("length") or 1)
        self.events.append(Event("pause", str(seconds)))
        self.pause(seconds)

    def _hear(self, element: ET.Element) -> None:
        if element.tag == "Play":
            url = (element.text or "").strip()
            self.heard.append(f"[recording {url}]")
            self.events.append(Event("play", url))
            return
        text = spoken_text(element)
        self.heard.append(text)
        self.events.append(Event("say", text))


def digits_in(text: str) -> str:
    return re.sub(r"\D", "", text)


# --- a texter ---------------------------------------------------------------------------------------
def message_texts(root: ET.Element) -> list[str]:
    """The texts a checked MessagingResponse sends (none for an empty <Response/>)."""
    texts = []
    for message in root.iter("Message"):
        body = message.find("Body")
        texts.append((body.text if body is not None else message.text) or "")
    return texts


class Texter:
    """One phone texting the line: each ``send`` posts a signed inbound SMS and reads the reply."""

    def __init__(
        self,
        transport,
        auth_token: str | None,
        base_url: str = "https://ivr.example.org",
        sender: str = "+16175550123",
        to: str = "+16175550100",
        path: str = "/sms",
    ):
        self.transport = transport
        self.auth_token = auth_token
        self.url = base_url.rstrip("/") + path
        self.sender = sender
        self.to = to
        self.status: int | None = None
        self.replies: list[str] = []

    def send(self, body: str | None, **extra) -> list[str]:
        """Text ``body`` (None: no Body parameter at all); return the reply texts (empty: silence)."""
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "SmsSid": "",
            "AccountSid": "AC" + "0" * 32,
            "From": self.sender,
            "To": self.to,
            "NumMedia": "0",
            "NumSegments": "1",
            "ApiVersion": "2010-04-01",
        }
        params["SmsSid"] = params["MessageSid"]
        if body is not None:
            params["Body"] = body
        params.update({k: str(v) for k, v in extra.items() if v is not None})
        params = {k: v for k, v in params.items() if extra.get(k, "") is not None}
        self.status, data = self.transport.post(self.url, params, sign(self.auth_token, self.url, params))
        if self.status != 200:
            raise AssertionError(f"POST {self.url} answered {self.status}: {data[:300]!r}")
        self.replies = message_texts(check_twiml(data, kind="sms"))
        return self.replies

    @property
    def reply(self) -> str:
        """The one reply text ("" for silence); more than one message is an error here."""
        if len(self.replies) > 1:
            raise AssertionError(f"{len(self.replies)} messages in one reply")
        return self.replies[0] if self.replies else ""
