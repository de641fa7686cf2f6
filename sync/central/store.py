"""The central store: enrolled terminals, one-time enrollment codes and the envelopes as received.

SQLAlchemy Core, so one set of statements runs on SQLite (a file path: the default, one node)
and PostgreSQL (`postgresql://...`: production). Envelopes are stored byte for byte as they
arrived, with the receipt that was returned for them; a re-send gets the same receipt, signed again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sync.files import owner_only_file

metadata = sa.MetaData()

terminals = sa.Table(
    "terminals",
    metadata,
    sa.Column("terminal_id", sa.String(16), primary_key=True),
    sa.Column("county", sa.String(6), nullable=False),
    sa.Column("public_key", sa.String(44)),  # base64 Ed25519, set at enrollment
    sa.Column("status", sa.String(8), nullable=False),  # pending | active | revoked
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("enrolled_at", sa.String(32)),
    sa.Column("revoked_at", sa.String(32)),
    sa.Column("last_seq", sa.BigInteger, nullable=False, default=0),
    sa.Column("missing_seqs", sa.BigInteger, nullable=False, default=0),  # gaps seen in the sequence
    sa.Column("last_seen_at", sa.String(32)),
)

enrollment_codes = sa.Table(
    "enrollment_codes",
    metadata,
    sa.Column("code_sha256", sa.String(64), primary_key=True),  # the code itself is never stored
    sa.Column("terminal_id", sa.String(16), sa.ForeignKey("terminals.terminal_id"), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=False),
    sa.Column("used_at", sa.String(32)),
)

envelopes = sa.Table(
    "envelopes",
    metadata,
    sa.Column("envelope_id", sa.String(36), primary_key=True),
    sa.Column("terminal_id", sa.String(16), sa.ForeignKey("terminals.terminal_id"), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("county", sa.String(6), nullable=False),
    sa.Column("schema", sa.String(40), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("wire", sa.LargeBinary, nullable=False),
    sa.Column("stored_at", sa.String(32), nullable=False),
    sa.Column("receipt_sig", sa.LargeBinary, nullable=False),
    sa.Column("via", sa.String(8), nullable=False),  # http | bundle
    sa.Column("exported_at", sa.String(32)),
    sa.UniqueConstraint("terminal_id", "seq", name="envelopes_terminal_seq"),
)

refused_envelopes = sa.Table(  # stored, signed, opened by the back office: and what was sealed is unusable
    "refused_envelopes",
    metadata,
    sa.Column("envelope_id", sa.String(36), sa.ForeignKey("envelopes.envelope_id"), primary_key=True),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("refused_at", sa.String(32), nullable=False),
)

request_nonces = sa.Table(  # the nonces of signed requests seen within the time window: a replay is refused
    "request_nonces",
    metadata,
    sa.Column("terminal_id", sa.String(16), primary_key=True),
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("seen_at", sa.BigInteger, nullable=False),  # unix seconds
)

audit_heads = sa.Table(  # the highest audit chain head each terminal reported: a chain cut short shows
    "audit_heads",
    metadata,
    sa.Column("terminal_id", sa.String(16), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("mac", sa.String(64), nullable=False),
    sa.Column("seen_at", sa.String(32), nullable=False),
)

updates = sa.Table(
    "updates",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True),  # grows per kind, across audiences
    sa.Column("audience", sa.String(4000), nullable=False),  # JSON list: "*", county codes, terminal ids
    sa.Column("issued_at", sa.String(32), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),  # the signed update, byte for byte
)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def engine_url(db: str) -> str:
    """A file path means SQLite; `postgresql://` URLs use psycopg 3."""
    if db.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    if "://" in db:
        return db
    return f"sqlite:///{db}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@dataclass(frozen=True)
class Terminal:
    terminal_id: str
    county: str
    public_key: str | None
    status: str
    last_seq: int
    missing_seqs: int
    enrolled_at: str | None
    revoked_at: str | None
    last_seen_at: str | None


@dataclass(frozen=True)
class EnrollmentCode:
    terminal_id: str
    expires_at: str
    used_at: str | None


@dataclass(frozen=True)
class StoredEnvelope:
    """An envelope as stored, with the receipt it was given (every re-send gets the same one)."""

    seq: int
    sha256: str
    stored_at: str
    receipt_sig: bytes


@dataclass(frozen=True)
class Published:
    """A published downstream update, without its bytes."""

    kind: str
    version: int
    audience: tuple[str, ...]
    issued_at: str
    sha256: str
    size: int

    def as_dict(self) -> dict:
        return {**self.__dict__, "audience": list(self.audience)}


class CentralStore:
    """The store's tables and every query on them: the services above run no SQL of their own."""

    def __init__(self, db: str):
        self.url = engine_url(db)
        if self.url.startswith("sqlite:///"):
            owner_only_file(Path(self.url.removeprefix("sqlite:///")))
        self.engine: Engine = sa.create_engine(self.url, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # --- terminals ----------------------------------------------------------------------

    def terminal(self, terminal_id: str, conn: Connection | None = None) -> Terminal | None:
        query = sa.select(*[terminals.c[f] for f in Terminal.__dataclass_fields__]).where(
            terminals.c.terminal_id == terminal_id
        )
        if conn is None:
            with self.engine.connect() as own:
                row = own.execute(query).first()
        else:
            row = conn.execute(query).first()
        return Terminal(**row._mapping) if row else None

    def lock_terminal(self, conn: Connection, terminal_id: str) -> Terminal | None:
        """Take the terminal's row lock (PostgreSQL) or the write lock (SQLite) for this
        transaction, so two batches from one terminal are checked one after the other."""
        conn.execute(sa.update(terminals).where(terminals.c.terminal_id == terminal_id).values(last_seen_at=now_iso()))
        return self.terminal(terminal_id, conn)

    def add_pending_terminal(self, conn: Connection, terminal_id: str, county: str) -> None:
        conn.execute(
            sa.insert(terminals).values(
                terminal_id=terminal_id, county=county, status="pending", created_at=now_iso(), last_seq=0,
                missing_seqs=0,
            )
        )  # fmt: skip

    def activate_terminal(self, conn: Connection, terminal_id: str, public_key: str, enrolled_at: str) -> None:
        conn.execute(
            sa.update(terminals)
            .where(terminals.c.terminal_id == terminal_id)
            .values(public_key=public_key, status="active", enrolled_at=enrolled_at)
        )

    def revoke_terminal(self, conn: Connection, terminal_id: str) -> None:
        query = sa.update(terminals).where(terminals.c.terminal_id == terminal_id)
        conn.execute(query.values(status="revoked", revoked_at=now_iso()))

    def advance_terminal(self, conn: Connection, terminal_id: str, last_seq: int, missing_seqs: int) -> None:
        """The terminal's highest stored sequence number and the gaps seen below it."""
        conn.execute(
            sa.update(terminals)
            .where(terminals.c.terminal_id == terminal_id)
            .values(last_seq=last_seq, missing_seqs=missing_seqs)
        )

    # --- enrollment codes (stored only as their SHA-256) -----------------------------------------

    def remember_nonce(self, terminal_id: str, nonce: str, now: int, keep_s: int) -> bool:
        """Record a signed request's nonce; False if this terminal used it before (a replay).
        Nonces older than `keep_s` are forgotten: their requests' time is refused anyway."""
        with self.begin() as conn:
            conn.execute(
                request_nonces.delete().where(
                    request_nonces.c.terminal_id == terminal_id, request_nonces.c.seen_at < now - keep_s
                )
            )
            try:
                with conn.begin_nested():
                    conn.execute(request_nonces.insert().values(terminal_id=terminal_id, nonce=nonce, seen_at=now))
            except sa.exc.IntegrityError:
                return False
        return True

    def note_audit_head(self, terminal_id: str, head: tuple[int, str] | None) -> tuple[int, str] | None:
        """Keep `head` if it is past the one kept (never go back); the one kept after."""
        with self.begin() as conn:
            row = conn.execute(
                sa.select(audit_heads.c.seq, audit_heads.c.mac).where(audit_heads.c.terminal_id == terminal_id)
            ).first()
            kept = (int(row[0]), row[1]) if row else None
            if head is not None and (kept is None or head[0] > kept[0]):
                values = {"seq": head[0], "mac": head[1], "seen_at": now_iso()}
                if kept is None:
                    conn.execute(audit_heads.insert().values(terminal_id=terminal_id, **values))
                else:
                    conn.execute(audit_heads.update().where(audit_heads.c.terminal_id == terminal_id).values(**values))
                kept = head
        return kept

    def add_enrollment_code(self, conn: Connection, code_sha256: str, terminal_id: str, expires_at: str) -> None:
        conn.execute(
            sa.insert(enrollment_codes).values(
                code_sha256=code_sha256, terminal_id=terminal_id, created_at=now_iso(), expires_at=expires_at
            )
        )

    def enrollment_codes_for(self, conn: Connection, terminal_id: str) -> dict[str, EnrollmentCode]:
        """Every code issued for `terminal_id`, by its SHA-256."""
        query = sa.select(
            enrollment_codes.c.code_sha256,
            enrollment_codes.c.terminal_id,
            enrollment_codes.c.expires_at,
            enrollment_codes.c.used_at,
        ).where(enrollment_codes.c.terminal_id == terminal_id)
        rows = conn.execute(query)
        return {row.code_sha256: EnrollmentCode(row.terminal_id, row.expires_at, row.used_at) for row in rows}

    def use_enrollment_code(self, conn: Connection, code_sha256: str, used_at: str) -> None:
        conn.execute(
            sa.update(enrollment_codes).where(enrollment_codes.c.code_sha256 == code_sha256).values(used_at=used_at)
        )

    # --- envelopes ---------------------------------------------------------------------------------

    def stored_envelopes(self, conn: Connection, envelope_ids: list[str]) -> dict[str, StoredEnvelope]:
        """Those of `envelope_ids` already stored, with the receipt each was given."""
        query = sa.select(
            envelopes.c.envelope_id, envelopes.c.seq, envelopes.c.sha256, envelopes.c.stored_at, envelopes.c.receipt_sig
        ).where(envelopes.c.envelope_id.in_(envelope_ids))
        return {
            row.envelope_id: StoredEnvelope(row.seq, row.sha256, row.stored_at, bytes(row.receipt_sig))
            for row in conn.execute(query)
        }

    def seq_taken(self, conn: Connection, terminal_id: str, seq: int) -> bool:
        query = sa.select(envelopes.c.envelope_id).where(envelopes.c.terminal_id == terminal_id, envelopes.c.seq == seq)
        return conn.execute(query).first() is not None

    def add_envelopes(self, conn: Connection, rows: list[dict]) -> None:
        """Store a batch's new envelopes in one round trip (rows: the `envelopes` table's columns)."""
        if rows:
            conn.execute(sa.insert(envelopes), rows)

    # --- downstream updates -------------------------------------------------------------------

    def latest_update_version(self, conn: Connection, kind: str) -> int:
        return conn.execute(sa.select(sa.func.max(updates.c.version)).where(updates.c.kind == kind)).scalar_one() or 0

    def add_update(self, conn: Connection, published: Published, body: bytes) -> None:
        """Store a signed update; IntegrityError if its version of its kind was taken meanwhile."""
        row = published.as_dict() | {"audience": json.dumps(list(published.audience)), "body": body}
        conn.execute(sa.insert(updates).values(**row))

    def published_updates(self) -> list[Published]:
        """Every published update, by kind, oldest first."""
        columns = [updates.c[c] for c in ("kind", "version", "audience", "issued_at", "sha256", "size")]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*columns).order_by(updates.c.kind, updates.c.version))
            return [
                Published(row.kind, row.version, tuple(json.loads(row.audience)), row.issued_at, row.sha256, row.size)
                for row in rows
            ]

    def update_body(self, kind: str, version: int) -> tuple[tuple[str, ...], bytes] | None:
        """An update's audience and signed bytes, or None."""
        with self.engine.connect() as conn:
            query = sa.select(updates.c.audience, updates.c.body)
            row = conn.execute(query.where(updates.c.kind == kind, updates.c.version == version)).first()
        return (tuple(json.loads(row.audience)), bytes(row.body)) if row else None

    def unexported_envelopes(self) -> list:
        """Envelopes the back office has not exported yet (envelope_id, terminal_id, wire, stored_at),
        by terminal and sequence."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(envelopes.c.envelope_id, envelopes.c.terminal_id, envelopes.c.wire, envelopes.c.stored_at)
                .where(envelopes.c.exported_at.is_(None))
                .where(envelopes.c.envelope_id.not_in(sa.select(refused_envelopes.c.envelope_id)))
                .order_by(envelopes.c.terminal_id, envelopes.c.seq)
            ).all()

    def refuse_envelope(self, envelope_id: str, code: str) -> None:
        with self.begin() as conn:
            conn.execute(sa.insert(refused_envelopes).values(envelope_id=envelope_id, code=code, refused_at=now_iso()))

    def mark_exported(self, envelope_id: str) -> None:
        with self.begin() as conn:
            query = sa.update(envelopes).where(envelopes.c.envelope_id == envelope_id)
            conn.execute(query.values(exported_at=now_iso()))

    def all_terminals(self) -> list[Terminal]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(*[terminals.c[f] for f in Terminal.__dataclass_fields__]).order_by(terminals.c.terminal_id)
            )
            return [Terminal(**row._mapping) for row in rows]

    def envelope_count(self, terminal_id: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(envelopes)
        if terminal_id:
            query = query.where(envelopes.c.terminal_id == terminal_id)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def stored_wires(self) -> dict[str, bytes]:
        """Every stored envelope's bytes by envelope id (for checks and tests)."""
        with self.engine.connect() as conn:
            return {
                row.envelope_id: bytes(row.wire)
                for row in conn.execute(sa.select(envelopes.c.envelope_id, envelopes.c.wire))
            }
