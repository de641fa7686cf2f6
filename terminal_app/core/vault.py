"""The terminal's local store: one SQLite file (WAL, synchronous=FULL, secure_delete) through
sqlite-utils. Every state change is one transaction. Personal data is stored only encrypted."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from sync.files import owner_only_dir, owner_only_file
from terminal_app.core.data_key import DataCipher, load_or_create_data_key

VAULT_FILE = "vault.sqlite"
KEY_FILE = "data.key"
BUSY_TIMEOUT_S = 10.0  # another connection's write transaction is waited for this long


class VaultError(Exception):
    """The vault cannot be opened or used (corrupt file, newer schema, disk full)."""


def _migration_1(db: sqlite_utils.Database) -> None:
    db["drafts"].create(
        {"session_id": str, "state": str, "updated_at": float, "nonce": bytes, "ciphertext": bytes},
        pk="session_id",
    )
    db["applications"].create(
        {
            "application_id": str,
            "session_id": str,
            "created_at": float,
            "status": str,
            "nonce": bytes,
            "ciphertext": bytes,
        },
        pk="application_id",
    )
    db["applications"].create_index(["status", "created_at"])
    db["agents"].create({"agent_id": str, "role": str, "county": str, "pin_hash": str, "active": int}, pk="agent_id")
    db["agent_failures"].create({"agent_id": str, "failures": int, "locked_until": float}, pk="agent_id")
    db["audit"].create(
        {"seq": int, "ts": float, "event": str, "actor": str, "details": str, "prev": str, "mac": str},
        pk="seq",
    )
    db["audit_head"].create({"id": int, "seq": int, "mac": str, "head_mac": str}, pk="id")


def _migration_2(db: sqlite_utils.Database) -> None:
    """Store-and-forward: submitted applications live only as sealed envelopes (which the terminal
    itself cannot open) until a signed receipt arrives; then only the receipt is kept."""
    db["outbox"].create({"seq": int, "envelope_id": str, "created_at": float, "size": int, "wire": bytes}, pk="seq")
    db["outbox"].create_index(["envelope_id"], unique=True)
    db["held"].create(
        {"envelope_id": str, "seq": int, "wire": bytes, "code": str, "message": str, "held_at": float},
        pk="envelope_id",
    )
    db["delivered"].create(
        {"envelope_id": str, "seq": int, "envelope_sha256": str, "receipt": str, "delivered_at": float},
        pk="envelope_id",
    )
    db["sync_state"].create(
        {
            "id": int,
            "last_seq": int,  # never reused, even after delivered envelopes are gone
            "last_attempt_at": float,
            "last_success_at": float,
            "last_error_at": float,
            "last_error_code": str,
            "last_error": str,
            "failures": int,  # consecutive failed attempts, for the back-off
            "enrolled_url": str,
            "enrolled_at": float,
        },
        pk="id",
    )
    db["sync_state"].insert({"id": 1, "last_seq": 0, "failures": 0})


def _migration_3(db: sqlite_utils.Database) -> None:
    """Downstream updates in force: one row per kind (config, blocklist, roster, model)."""
    db["updates"].create(
        {
            "kind": str,
            "version": int,
            "sha256": str,
            "issued_at": str,
            "applied_at": float,
            "source": str,
            "previous_version": int,
            "previous_sha256": str,
            "floor": int,  # versions up to this one were rolled back: refuse them
            "refused_version": int,
            "refused_code": str,
        },
        pk="kind",
        not_null={"version", "floor"},
        defaults={"version": 0, "floor": 0},
    )


def _migration_4(db: sqlite_utils.Database) -> None:
    """Scorings on this terminal, for the fraud score's velocity signals: keyed digests of the ID
    number and the phone, never the numbers (terminal_app.core.velocity)."""
    db["scorings"].create({"id": int, "at": float, "id_digest": str, "phone_digest": str}, pk="id")
    db["scorings"].create_index(["id_digest", "at"])
    db["scorings"].create_index(["phone_digest", "at"])


def _migration_5(db: sqlite_utils.Database) -> None:
    """Each kind of update keeps the highest version it ever had in force, apart from the version
    in force now, which falls back when a file is damaged: an older signed update never applies
    again (an old roster with a dismissed agent, an old blocklist)."""
    db.execute("ALTER TABLE updates ADD COLUMN high_water INTEGER NOT NULL DEFAULT 0")
    db.execute("UPDATE updates SET high_water = max(version, coalesce(previous_version, 0), floor)")
    # an update refused for its signature is remembered by its bytes only (see core/updates.py)
    db.execute("ALTER TABLE updates ADD COLUMN refused_sha256 TEXT")


def _migration_6(db: sqlite_utils.Database) -> None:
    """The central clock as the last sync saw it (its Date header minus ours): the guardrail on a
    clock that drifted or was set wrong."""
    db.execute("ALTER TABLE sync_state ADD COLUMN central_skew_s REAL")
    db.execute("ALTER TABLE sync_state ADD COLUMN central_skew_at REAL")


def _migration_7(db: sqlite_utils.Database) -> None:
    """Which central key signed each update in force (its key id), for the agent's console."""
    db.execute("ALTER TABLE updates ADD COLUMN signed_by TEXT")


def _migration_8(db: sqlite_utils.Database) -> None:
    """The highest head of this terminal's audit chain the central service has seen (from its
    signed update listing): a chain found shorter, or different at that record, was cut back."""
    db.execute("ALTER TABLE sync_state ADD COLUMN central_audit_seq INTEGER")
    db.execute("ALTER TABLE sync_state ADD COLUMN central_audit_mac TEXT")


# Append only: a released migration is never edited, a change is a new function.
MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
]
SCHEMA_VERSION = len(MIGRATIONS)


def _json_bytes(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _vault_error(exc: sqlite3.OperationalError) -> VaultError | None:
    """What a failed write means for the kiosk, if it is a condition it reports (None: a bug)."""
    text = str(exc).lower()
    if "full" in text:
        return VaultError(f"the terminal's disk is full; nothing was changed ({exc})")
    if "locked" in text or "busy" in text:
        return VaultError(f"the vault stayed locked by another writer for {BUSY_TIMEOUT_S:.0f} s; nothing was changed")
    return None


class Vault:
    """Open (creating on first run) the vault in `data_dir`."""

    def __init__(self, data_dir: Path | str, *, clock: Callable[[], float] = time.time):
        self.data_dir = Path(data_dir)
        owner_only_dir(self.data_dir)  # the vault, the data key and the terminal key live here
        self.key = load_or_create_data_key(self.data_dir / KEY_FILE)
        self._cipher = DataCipher(self.key)
        self._clock = clock
        path = self.data_dir / VAULT_FILE
        owner_only_file(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
            self.db = sqlite_utils.Database(conn)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA secure_delete=ON")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise VaultError(f"cannot open the vault {path}: {exc}") from exc

    def close(self) -> None:
        self.db.close()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise VaultError(
                f"the vault has schema {version}, newer than this software's {SCHEMA_VERSION}; "
                "install the newer kiosk version"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            with self.db.atomic():
                MIGRATIONS[number - 1](self.db)
                self.db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One atomic state change. It takes the write lock first (BEGIN IMMEDIATE): another
        connection's writer (the sync loop, the kiosk app) is waited for up to `BUSY_TIMEOUT_S`,
        where a deferred transaction that read first would fail at its first write. A full disk
        or a lock held past the timeout surfaces as VaultError, with nothing half-written. Nested,
        it is a savepoint of the transaction around it."""
        conn = self.db.conn
        try:
            if conn.in_transaction:
                with self.db.atomic() as db:
                    yield db
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            if (error := _vault_error(exc)) is None:
                raise
            raise error from exc

    def integrity_problems(self) -> list[str]:
        rows = [r[0] for r in self.db.execute("PRAGMA integrity_check").fetchall()]
        return [] if rows == ["ok"] else rows

    # --- encrypted rows ---------------------------------------------------------------

    def _seal(self, table: str, key: str, payload: dict) -> tuple[bytes, bytes]:
        return self._cipher.encrypt(_json_bytes(payload), f"{table}/{key}".encode())

    def _open(self, table: str, key: str, nonce: bytes, ciphertext: bytes) -> dict:
        return json.loads(self._cipher.decrypt(nonce, ciphertext, f"{table}/{key}".encode()))

    # --- drafts: the application in progress --------------------------------------------

    def save_draft(self, session_id: str, state: str, payload: dict) -> None:
        nonce, ciphertext = self._seal("drafts", session_id, payload)
        with self.transaction() as db:
            db["drafts"].upsert(
                {
                    "session_id": session_id,
                    "state": state,
                    "updated_at": self._clock(),
                    "nonce": nonce,
                    "ciphertext": ciphertext,
                },
                pk="session_id",
            )

    def load_draft(self, session_id: str) -> tuple[str, dict] | None:
        rows = list(self.db["drafts"].rows_where("session_id = ?", [session_id]))
        if not rows:
            return None
        row = rows[0]
        return row["state"], self._open("drafts", session_id, row["nonce"], row["ciphertext"])

    def wipe_draft(self, session_id: str) -> bool:
        with self.transaction() as db:
            cursor = db.execute("DELETE FROM drafts WHERE session_id = ?", [session_id])
        return cursor.rowcount > 0

    def draft_ids(self) -> list[str]:
        return [r["session_id"] for r in self.db["drafts"].rows]

    # --- schema-1 applications (encrypted, not sealed); Outbox.adopt_legacy_applications moves them

    def load_application(self, application_id: str) -> dict:
        row = self.db["applications"].get(application_id)
        return self._open("applications", application_id, row["nonce"], row["ciphertext"])
