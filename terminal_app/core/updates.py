"""Applying downstream updates on the terminal: config, blocklist, agent roster, model.

An update is applied only if it is signed by a central key this terminal trusts, addressed to
it, newer than what it holds and valid for its kind; otherwise it is refused with a code and the
current one stays. Applying is atomic: the verified bytes are written to a file under a
temporary name and renamed, then one vault transaction records the new version (and, for the
roster, swaps the rows). A crash before that transaction leaves the old version in force.

The terminal keeps the current and the previous version of each kind. `rollback` goes back to
the previous one and refuses the rolled-back version (and anything older) from then on, so the
next sync does not bring it straight back. If the current file is found damaged at start, the
previous one is used and the damaged version is fetched again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import sqlite_utils
from cryptography.hazmat.primitives.asymmetric import ed25519

from kiosk_config.updates import READERS, ContentError
from sync.envelope import WireError
from sync.files import write_atomically
from sync.keys import key_id
from sync.update import Update, parse_update
from terminal_app.core.audit import AuditLog
from terminal_app.core.outbox import iso_utc
from terminal_app.core.vault import Vault, VaultError

UPDATES_DIR = "updates"
# Refusals of updates a trusted central key signed: the version is refused, whatever bytes carry it.
REMEMBERED_REFUSALS = frozenset({"invalid_content", "not_addressed"})


@dataclass(frozen=True)
class Handler:
    """How one kind of update takes effect. `prepare` checks the content against this terminal
    (raising ContentError) and gives what the other two take; `commit` runs inside the vault
    transaction that records the version; `activate` runs after it, and at start."""

    prepare: Callable[[object], object] = lambda content: content
    commit: Callable[[sqlite_utils.Database, object], None] = lambda db, content: None
    activate: Callable[[object], None] = lambda content: None


@dataclass(frozen=True)
class Installed:
    kind: str
    version: int
    sha256: str | None
    issued_at: str | None
    applied_at: float | None
    source: str | None
    previous_version: int | None
    previous_sha256: str | None
    floor: int
    refused_version: int | None
    refused_code: str | None
    high_water: int  # the highest version ever in force: nothing older applies again
    refused_sha256: str | None  # the refused version's bytes, when only those are refused


class UpdateStore:
    def __init__(
        self,
        vault: Vault,
        audit: AuditLog,
        handlers: dict[str, Handler],
        *,
        terminal_id: str,
        county: str,
        trusted_keys: Callable[[], list[ed25519.Ed25519PublicKey]],
        clock: Callable[[], float] = time.time,
    ):
        self._vault = vault
        self._audit = audit
        self._handlers = handlers
        self._terminal_id = terminal_id
        self._county = county
        self._trusted_keys = trusted_keys
        self._clock = clock
        self.directory = vault.data_dir / UPDATES_DIR
        self.directory.mkdir(mode=0o700, exist_ok=True)

    # --- state ------------------------------------------------------------------------------

    def installed(self, kind: str) -> Installed:
        row = self._vault.db.execute(
            "SELECT kind, version, sha256, issued_at, applied_at, source, previous_version, previous_sha256, floor, "
            "refused_version, refused_code, high_water, refused_sha256 FROM updates WHERE kind = ?",
            [kind],
        ).fetchone()
        nothing = Installed(kind, 0, None, None, None, None, None, None, 0, None, None, 0, None)
        return Installed(*row) if row else nothing

    def wants(self, kind: str, version: int, sha256: str | None = None) -> bool:
        """Whether a sync should fetch this version (whose bytes have `sha256`, as listed): newer,
        not rolled back, not refused before (a version refused for its signature: those bytes)."""
        held = self.installed(kind)
        newer = version > max(held.version, held.floor) and version >= held.high_water
        refused = version == held.refused_version and held.refused_sha256 in (None, sha256)
        return kind in self._handlers and newer and not refused

    def status(self) -> dict:
        out = {}
        for kind in self._handlers:
            held = self.installed(kind)
            out[kind] = {
                "version": held.version,
                "issued_at": held.issued_at,
                "applied_at": iso_utc(held.applied_at),
                "source": held.source,
                "signed_by": self._signed_by(kind),
                "previous_version": held.previous_version,
                "refused": None
                if held.refused_version is None
                else {"version": held.refused_version, "code": held.refused_code},
            }
        return out

    def _signed_by(self, kind: str) -> str | None:
        row = self._vault.db.execute("SELECT signed_by FROM updates WHERE kind = ?", [kind]).fetchone()
        return row[0] if row else None

    def _path(self, kind: str, version: int) -> Path:
        return self.directory / f"{kind}-{version:010d}.update"

    # --- applying -----------------------------------------------------------------------------

    def apply(self, raw: bytes, *, source: str) -> dict:
        """Verify and apply one update. Raises WireError with the refusal code; the current
        version of that kind stays in force."""
        try:
            update = parse_update(raw)
        except WireError as error:
            self._audit.append("update_refused", source=source, code=error.code)
            raise
        held = self.installed(update.kind)
        if (update.version, update.sha256) == (held.version, held.sha256):  # the very bytes in force
            return {**update.describe(), "outcome": "unchanged"}
        try:
            signer = self._check(update, held)
            content = self._handlers[update.kind].prepare(READERS[update.kind](update.files))
        except ContentError as error:
            self._refuse(update, WireError("invalid_content", str(error)), source)
        except WireError as error:
            self._refuse(update, error, source)
        write_atomically(self._path(update.kind, update.version), [raw], mode=0o600)
        self._commit(update, content, source, held, previous=(held.version, held.sha256), floor=held.floor,
                     signed_by=key_id(signer))  # fmt: skip
        self._audit.append("update_applied", kind=update.kind, version=update.version, source=source)
        self._handlers[update.kind].activate(content)
        if update.kind == "config":  # it may trust other central keys: bytes refused for their signature may pass now
            with self._vault.transaction() as db:
                db.execute(
                    "UPDATE updates SET refused_version = NULL, refused_code = NULL, refused_sha256 = NULL "
                    "WHERE refused_sha256 IS NOT NULL"
                )
        self._prune(update.kind)
        return {**update.describe(), "outcome": "applied"}

    def _check(self, update: Update, held: Installed) -> ed25519.Ed25519PublicKey:
        """The checks before an update's content is read; the central key that signed it."""
        if update.kind not in self._handlers:
            raise WireError("unknown_kind", f"this terminal does not take {update.kind} updates")
        signer = update.verify(self._trusted_keys())
        if not update.addressed_to(self._terminal_id, self._county):
            raise WireError("not_addressed", f"the update is for {', '.join(update.audience)}, not this terminal")
        if held.version < update.version <= held.floor:
            raise WireError(
                "rolled_back", f"{update.kind} version {update.version} was rolled back here; send a newer one"
            )
        if update.version <= held.version:
            raise WireError(
                "stale_version", f"{update.kind} version {update.version} is not newer than {held.version} in force"
            )
        if update.version < held.high_water:  # the files in force were damaged or lost: still not older ones
            raise WireError(
                "stale_version", f"{update.kind} version {update.version} is older than {held.high_water}, held before"
            )
        return signer

    def _commit(
        self,
        update: Update,
        content: object,
        source: str,
        held: Installed,
        *,
        previous: tuple[int, str | None],
        floor: int,
        signed_by: str | None = None,
    ) -> None:
        """Record `update` in force in place of `held` (`signed_by`: the signing key's id)."""
        row = {
            "kind": update.kind,
            "version": update.version,
            "sha256": update.sha256,
            "issued_at": update.issued_at,
            "applied_at": self._clock(),
            "source": source,
            "previous_version": previous[0] or None,
            "previous_sha256": previous[1] if previous[0] else None,
            "floor": floor,
            "refused_version": None,
            "refused_code": None,
            "refused_sha256": None,
            "high_water": max(held.high_water, update.version),
            "signed_by": signed_by,
        }
        with self._vault.transaction() as db:
            self._handlers[update.kind].commit(db, content)
            db["updates"].upsert(row, pk="kind")

    def _refuse(self, update: Update, error: WireError, source: str) -> NoReturn:
        """Audit the refusal and remember it, so the sync does not fetch it again: the version, when
        a trusted central key signed it (its content or audience is wrong, whatever bytes carry
        it); else only these bytes: anyone can number a forged update N+1, and refusing the number
        would keep the genuine N+1 from ever being fetched."""
        try:
            with self._vault.transaction() as db:
                if self.installed(update.kind).version == 0:
                    db["updates"].upsert({"kind": update.kind, "version": 0, "floor": 0}, pk="kind")
                only = None if error.code in REMEMBERED_REFUSALS else update.sha256
                db.execute(
                    "UPDATE updates SET refused_version = ?, refused_code = ?, refused_sha256 = ? WHERE kind = ?",
                    [update.version, error.code, only, update.kind],
                )
                self._audit.append(
                    "update_refused", kind=update.kind, version=update.version, source=source, code=error.code
                )
        except VaultError:
            pass  # a full disk must not hide the reason the update was refused
        raise error

    def _prune(self, kind: str) -> None:
        held = self.installed(kind)
        keep = {self._path(kind, v) for v in (held.version, held.previous_version) if v}
        for path in self.directory.glob(f"{kind}-*.update"):
            if path not in keep:
                path.unlink(missing_ok=True)

    # --- at start and on request ---------------------------------------------------------------

    def _read(self, kind: str, version: int, sha256: str | None) -> tuple[Update, object] | None:
        try:
            raw = self._path(kind, version).read_bytes()
            update = parse_update(raw)
            if sha256 is not None and update.sha256 != sha256:
                return None
            return update, self._handlers[kind].prepare(READERS[kind](update.files))
        except (OSError, WireError, ContentError):
            return None

    def load(self, kind: str) -> object | None:
        """The content in force for `kind` (activated), or None if there is none. A damaged
        current file falls back to the previous version, which is then in force."""
        held = self.installed(kind)
        if held.version == 0:
            return None
        found = self._read(kind, held.version, held.sha256)
        if found is None:
            self._audit.append("update_damaged", kind=kind, version=held.version)
            previous = self._read(kind, held.previous_version, held.previous_sha256) if held.previous_version else None
            with self._vault.transaction() as db:
                if previous is None:
                    db["updates"].upsert(
                        {"kind": kind, "version": 0, "sha256": None, "previous_version": None}, pk="kind"
                    )
                    return None
                update, content = previous
                self._handlers[kind].commit(db, content)
                fallback = {"version": update.version, "sha256": update.sha256, "issued_at": update.issued_at}
                db["updates"].upsert({"kind": kind, **fallback, "previous_version": None}, pk="kind")
            found = previous
        content = found[1]
        self._handlers[kind].activate(content)
        return content

    def rollback(self, kind: str) -> dict:
        """Go back to the previous version of `kind`; the current one is refused from now on."""
        held = self.installed(kind)
        if not held.previous_version:
            raise WireError("no_previous", f"there is no earlier {kind} version on this terminal to go back to")
        found = self._read(kind, held.previous_version, held.previous_sha256)
        if found is None:
            raise WireError("no_previous", f"{kind} version {held.previous_version} is damaged or gone")
        update, content = found
        try:
            signer: str | None = key_id(update.verify(self._trusted_keys()))
        except WireError:  # signed by a key no longer trusted: it was, when it was applied
            signer = None
        self._commit(update, content, "rollback", held, previous=(0, None), floor=held.version, signed_by=signer)
        self._audit.append("update_rolled_back", kind=kind, version=update.version, from_version=held.version)
        self._handlers[kind].activate(content)
        self._prune(kind)
        return {**update.describe(), "outcome": "rolled_back", "refused_up_to": held.version}
