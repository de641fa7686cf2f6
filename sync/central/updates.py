"""Publishing downstream updates (config, blocklist, agent roster, model) at the central side and
handing each terminal the latest one of each kind addressed to it."""

from __future__ import annotations

import random
import time

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy.exc import IntegrityError

from kiosk_config.updates import READERS, ContentError
from sync.central.errors import CentralError
from sync.central.store import CentralStore, Published, Terminal
from sync.update import KINDS, build_update, parse_update

PUBLISH_TRIES = 50  # publishers at once each take the next free number; a loser tries again


class UpdateService:
    def __init__(self, store: CentralStore, signing_key: ed25519.Ed25519PrivateKey | None = None):
        self.store = store
        self.signing_key = signing_key

    def publish(self, kind: str, files: dict[str, bytes], audience: list[str]) -> tuple[Published, bytes]:
        """Check the content as a terminal would, sign it as the next version of `kind`, store it.
        Returns what was published and the signed bytes (for a USB stick)."""
        if kind not in KINDS:
            raise CentralError("unknown_kind", f"kind must be one of {', '.join(KINDS)}")
        if self.signing_key is None:
            raise RuntimeError("publishing needs the central signing key")
        try:
            READERS[kind](files)
        except ContentError as error:
            raise CentralError("invalid_content", str(error)) from None
        for attempt in range(PUBLISH_TRIES):  # publishers at once: a loser rolls back and takes the next number
            try:
                with self.store.begin() as conn:
                    version = self.store.latest_update_version(conn, kind) + 1
                    body = build_update(kind, version, files, self.signing_key, audience=audience)
                    update = parse_update(body)
                    published = Published(kind, version, update.audience, update.issued_at, update.sha256, len(body))
                    self.store.add_update(conn, published, body)
            except IntegrityError:  # the transaction is rolled back whole (PostgreSQL refuses a failed one)
                time.sleep(random.uniform(0, 0.01 * (attempt + 1)))
                continue
            return published, body
        raise CentralError("busy", f"could not number the {kind} update; try again", 409)

    def all_published(self) -> list[Published]:
        return self.store.published_updates()

    def latest_for(self, terminal: Terminal) -> list[Published]:
        """The newest update of each kind whose audience takes in this terminal."""
        latest: dict[str, Published] = {}
        for item in self.all_published():
            if {"*", terminal.terminal_id, terminal.county} & set(item.audience):
                latest[item.kind] = item  # rows come oldest first
        return [latest[kind] for kind in KINDS if kind in latest]

    def body_for(self, terminal: Terminal, kind: str, version: int) -> bytes:
        found = self.store.update_body(kind, version)
        if found is None or not {"*", terminal.terminal_id, terminal.county} & set(found[0]):
            raise CentralError("not_found", f"no {kind} update version {version} for {terminal.terminal_id}", 404)
        return found[1]
