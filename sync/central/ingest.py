"""Ingesting envelopes, without HTTP: check each against its terminal's enrolled key, store it
once, return a signed receipt (the same one on every re-send); a USB bundle the same way. Which
terminals may send, and their keys, are the TerminalRegistry's; every query is the store's. The
opening key is never here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy.exc import IntegrityError

from sync.bundle import read_outbox_bundle, verify_bundle
from sync.central.errors import CentralError
from sync.central.store import CentralStore, StoredEnvelope, now_iso
from sync.central.terminals import UNSIGNED_ENVELOPE, TerminalRegistry, refusal
from sync.envelope import Envelope, Receipt, WireError, parse, verify

MAX_BATCH_ENVELOPES = 256
ID_CONFLICT = "another envelope with this id was stored, with different bytes"


@dataclass
class Outcome:
    """One envelope's result: stored now, stored before (duplicate), or refused with a code."""

    status: str  # stored | duplicate | refused
    envelope_id: str | None = None
    receipt: Receipt | None = None
    code: str | None = None
    message: str | None = None

    def as_dict(self) -> dict:
        result: dict = {"status": self.status, "envelope_id": self.envelope_id}
        if self.receipt is not None:
            result["receipt"] = self.receipt.as_dict()
        if self.code is not None:
            result["error"] = {"code": self.code, "message": self.message}
        return result


def _refused(error: WireError | CentralError, envelope_id: str | None = None) -> Outcome:
    return Outcome("refused", envelope_id, code=error.code, message=error.message)


_NOBODY = ed25519.Ed25519PrivateKey.generate().public_key()  # checked against for an unknown terminal


def _signed_by(envelope: Envelope, key: ed25519.Ed25519PublicKey | None) -> bool:
    """Whether `key` signed it. With no key (an unknown terminal, or one not enrolled yet) a
    signature is checked all the same, against a key nobody holds: the answer takes as long."""
    try:
        verify(envelope, key or _NOBODY)
    except WireError:
        return False
    return key is not None


class IngestService:
    def __init__(self, store: CentralStore, signing_key: ed25519.Ed25519PrivateKey):
        self.store = store
        self.signing_key = signing_key  # signs the receipts
        self.terminals = TerminalRegistry(store, signing_key)

    def import_bundle(self, path: Path) -> list[Outcome]:
        """Ingest an outbox bundle carried on a USB stick: the manifest must verify under the
        terminal's enrolled key (a cut-short or edited file is refused whole), then each envelope
        is handled exactly as over HTTP, with the same idempotency."""
        bundle, manifest, signature = read_outbox_bundle(path)
        _, key = self.terminals.serving(bundle.terminal_id)
        verify_bundle(manifest, signature, key)
        outcomes: list[Outcome] = []
        for start in range(0, len(bundle.wires), MAX_BATCH_ENVELOPES):
            outcomes.extend(self.ingest(bundle.wires[start : start + MAX_BATCH_ENVELOPES], via="bundle"))
        return outcomes

    def ingest(self, wires: list[bytes], *, via: str = "http") -> list[Outcome]:
        """Check and store a batch, in order. Each envelope gets its own outcome; a batch from
        several terminals is handled one terminal at a time, each in one transaction."""
        if len(wires) > MAX_BATCH_ENVELOPES:
            raise CentralError("oversize", f"a batch holds at most {MAX_BATCH_ENVELOPES} envelopes", 413)
        outcomes: list[Outcome | None] = [None] * len(wires)
        by_terminal: dict[str, list[tuple[int, Envelope]]] = {}
        for index, raw in enumerate(wires):
            try:
                envelope = parse(raw)
            except WireError as error:
                outcomes[index] = _refused(error)
                continue
            by_terminal.setdefault(envelope.meta.terminal_id, []).append((index, envelope))
        for terminal_id in sorted(by_terminal):  # a fixed order: no lock-order deadlocks
            for index, outcome in self._ingest_for(terminal_id, by_terminal[terminal_id], via):
                outcomes[index] = outcome
        return [o for o in outcomes if o is not None]

    def _ingest_for(self, terminal_id: str, items: list[tuple[int, Envelope]], via: str) -> list[tuple[int, Outcome]]:
        """The signature first, under the key the terminal enrolled: an unknown terminal, one not
        enrolled yet and a wrong signature get one answer (`unauthenticated`); only a terminal
        that signs is told it is revoked."""
        terminal, key = self.terminals.enrolled_key(terminal_id)
        results: list[tuple[int, Outcome]] = []
        checked: list[tuple[int, Envelope]] = []
        for index, envelope in items:  # outside the lock: the CPU-heavy part
            if not _signed_by(envelope, key):
                results.append((index, _refused(UNSIGNED_ENVELOPE, envelope.meta.envelope_id)))
                continue
            if (refused := refusal(terminal_id, terminal)) is not None:  # revoked
                results.append((index, _refused(refused, envelope.meta.envelope_id)))
                continue
            checked.append((index, envelope))
        if not checked:
            return results
        try:
            results.extend(self._store_checked(terminal_id, checked, via))
        except IntegrityError:
            # another node stored one of these at the same moment; the re-run finds them stored
            results.extend(self._store_checked(terminal_id, checked, via))
        return results

    def _store_checked(self, terminal_id: str, checked: list[tuple[int, Envelope]], via: str):
        results: list[tuple[int, Outcome]] = []
        with self.store.begin() as conn:
            terminal = self.store.lock_terminal(conn, terminal_id)
            if (refused := refusal(terminal_id, terminal)) is not None:  # revoked since the check above?
                return [(index, _refused(refused, env.meta.envelope_id)) for index, env in checked]
            assert terminal is not None
            last_seq, missing = terminal.last_seq, terminal.missing_seqs
            rows: list[dict] = []
            known = self.store.stored_envelopes(conn, [env.meta.envelope_id for _, env in checked])
            for index, envelope in checked:
                meta = envelope.meta
                if (stored := known.get(meta.envelope_id)) is not None:
                    if stored.sha256 != envelope.digest:
                        conflict = CentralError("id_conflict", ID_CONFLICT)
                        results.append((index, _refused(conflict, meta.envelope_id)))
                        continue
                    # signed again with the key in use now: a terminal that no longer trusts the key of the
                    # first answer (a rotation) can still clear the envelope
                    receipt = Receipt(
                        meta.envelope_id, terminal_id, stored.seq, stored.sha256, stored.stored_at
                    ).signed_by(self.signing_key)
                    results.append((index, Outcome("duplicate", meta.envelope_id, receipt)))
                    continue
                if meta.county != terminal.county:
                    where = f"the envelope names county {meta.county}; its terminal is in {terminal.county}"
                    mismatch = CentralError("county_mismatch", where)
                    results.append((index, _refused(mismatch, meta.envelope_id)))
                    continue
                if meta.seq <= last_seq:
                    error = (
                        CentralError("sequence_reused", f"seq {meta.seq} belongs to another envelope (replay?)")
                        if self.store.seq_taken(conn, terminal_id, meta.seq)
                        else CentralError("sequence_out_of_order", f"seq {meta.seq} arrived after seq {last_seq}")
                    )
                    results.append((index, _refused(error, meta.envelope_id)))
                    continue
                stored_at = now_iso()
                receipt = Receipt(meta.envelope_id, terminal_id, meta.seq, envelope.digest, stored_at).signed_by(
                    self.signing_key
                )
                rows.append(
                    {
                        "envelope_id": meta.envelope_id,
                        "terminal_id": terminal_id,
                        "seq": meta.seq,
                        "county": meta.county,
                        "schema": meta.schema,
                        "created_at": meta.created_at,
                        "sha256": envelope.digest,
                        "wire": envelope.wire,
                        "stored_at": stored_at,
                        "receipt_sig": receipt.signature,
                        "via": via,
                    }
                )
                missing += meta.seq - last_seq - 1
                last_seq = meta.seq
                # a second copy in this batch is a duplicate of this one
                known[meta.envelope_id] = StoredEnvelope(meta.seq, envelope.digest, stored_at, receipt.signature)
                results.append((index, Outcome("stored", meta.envelope_id, receipt)))
            self.store.add_envelopes(conn, rows)
            self.store.advance_terminal(conn, terminal_id, last_seq, missing)
        return results
