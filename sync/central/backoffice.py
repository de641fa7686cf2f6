"""The back office step: open stored envelopes with the opening key (which the ingest service
never holds), check each signature again against the enrolled key, export the applications.

Export is at-least-once into the output file (a line is written and flushed before the envelope
is marked exported), so a crash can repeat a line but never lose one; lines carry the envelope
id to de-duplicate on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from cryptography.hazmat.primitives.asymmetric import x25519

from county_common.canonical_json import loads
from sync.central.store import CentralStore
from sync.envelope import WireError, open_sealed, parse, verify
from sync.keys import ed25519_public

PAYLOAD_NOT_JSON = "payload_not_json"


@dataclass
class ExportReport:
    exported: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (envelope_id, error code): tried again next run
    refused: list[tuple[str, str]] = field(default_factory=list)  # opened, but what the terminal sealed is unusable


def export_applications(store: CentralStore, opening_key: x25519.X25519PrivateKey, out: TextIO) -> ExportReport:
    """Write every envelope not yet exported as one JSON line {meta, application}; mark it exported."""
    report = ExportReport()
    keys = {t.terminal_id: t.public_key for t in store.all_terminals()}
    for row in store.unexported_envelopes():
        try:
            envelope = parse(bytes(row.wire))
            public_key = keys.get(row.terminal_id)
            if public_key is None:
                raise WireError("unknown_terminal", "no enrolled key for this terminal")
            verify(envelope, ed25519_public(public_key))
            opened = open_sealed(envelope, opening_key)
        except WireError as error:
            report.failed.append((row.envelope_id, error.code))
            continue
        try:
            application = loads(opened)
            if not isinstance(application, dict):
                raise ValueError("not a JSON object")
        except ValueError:  # the terminal sealed something that is no application: recorded, never retried
            store.refuse_envelope(row.envelope_id, PAYLOAD_NOT_JSON)
            report.refused.append((row.envelope_id, PAYLOAD_NOT_JSON))
            continue
        line = {"meta": envelope.meta.as_dict(), "stored_at": row.stored_at, "application": application}
        out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        out.flush()
        store.mark_exported(row.envelope_id)
        report.exported += 1
    return report


def export_to_file(store: CentralStore, opening_key: x25519.X25519PrivateKey, path: Path) -> ExportReport:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # personal data: owner only
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        return export_applications(store, opening_key, out)
