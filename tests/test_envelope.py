"""Envelope and receipt wire format: round trip, and every kind of damage refused by code."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from hypothesis import given, settings
from hypothesis import strategies as st

from county_common.canonical_json import jcs
from sync.envelope import MAX_ENVELOPE_BYTES, Meta, Receipt, WireError, open_sealed, parse, seal, verify

CENTRAL = x25519.X25519PrivateKey.generate()
CENTRAL_SIGNING = ed25519.Ed25519PrivateKey.generate()
TERMINAL = ed25519.Ed25519PrivateKey.generate()
PAYLOAD = json.dumps({"name": "测试丁", "portrait": "A" * 20_000}, ensure_ascii=False).encode()


def make(seq: int = 1, payload: bytes = PAYLOAD):
    meta = Meta.new("T-422801-0001", "422801", seq)
    return seal(meta, payload, CENTRAL.public_key(), TERMINAL)


def test_round_trip_and_the_terminal_cannot_read_what_it_sealed():
    envelope = make()
    wire = envelope.to_bytes()
    assert "测试丁".encode() not in wire and b"AAAAAAAAAA" not in wire
    received = parse(wire)
    verify(received, TERMINAL.public_key())
    assert open_sealed(received, CENTRAL) == PAYLOAD
    # sealing twice gives different bytes (fresh HPKE ephemeral key each time)
    assert make().sealed != envelope.sealed


def code_of(fn) -> str:
    with pytest.raises(WireError) as error:
        fn()
    return error.value.code


def test_only_the_canonical_bytes_are_an_envelope():
    """One envelope has one byte string (JCS), so nobody can store a re-spaced copy under its id
    before it arrives; its digest is of those bytes."""
    import hashlib

    genuine = make().to_bytes()
    spaced = json.dumps(json.loads(genuine), indent=1).encode()  # another writer's whitespace
    assert code_of(lambda: parse(spaced)) == "malformed"
    received = parse(genuine)
    verify(received, TERMINAL.public_key())
    assert received.to_bytes() == genuine and received.digest == hashlib.sha256(genuine).hexdigest()


def test_wrong_central_key_cannot_open():
    other = x25519.X25519PrivateKey.generate()
    assert code_of(lambda: open_sealed(parse(make().to_bytes()), other)) == "cannot_open"


def test_other_terminal_signature_is_refused():
    other = ed25519.Ed25519PrivateKey.generate()
    assert code_of(lambda: verify(parse(make().to_bytes()), other.public_key())) == "bad_signature"


def test_meta_moved_onto_another_envelope_is_refused():
    first, second = make(1), make(2)
    data = json.loads(second.to_bytes())
    data["meta"] = json.loads(first.to_bytes())["meta"]
    forged = parse(jcs(data))
    assert code_of(lambda: verify(forged, TERMINAL.public_key())) == "bad_signature"
    assert code_of(lambda: open_sealed(forged, CENTRAL)) == "cannot_open"  # metadata is bound into HPKE


@pytest.mark.parametrize("field", ["seq", "county", "created_at"])
def test_edited_metadata_is_refused(field):
    data = json.loads(make().to_bytes())
    data["meta"][field] = {"seq": 99, "county": "110101", "created_at": "2020-01-01T00:00:00Z"}[field]
    assert code_of(lambda: verify(parse(jcs(data)), TERMINAL.public_key())) == "bad_signature"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda raw: raw[: len(raw) // 2], "malformed"),  # truncated
        (lambda raw: b"", "malformed"),
        (lambda raw: b"\xff\xfe" + raw, "malformed"),
        (lambda raw: b"[1,2]", "malformed"),
        (lambda raw: raw.replace(b'"v":1', b'"v":2'), "unsupported_version"),
        (lambda raw: raw.replace(b'"v":1', b'"v":1,"x":0'), "malformed"),
        (lambda raw: b" " * (MAX_ENVELOPE_BYTES + 1), "oversize"),
    ],
)
def test_damaged_wire_bytes_get_specific_codes(mutate, code):
    assert code_of(lambda: parse(mutate(make().to_bytes()))) == code


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("envelope_id", "not-a-uuid"),
        ("terminal_id", "T-1"),
        ("seq", 0),
        ("seq", True),
        ("seq", "1"),
        ("county", "42280"),
        ("schema", "Application"),
    ],
)
def test_meta_in_the_wrong_form_is_malformed(key, value):
    data = json.loads(make().to_bytes())
    data["meta"][key] = value
    assert code_of(lambda: parse(jcs(data))) == "malformed"


def test_payload_too_large_is_refused_when_sealing():
    assert code_of(lambda: make(payload=b"x" * MAX_ENVELOPE_BYTES)) == "oversize"


@settings(max_examples=200, deadline=None)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_bit_flip_in_sealed_or_signature_is_caught(position, bit):
    envelope = make(payload=b'{"amount":"5000"}')
    data = json.loads(envelope.to_bytes())
    which = "sealed" if position % 2 else "sig"
    raw = bytearray(base64.b64decode(data[which]))
    raw[position % len(raw)] ^= 1 << bit
    data[which] = base64.b64encode(bytes(raw)).decode()
    damaged = parse(jcs(data))
    assert code_of(lambda: verify(damaged, TERMINAL.public_key())) == "bad_signature"
    if which == "sealed":
        assert code_of(lambda: open_sealed(damaged, CENTRAL)) == "cannot_open"


def receipt_for(envelope, key=CENTRAL_SIGNING, **change):
    meta = envelope.meta
    fields = {
        "envelope_id": meta.envelope_id,
        "terminal_id": meta.terminal_id,
        "seq": meta.seq,
        "envelope_sha256": envelope.digest,
        "stored_at": "2026-11-25T10:00:00Z",
        **change,
    }
    return Receipt(**fields).signed_by(key)


def test_receipt_round_trip_through_json():
    envelope = make()
    receipt = Receipt.from_dict(json.loads(json.dumps(receipt_for(envelope).as_dict())))
    receipt.verify_for(envelope, [ed25519.Ed25519PrivateKey.generate().public_key(), CENTRAL_SIGNING.public_key()])


def test_receipt_for_another_envelope_or_from_another_key_is_refused():
    envelope, other = make(1), make(2)
    assert code_of(lambda: receipt_for(other).verify_for(envelope, [CENTRAL_SIGNING.public_key()])) == (
        "receipt_mismatch"
    )
    stranger = ed25519.Ed25519PrivateKey.generate()
    assert code_of(lambda: receipt_for(envelope, stranger).verify_for(envelope, [CENTRAL_SIGNING.public_key()])) == (
        "bad_signature"
    )
    edited = receipt_for(envelope)
    tampered = Receipt(**{**edited.__dict__, "stored_at": "2030-01-01T00:00:00Z"})
    assert code_of(lambda: tampered.verify_for(envelope, [CENTRAL_SIGNING.public_key()])) == "bad_signature"
    assert code_of(lambda: Receipt.from_dict({"envelope_id": "x"})) == "malformed"


def test_only_the_integer_1_is_version_1_and_a_member_given_twice_is_malformed():
    data = json.loads(make().to_bytes())
    for version in (True, 1.0):
        assert code_of(lambda v=version: parse(jcs(data | {"v": v}))) == "unsupported_version"
    twice = jcs(data).replace(b'"meta":{', b'"meta":{"county":"110101",', 1)  # JSON keeps the last of two
    assert code_of(lambda: parse(twice)) == "malformed"


def test_a_signature_spelled_another_way_in_base64_is_malformed():
    """The last base64 character of a 64-byte signature carries 4 unused bits: setting them spells
    the same bytes differently, and such a copy must not pass as the envelope."""
    data = json.loads(make().to_bytes())
    sig = data["sig"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = sig.rstrip("=")[-1]
    respelled = sig.rstrip("=")[:-1] + alphabet[alphabet.index(last) | 1] + "=" * (len(sig) - len(sig.rstrip("=")))
    assert respelled != sig and base64.b64decode(respelled) == base64.b64decode(sig)
    assert code_of(lambda: parse(jcs(data | {"sig": respelled}))) == "malformed"
