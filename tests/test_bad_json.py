"""JSON nested as deep as a parser can recurse, wherever the protocol reads JSON from outside: an
envelope, an update's header, a USB bundle's manifest, a receipts file, a request to the central
service. Each is refused with its protocol code, never a RecursionError or a server error."""

from __future__ import annotations

import pytest
import requests

from county_common.canonical_json import TooDeep, loads
from sync.bundle import read_outbox_bundle, read_receipts
from sync.envelope import WireError, parse
from sync.update import MAGIC, parse_update

DEEP = b"[" * 200_000 + b"]" * 200_000
DEEP_OBJECT = b'{"v": 1, "meta": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}"


def test_nesting_is_bounded_but_brackets_inside_strings_are_text():
    for raw in (DEEP, DEEP_OBJECT, b"[" * 33 + b"]" * 33):
        with pytest.raises(TooDeep):
            loads(raw)
    assert loads(b'{"note": "' + b"[{" * 500 + b'"}') == {"note": "[{" * 500}
    assert loads(b"[" * 32 + b"]" * 32) is not None  # as deep as allowed


@pytest.mark.parametrize("raw", [DEEP, DEEP_OBJECT])
def test_an_envelope_or_an_update_nested_too_deep_is_malformed(raw):
    with pytest.raises(WireError) as envelope:
        parse(raw)
    with pytest.raises(WireError) as update:
        parse_update(MAGIC + b'{"manifest": ' + raw + b', "sig": ""}\n')
    assert (envelope.value.code, update.value.code) in {("malformed", "malformed"), ("oversize", "malformed")}


def test_a_bundle_or_receipts_file_nested_too_deep_is_refused(tmp_path):
    receipts = tmp_path / "r"
    receipts.write_bytes(b'{"count": 1, "kind": "receipts"}\n' + DEEP + b"\n")
    with pytest.raises(WireError) as refused:
        read_receipts(receipts)
    bundle = tmp_path / "b"
    bundle.write_bytes(b"{}\n" + DEEP + b"\n")
    with pytest.raises(WireError) as cut:
        read_outbox_bundle(bundle)
    assert (refused.value.code, cut.value.code) == ("malformed", "truncated")


@pytest.mark.integration
def test_the_central_service_answers_deep_json_with_its_error_body(central_server):
    batch = requests.post(f"{central_server.url}/v1/envelopes", data=DEEP_OBJECT + b"\n",
                          headers={"Content-Type": "application/x-ndjson"}, timeout=30)  # fmt: skip
    assert batch.status_code == 200 and batch.json()["results"][0]["error"]["code"] in ("malformed", "oversize")
    for body, status, code in ((b"[" * 1500 + b"]" * 1500, 400, "malformed"), (DEEP, 413, "oversize")):
        enroll = requests.post(f"{central_server.url}/v1/enroll", data=body,
                               headers={"Content-Type": "application/json"}, timeout=30)  # fmt: skip
        assert (enroll.status_code, enroll.json()["error"]["code"]) == (status, code)


@pytest.mark.integration
def test_a_stalled_body_is_given_up_on_and_connections_beyond_the_limit_are_turned_away(tmp_path, central_key_file):
    """Slow clients (slowloris): a body that stops arriving is refused 408 after the stall time;
    connections beyond the limit get 503 at once, and the service still answers afterwards."""
    import socket
    import time

    from tests.servers import CentralProcess

    server = CentralProcess(str(tmp_path / "central.sqlite"), central_key_file,
                            options=("--body-stall", "1", "--max-connections", "8")).start()  # fmt: skip
    try:
        stalled = socket.create_connection(("127.0.0.1", server.port))
        stalled.sendall(b"POST /v1/envelopes HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                        b"Content-Length: 100000\r\n\r\n" + b"{" * 10)  # fmt: skip
        started = time.monotonic()
        stalled.settimeout(10)
        answer = b""
        while b'"timeout"' not in answer and (chunk := stalled.recv(4096)):
            answer += chunk
        assert b" 408 " in answer.split(b"\r\n")[0] and b'"timeout"' in answer
        assert time.monotonic() - started < 5
        stalled.close()
        idle = []
        for _ in range(20):  # half-open connections that never send a request
            idle.append(socket.create_connection(("127.0.0.1", server.port)))
        time.sleep(0.5)
        turned_away = requests.get(f"{server.url}/v1/health", timeout=5)
        assert turned_away.status_code == 503
        for connection in idle:
            connection.close()
        time.sleep(0.5)
        assert requests.get(f"{server.url}/v1/health", timeout=5).status_code == 200
    finally:
        server.stop()
