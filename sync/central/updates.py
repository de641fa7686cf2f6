"""Publishing downstream updates (config, blocklist, agent roster, model) at the central side and
handing each terminal the latest one of each kind addressed to it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy.exc import IntegrityError

from kiosk_config.updates import READERS, ContentError
from sync.central.ingest import CentralError
from sync.central.store import CentralStore, Terminal, updates
from sync.update import KINDS, build_update, parse_update


@dataclass(frozen=True)
class Published:
    kind: str
    version: int
    audience: tuple[str, ...]
    issued_at: str
    sha256: str
    size: int

    def as_dict(self) -> dict:
        return {**self.__dict__, "audience": list(self.audience)}


def _published(row) -> Published:
    return Published(row.kind, row.version, tuple(json.loads(row.audience)), row.issued_at, row.sha256, row.size)


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
        for _ in range(3):  # two publishers at once: the loser takes the next number
            with self.store.begin() as conn:
                latest = conn.execute(sa.select(sa.func.max(updates.c.version)).where(updates.c.kind == kind))
                version = (latest.scalar_one() or 0) + 1
                body = build_update(kind, version, files, self.signing_key, audience=audience)
                update = parse_update(body)
                row = {
                    "kind": kind,
                    "version": version,
                    "audience": json.dumps(list(update.audience)),
                    "issued_at": update.issued_at,
                    "sha256": update.sha256,
                    "size": len(body),
                    "body": body,
                }
                try:
                    conn.execute(sa.insert(updates).values(**row))
                except IntegrityError:
                    continue
            published = Published(kind, version, update.audience, update.issued_at, update.sha256, len(body))
            return published, body
        raise CentralError("busy", f"could not number the {kind} update; try again", 409)

    def all_published(self) -> list[Published]:
        columns = [updates.c[c] for c in ("kind", "version", "audience", "issued_at", "sha256", "size")]
        with self.store.engine.connect() as conn:
            rows = conn.execute(sa.select(*columns).order_by(updates.c.kind, updates.c.version))
            return [_published(row) for row in rows]

    def latest_for(self, terminal: Terminal) -> list[Published]:
        """The newest update of each kind whose audience takes in this terminal."""
        latest: dict[str, Published] = {}
        for item in self.all_published():
            if {"*", terminal.terminal_id, terminal.county} & set(item.audience):
                latest[item.kind] = item  # rows come oldest first
        return [latest[kind] for kind in KINDS if kind in latest]

    def body_for(self, terminal: Terminal, kind: str, version: int) -> bytes:
        with self.store.engine.connect() as conn:
            query = sa.select(updates.c.audience, updates.c.body)
            row = conn.execute(query.where(updates.c.kind == kind, updates.c.version == version)).first()
        if row is None or not {"*", terminal.terminal_id, terminal.county} & set(json.loads(row.audience)):
            raise CentralError("not_found", f"no {kind} update version {version} for {terminal.terminal_id}", 404)
        return bytes(row.body)
