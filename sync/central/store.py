"""The central store: enrolled terminals, one-time enrollment codes and the envelopes as received.

SQLAlchemy Core, so one set of statements runs on SQLite (a file path: the default, one node)
and PostgreSQL (`postgresql://...`: production). Envelopes are stored byte for byte as they
arrived, with the receipt that was returned for them, so a re-send gets the same receipt.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

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


class CentralStore:
    def __init__(self, db: str):
        self.url = engine_url(db)
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
