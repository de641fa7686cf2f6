"""What the field agent's console shows of the terminal's applications and USB sticks: each
application's number, time, decision and whether its envelope is queued, delivered or held, from
the audit log and the outbox (never an applicant's data: the terminal cannot open its envelopes);
the sticks mounted now; a finished export."""

from __future__ import annotations

import glob
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from terminal_app.core.reasons import Reason
from terminal_app.core.vault import Vault

# Why an agent puts held envelopes back in the queue (recorded in the audit log).
RELEASE_REASONS = ("fixed_centrally", "asked_by_head_office", "terminal_repaired")


@dataclass(frozen=True)
class QueueRow:
    application_id: str
    submitted_at: float
    outcome: str  # approve / refer / decline
    sync_state: str  # queued / delivered / held / unknown (purged after its receipt)


@dataclass(frozen=True)
class ExportedBundle:
    path: Path
    envelopes: int
    sha256: str


def application_queue(vault: Vault, since: float) -> list[QueueRow]:
    db = vault.db
    outcomes: dict[str, str] = {}
    rows: list[tuple[str, float, str, str]] = []
    for event, ts, details in db.execute(
        "SELECT event, ts, details FROM audit WHERE ts >= ? AND event IN ('decision', 'submitted') ORDER BY seq",
        [since],
    ):
        data = json.loads(details)
        if event == "decision":
            outcomes[data.get("session", "")] = data.get("outcome", "")
        else:
            rows.append((data.get("application", ""), ts, data.get("session", ""), data.get("envelope", "")))
    queued = {r[0] for r in db.execute("SELECT envelope_id FROM outbox")}
    delivered = {r[0] for r in db.execute("SELECT envelope_id FROM delivered")}
    held = {r[0] for r in db.execute("SELECT envelope_id FROM held")}

    def where(envelope_id: str) -> str:
        for name, ids in (("queued", queued), ("delivered", delivered), ("held", held)):
            if envelope_id in ids:
                return name
        return "unknown"

    return [
        QueueRow(application_id, ts, outcomes.get(session, ""), where(envelope_id))
        for application_id, ts, session, envelope_id in reversed(rows)
    ]


def usb_sticks(patterns: list[str]) -> list[Path]:
    """The directories matching `patterns` that this process can write to, in order."""
    found: list[Path] = []
    for pattern in patterns:
        for name in sorted(glob.glob(pattern)):
            path = Path(name)
            if path.is_dir() and os.access(path, os.W_OK) and path not in found:
                found.append(path)
    return found


def bundle_name(terminal_id: str, now: float) -> str:
    """The file an export writes on a stick; the central service writes its receipts beside it
    as `<name>.receipts`."""
    return f"outbox-{terminal_id}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))}.bundle"


def receipts_files(sticks: list[Path], terminal_id: str) -> list[Path]:
    """This terminal's receipts files on the sticks, newest first."""
    found = [p for stick in sticks for p in stick.glob(f"outbox-{terminal_id}-*.bundle.receipts") if p.is_file()]
    return sorted(found, key=lambda p: p.name, reverse=True)


def sync_problem(code: str | None) -> Reason | None:
    """A sync's failure code in words an agent can act on (None: it worked)."""
    if code is None:
        return None
    if code in ("unreachable", "timeout", "connection_lost"):
        return Reason("sync_link_down")
    if code == "unauthenticated":
        return Reason("sync_not_enrolled")
    if code == "revoked":
        return Reason("sync_revoked")
    if code == "busy":
        return Reason("sync_busy")
    return Reason("sync_failed", code=code)
