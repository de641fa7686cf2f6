"""Enrollment, version 2 (sync/PROTOCOL.md section 5), against the central service over real HTTP
on loopback: the one-time code never crosses the wire, someone who sees the request cannot
enrol another key with it, and the terminal takes only an answer signed over its own key and its
own request. Version 1 (the code in clear) is refused unless the service is told to accept it."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync import enrollment
from sync.central.errors import CentralError
from sync.central.store import CentralStore
from sync.central.terminals import TerminalRegistry
from sync.envelope import WireError, enrollment_request_bytes
from sync.keys import public_b64
from terminal_app.core.sync_client import enroll
from tests.servers import CentralProcess

pytestmark = pytest.mark.integration  # servers on loopback, PostgreSQL or child processes

TERMINAL = "T-422801-0001"


class Interceptor:
    """Someone on the path: a loopback HTTP server that keeps each request body it is sent and
    answers 502, as if the link had dropped."""

    def __init__(self):
        self.bodies: list[bytes] = []
        seen = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                seen.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(502)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def central_service(tmp_path, central_key_file):
    db = str(tmp_path / "central.sqlite")
    server = CentralProcess(db, central_key_file).start()
    yield db, server
    server.stop()


def v1_request(key: ed25519.Ed25519PrivateKey, code: str) -> dict:
    """An enrollment as version 1 sent it: the code in clear."""
    public = public_b64(key)
    signature = key.sign(enrollment_request_bytes(TERMINAL, public, code))
    return {"terminal_id": TERMINAL, "public_key": public, "code": code, "sig": base64.b64encode(signature).decode()}


def issue_code(db: str) -> str:
    store = CentralStore(db)
    try:
        return TerminalRegistry(store).issue_code(TERMINAL)
    finally:
        store.close()


def test_a_watched_enrollment_gives_away_no_code_and_enrols_no_other_key(central, central_service):
    db, server = central_service
    code = issue_code(db)
    terminal_key = ed25519.Ed25519PrivateKey.generate()
    central_keys = [central.signing.public_key()]
    watcher = Interceptor()
    try:
        with pytest.raises(WireError):
            enroll(watcher.url, code, TERMINAL, terminal_key, central_keys)  # the request never arrives
    finally:
        watcher.close()
    seen = json.loads(watcher.bodies[0])
    written = {code, code.replace("-", ""), enrollment.normalise_code(code)}
    assert not any(form in watcher.bodies[0].decode() for form in written)  # the code itself never travelled
    # the watcher enrols a key of its own with everything the request carried
    attacker = ed25519.Ed25519PrivateKey.generate()
    attacker_key = public_b64(attacker)
    forged = seen | {"public_key": attacker_key}
    forged["sig"] = base64.b64encode(
        attacker.sign(enrollment.request_signed_bytes(TERMINAL, attacker_key, seen["nonce"], seen["proof"]))
    ).decode()
    v1 = v1_request(attacker, seen.get("code", ""))  # version 1 carried the code: the attack it allowed
    for attempt in (forged, v1):
        answer = requests.post(f"{server.url}/v1/enroll", json=attempt, timeout=10)
        assert answer.status_code in (400, 403), answer.text
        assert answer.json()["error"]["code"] in ("code_unknown", "unsupported_version")
    # the terminal, once its link is back, enrols its own key with the same code
    enrolled = enroll(server.url, code, TERMINAL, terminal_key, central_keys)
    assert enrolled["public_key"] == public_b64(terminal_key) and enrolled["status"] == "active"
    store = CentralStore(db)
    assert store.terminal(TERMINAL).public_key == public_b64(terminal_key)
    store.close()


def signed_answer(central, request: dict, **changes) -> dict:
    """An answer the real central key signed, with `changes` made before signing."""
    body = {"terminal_id": request["terminal_id"], "county": "422801", "status": "active",
            "enrolled_at": "2026-12-03T10:00:00.000000Z", "public_key": request["public_key"],
            "nonce": request["nonce"]} | changes  # fmt: skip
    sig = central.signing.sign(enrollment.answer_signed_bytes(**body))
    return {"v": 2, **body, "sig": base64.b64encode(sig).decode()}


def test_the_terminal_takes_only_an_answer_signed_over_its_own_key_and_request(central):
    key = ed25519.Ed25519PrivateKey.generate()
    request = enrollment.build_request(TERMINAL, key, "ABCD-EFGH-JKMN-PQRS")
    trusted = [central.signing.public_key()]
    assert enrollment.check_answer(signed_answer(central, request), request, trusted)["status"] == "active"
    other_key = public_b64(ed25519.Ed25519PrivateKey.generate())
    cases = {
        "enrollment_hijacked": signed_answer(central, request, public_key=other_key),  # someone else's key enrolled
        "bad_response": signed_answer(central, request, nonce=base64.b64encode(bytes(16)).decode()),  # an old answer
        "bad_signature": signed_answer(central, request) | {"county": "110101"},  # changed after signing
    }
    for code, answer in cases.items():
        with pytest.raises(WireError) as refused:
            enrollment.check_answer(answer, request, trusted)
        assert refused.value.code == code
    assert "code" not in request and request["v"] == 2


def test_version_1_is_refused_unless_the_service_accepts_it_and_the_version_must_be_the_integer_2(
    central, central_db
):
    store = CentralStore(central_db)
    try:
        strict = TerminalRegistry(store, central.signing)
        code = strict.issue_code(TERMINAL)
        key = ed25519.Ed25519PrivateKey.generate()
        public = public_b64(key)
        v1 = v1_request(key, code)
        v2 = enrollment.build_request(TERMINAL, key, code)
        for request in (v1, v2 | {"v": True}, v2 | {"v": 2.0}, v2 | {"v": 3}):
            with pytest.raises(CentralError) as refused:
                strict.enroll(request)
            assert refused.value.code == "unsupported_version"
        lenient = TerminalRegistry(store, central.signing, accept_v1_enrollment=True)
        answer = lenient.enroll(v1)
        assert answer["status"] == "active" and "public_key" not in answer  # the version 1 answer
        assert strict.enroll(v2)["public_key"] == public  # the same key again, in version 2: harmless
    finally:
        store.close()


def test_the_service_refuses_a_version_that_is_not_an_integer_before_reading_the_rest(central_service):
    _, server = central_service
    for v in (True, 1.0, "2"):
        answer = requests.post(f"{server.url}/v1/enroll", json={"v": v, "terminal_id": TERMINAL}, timeout=10)
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "malformed"


def test_the_service_started_to_accept_version_1_enrols_an_old_terminal(central, tmp_path, central_key_file):
    db = str(tmp_path / "central.sqlite")
    server = CentralProcess(db, central_key_file, options=("--accept-v1-enrollment",)).start()
    try:
        code = issue_code(db)
        answer = requests.post(f"{server.url}/v1/enroll", json=v1_request(ed25519.Ed25519PrivateKey.generate(), code),
                               timeout=10)  # fmt: skip
        assert answer.status_code == 200 and answer.json()["status"] == "active"
    finally:
        server.stop()
