"""The central service's rules, on SQLite and on PostgreSQL: enrollment with one-time codes,
signature checks against the enrolled key, idempotent storage, sequence rules, revocation."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from sync import enrollment
from sync.central.backoffice import export_applications
from sync.central.errors import CentralError
from sync.central.ingest import IngestService
from sync.central.store import CentralStore
from sync.central.terminals import TerminalRegistry
from sync.envelope import WireError, parse
from terminal_app.core.outbox import Sealer

pytestmark = pytest.mark.integration  # servers on loopback, PostgreSQL or child processes

TERMINAL = "T-422801-0007"


class Terminal:
    """A terminal's signing side, without the kiosk around it."""

    def __init__(self, central, terminal_id: str = TERMINAL):
        self.key = ed25519.Ed25519PrivateKey.generate()
        self.sealer = Sealer(terminal_id, terminal_id[2:8], self.key, central.opening.public_key())
        self.seq = 0

    def envelope(self, payload: dict | None = None, *, seq: int | None = None) -> bytes:
        if seq is None:
            self.seq += 1
            seq = self.seq
        body = json.dumps(payload or {"application_id": f"a{seq}"}).encode()
        return self.sealer.seal(seq, body, "application/1").wire

    def enroll(self, service: IngestService, code: str) -> dict:
        """Enrollment version 2, as the kiosk sends it."""
        return service.terminals.enroll(enrollment.build_request(self.sealer.terminal_id, self.key, code))


@pytest.fixture
def service(central_db, central):
    store = CentralStore(central_db)
    yield IngestService(store, central.signing)
    store.close()


@pytest.fixture
def terminal(service, central) -> Terminal:
    terminal = Terminal(central)
    terminal.enroll(service, service.terminals.issue_code(TERMINAL))
    return terminal


def codes(outcomes) -> list[str]:
    return [o.code or o.status for o in outcomes]


def test_enrollment_code_is_one_time_and_bound_to_its_terminal(service, central):
    code = service.terminals.issue_code(TERMINAL)
    assert len(code) == 19 and code.count("-") == 3
    other = Terminal(central, "T-422801-0008")
    with pytest.raises(CentralError) as wrong_terminal:
        other.enroll(service, code)
    first = Terminal(central)
    answer = first.enroll(service, code.lower().replace("-", " "))  # read aloud, typed loosely
    assert answer["status"] == "active" and answer["county"] == "422801"
    assert first.enroll(service, code)["enrolled_at"] == answer["enrolled_at"]  # a retry is harmless
    with pytest.raises(CentralError) as reused:
        Terminal(central).enroll(service, code)
    assert (wrong_terminal.value.code, reused.value.code) == ("code_unknown", "code_used")
    with pytest.raises(CentralError) as again:
        service.terminals.issue_code(TERMINAL)
    assert again.value.code == "already_enrolled"


def test_expired_code_and_forged_enrollment_are_refused(service, central):
    code = service.terminals.issue_code(TERMINAL, valid_hours=-1)
    with pytest.raises(CentralError) as expired:
        Terminal(central).enroll(service, code)
    forger = Terminal(central)
    unsigned = base64.b64encode(bytes(64)).decode()
    forged_request = enrollment.build_request(TERMINAL, forger.key, code) | {"sig": unsigned}
    with pytest.raises(CentralError) as forged:
        service.terminals.enroll(forged_request)
    assert (expired.value.code, forged.value.code) == ("code_expired", "bad_signature")


def test_envelopes_are_stored_once_byte_identical_with_the_same_receipt_on_resend(service, terminal):
    wires = [terminal.envelope() for _ in range(3)]
    first = service.ingest(wires)
    assert codes(first) == ["stored"] * 3
    again = service.ingest(wires)
    assert codes(again) == ["duplicate"] * 3
    assert [o.receipt for o in again] == [o.receipt for o in first]
    stored = service.store.stored_wires()
    assert sorted(stored.values()) == sorted(wires)
    assert service.store.terminal(TERMINAL).last_seq == 3


def test_receipts_verify_for_the_envelope_under_the_central_key(service, terminal, central):
    from sync.envelope import parse

    wire = terminal.envelope()
    (outcome,) = service.ingest([wire])
    outcome.receipt.verify_for(parse(wire), [central.signing.public_key()])


def test_unknown_pending_and_forged_get_one_answer_and_only_a_signer_hears_it_is_revoked(service, terminal, central):
    """Which terminals exist, and in what state, is not told to whoever posts an envelope: an
    unknown terminal, one with a code but not enrolled, and a wrong key all get `unauthenticated`
    with the same message; a revoked terminal is told so only when it signs."""
    stranger = Terminal(central, "T-422801-0099")
    service.terminals.issue_code("T-422801-0098")
    pending = Terminal(central, "T-422801-0098")
    impostor = Terminal(central)  # same terminal id, another key
    outcomes = service.ingest([stranger.envelope(), pending.envelope(), impostor.envelope()])
    assert codes(outcomes) == ["unauthenticated"] * 3 and len({o.message for o in outcomes}) == 1
    service.terminals.revoke(TERMINAL)
    assert codes(service.ingest([terminal.envelope(), impostor.envelope()])) == ["terminal_revoked", "unauthenticated"]
    assert service.store.envelope_count() == 0


@pytest.mark.parametrize(
    ("mangle", "code"),
    [
        (lambda w: w[: len(w) // 2], "malformed"),  # truncated
        (lambda w: w.replace(b'"v":1', b'"v":9'), "unsupported_version"),
        (lambda w: w[:200] + bytes([w[200] ^ 0x01]) + w[201:], None),  # one bit flipped somewhere
        (lambda w: w + b" " * (1 << 20), "oversize"),
    ],
)
def test_damaged_envelopes_are_refused_and_nothing_is_stored(service, terminal, mangle, code):
    (outcome,) = service.ingest([mangle(terminal.envelope())])
    assert outcome.status == "refused"
    assert outcome.code in ({code} if code else {"malformed", "unauthenticated"})
    assert service.store.envelope_count() == 0


def test_replayed_and_reordered_sequence_numbers_are_refused_and_gaps_counted(service, terminal):
    one, two = terminal.envelope(), terminal.envelope()
    five = terminal.envelope(seq=5)
    assert codes(service.ingest([one, two, five])) == ["stored", "stored", "stored"]
    assert service.store.terminal(TERMINAL).missing_seqs == 2
    replay = terminal.envelope(seq=2)  # a new envelope reusing a stored number
    late = terminal.envelope(seq=4)  # an envelope arriving after a later one
    assert codes(service.ingest([replay, late])) == ["sequence_reused", "sequence_out_of_order"]


def test_the_same_envelope_twice_in_one_batch_is_stored_once(service, terminal):
    wire = terminal.envelope()
    assert codes(service.ingest([wire, wire])) == ["stored", "duplicate"]
    assert service.store.envelope_count() == 1


def test_back_office_opens_verifies_and_exports_each_envelope_once(service, terminal, central, tmp_path):
    service.ingest([terminal.envelope({"application_id": "x1", "name": "测试戊"}), terminal.envelope()])
    out = tmp_path / "export.jsonl"
    with out.open("w") as handle:
        report = export_applications(service.store, central.opening, handle)
    assert report.exported == 2 and report.failed == []
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines[0]["application"] == {"application_id": "x1", "name": "测试戊"}
    assert lines[0]["meta"]["terminal_id"] == TERMINAL
    with out.open("a") as handle:
        assert export_applications(service.store, central.opening, handle).exported == 0


def test_back_office_with_the_wrong_opening_key_exports_nothing(service, terminal, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import x25519

    service.ingest([terminal.envelope()])
    with (tmp_path / "export.jsonl").open("w") as handle:
        report = export_applications(service.store, x25519.X25519PrivateKey.generate(), handle)
    assert report.exported == 0 and [code for _, code in report.failed] == ["cannot_open"]


def test_a_terminal_that_sealed_no_application_is_recorded_as_refused_and_the_rest_are_exported(
    service, terminal, central, tmp_path
):
    """One bad payload must not stop the back office for everyone: it is refused once, recorded,
    and the applications around it are exported."""
    first = terminal.envelope()
    not_json = terminal.sealer.seal(2, b"\xff\xfe not json", "application/1").wire
    not_an_object = terminal.sealer.seal(3, b"[1, 2]", "application/1").wire
    terminal.seq = 3
    wires = [first, not_json, not_an_object, terminal.envelope()]
    assert codes(service.ingest(wires)) == ["stored"] * 4
    out = tmp_path / "export.jsonl"
    with out.open("w") as handle:
        report = export_applications(service.store, central.opening, handle)
    assert report.exported == 2 and report.failed == []
    assert [code for _, code in report.refused] == ["payload_not_json", "payload_not_json"]
    with out.open("a") as handle:
        again = export_applications(service.store, central.opening, handle)
    assert (again.exported, again.failed, again.refused) == (0, [], [])  # recorded: not tried again


def test_an_envelope_naming_another_county_is_refused_and_digits_are_ascii_only(service, terminal, central):
    """A terminal of 恩施市 (422801) cannot file applications as another county's; and a number
    written in other scripts' digits (٤٢٢٨٠١) is not a county code or a terminal id."""
    elsewhere = Sealer(TERMINAL, "422802", terminal.key, central.opening.public_key())
    assert codes(service.ingest([elsewhere.seal(1, b"{}", "application/1").wire])) == ["county_mismatch"]
    assert codes(service.ingest([terminal.envelope()])) == ["stored"]  # its own county's: stored
    arabic = terminal.envelope().replace(b'"422801"', '"٤٢٢٨٠١"'.encode())
    with pytest.raises(WireError) as malformed:
        parse(arabic)
    assert malformed.value.code == "malformed"
    wide = "T-４２２８０１-0001"
    with pytest.raises(CentralError) as refused:
        service.terminals.issue_code(wide)
    assert refused.value.code == "malformed"


def test_a_copy_of_an_envelope_re_spaced_on_the_way_is_refused_and_the_genuine_bytes_are_stored(service, terminal):
    """Whoever sees an envelope could send it first with a space added: its signature still holds
    (it covers meta and sealed, not the line), and the genuine bytes were then refused id_conflict
    and held for ever. Only the canonical bytes are an envelope."""
    genuine = terminal.envelope()
    respaced = genuine.replace(b'{"meta":', b'{ "meta":', 1)
    reordered = json.dumps(json.loads(genuine)).encode()  # Python's spacing
    assert codes(service.ingest([respaced, reordered])) == ["malformed", "malformed"]
    assert codes(service.ingest([genuine])) == ["stored"]


def test_codes_and_publications_made_at_the_same_moment_all_succeed(central_db, central):
    """Eight administrators at once: codes for one new terminal (it is created once) and updates
    of one kind (each gets its own number). On PostgreSQL the losers' failed inserts made
    IntegrityError and 'busy' answers before."""
    import threading

    from sync.central.updates import UpdateService
    from tests.test_updates import RISK

    store = CentralStore(central_db)
    try:
        ready = threading.Barrier(8)
        codes_made: list[str] = []
        versions: list[int] = []
        failures: list[BaseException] = []

        def administrator(i: int) -> None:
            try:
                ready.wait()
                codes_made.append(TerminalRegistry(store).issue_code("T-422801-0042"))
                published, _ = UpdateService(store, central.signing).publish("config", {"config.toml": RISK}, ["*"])
                versions.append(published.version)
            except BaseException as error:
                failures.append(error)

        workers = [threading.Thread(target=administrator, args=(i,)) for i in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert failures == []
        assert len(set(codes_made)) == 8 and store.terminal("T-422801-0042").status == "pending"
        assert sorted(versions) == list(range(1, 9))
    finally:
        store.close()
