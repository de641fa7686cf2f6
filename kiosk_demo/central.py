"""The demo's central side, on this machine: fresh keys, the sync service as its own process on
loopback with the embedded SQLite store, and the back office's tools (enrollment codes, signed
roster and blocklist updates, opening the delivered envelopes). Everything lives under one
directory so a `--keep` run can be looked at, and a killed run picked up again."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

from kiosk_config.loader import config_for_central
from sync.central.backoffice import ExportReport, export_to_file
from sync.central.blocklist import make_blocklist_files
from sync.central.process import CentralProcess
from sync.central.store import CentralStore
from sync.central.terminals import TerminalRegistry
from sync.central.updates import UpdateService
from sync.keys import load_private_key, private_pem, public_b64, write_private_file


class LocalCentral:
    """`root`/keys (opening and signing keys, 0600), `root`/central.sqlite, the service's log."""

    def __init__(self, root: Path, log: Path):
        self.root = root
        self.db = str(root / "central.sqlite")
        self.opening_key_file = root / "keys" / "opening_key.pem"
        self.signing_key_file = root / "keys" / "signing_key.pem"
        self.log = log
        self.process: CentralProcess | None = None
        if not self.signing_key_file.exists():
            (root / "keys").mkdir(parents=True, exist_ok=True, mode=0o700)
            write_private_file(self.opening_key_file, private_pem(x25519.X25519PrivateKey.generate()))
            write_private_file(self.signing_key_file, private_pem(ed25519.Ed25519PrivateKey.generate()))
        signing = load_private_key(self.signing_key_file, ed25519.Ed25519PrivateKey)
        assert isinstance(signing, ed25519.Ed25519PrivateKey)
        self._signing = signing

    @property
    def url(self) -> str:
        assert self.process is not None, "the service is not running"
        return self.process.url

    def start(self) -> LocalCentral:
        self.process = CentralProcess(self.db, self.signing_key_file, log=self.log).start()
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def terminal_config(self) -> str:
        """The kiosk's config: the embedded defaults with this service's URL and public keys."""
        opening = load_private_key(self.opening_key_file, x25519.X25519PrivateKey)
        return config_for_central(self.url + "/", public_b64(opening), [public_b64(self._signing)])

    def _store(self) -> CentralStore:
        return CentralStore(self.db)

    def enrollment_code(self, terminal_id: str) -> str:
        store = self._store()
        try:
            return TerminalRegistry(store).issue_code(terminal_id, valid_hours=1)
        finally:
            store.close()

    def publish(self, kind: str, files: dict[str, bytes]) -> int:
        """Sign and publish an update for every terminal; returns its version."""
        store = self._store()
        try:
            published, _ = UpdateService(store, self._signing).publish(kind, files, ["*"])
        finally:
            store.close()
        return published.version

    def publish_roster(self, agents: list[dict]) -> int:
        return self.publish("roster", {"roster.json": json.dumps({"agents": agents}).encode()})

    def publish_blocklist(self, id_numbers: list[str], phones: list[str]) -> int:
        return self.publish("blocklist", make_blocklist_files(id_numbers, phones))

    def open_delivered(self, out: Path) -> ExportReport:
        """The back office step, apart from the service: open every envelope not yet exported
        with the opening key and append the applications to `out` (0600)."""
        opening = load_private_key(self.opening_key_file, x25519.X25519PrivateKey)
        assert isinstance(opening, x25519.X25519PrivateKey)
        out.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        store = self._store()
        try:
            return export_to_file(store, opening, out)
        finally:
            store.close()

    def stored_envelopes(self) -> int:
        store = self._store()
        try:
            return sum(store.envelope_count(t.terminal_id) for t in store.all_terminals())
        finally:
            store.close()
