"""Field agents: an offline roster (from a signed central bundle), PINs hashed with scrypt,
lockout after repeated failures, and the two roles."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

import sqlite_utils
from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from kiosk_config.schema import Agents as AgentPolicy
from terminal_app.core.audit import AuditLog
from terminal_app.core.data_key import derive_subkey
from terminal_app.core.reasons import Reason, ReasonError
from terminal_app.core.vault import Vault

# scrypt N=2^15, r=8: 32 MiB of memory per guess, about 0.1 s on a 2-core terminal.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
PIN_LENGTHS = range(6, 9)


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Agent:
    agent_id: str
    role: Role
    county: str
    pin_hash: str
    active: bool = True


@dataclass(frozen=True)
class AgentSession:
    agent_id: str
    role: Role
    county: str
    started_at: float
    expires_at: float


def _check_pin_format(pin: str) -> None:
    if not pin.isdigit() or len(pin) not in PIN_LENGTHS:
        raise LoginError(Reason("pin_format"))


def hash_pin(pin: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """`scrypt$N$r$p$salt$hash` (base64), the form the roster carries."""
    _check_pin_format(pin)
    salt = secrets.token_bytes(16)
    digest = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(pin.encode())
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def verify_pin(pin: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        kdf = Scrypt(salt=base64.b64decode(salt), length=32, n=int(n), r=int(r), p=int(p))
        kdf.verify(pin.encode(), base64.b64decode(digest))
    except (InvalidKey, ValueError):
        return False
    return True


# Checked against an unknown agent id, so that a wrong id costs as much time as a wrong PIN.
_DUMMY_HASH = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$AAAAAAAAAAAAAAAAAAAAAA==$" + "A" * 43 + "="


class LoginError(ReasonError):
    pass


WRONG_CREDENTIALS = Reason("wrong_credentials")


class AgentDirectory:
    """The roster held in the vault and the login rules over it."""

    def __init__(self, vault: Vault, policy: AgentPolicy, audit: AuditLog, *, clock: Callable[[], float] = time.time):
        self._vault = vault
        self.policy = policy
        self._audit = audit
        self._clock = clock
        self._actor_key = derive_subkey(vault.key, b"county-terminal/agent-actor/v1")

    def replace_roster(self, agents: Iterable[Agent]) -> int:
        """Swap in a whole roster atomically, in its own transaction."""
        with self._vault.transaction() as db:
            return self.write_roster(db, agents)

    def write_roster(self, db: sqlite_utils.Database, agents: Iterable[Agent]) -> int:
        """Swap in a whole roster inside the caller's transaction (a signed roster update)."""
        rows = [
            {
                "agent_id": a.agent_id,
                "role": str(Role(a.role)),
                "county": a.county,
                "pin_hash": a.pin_hash,
                "active": int(a.active),
            }
            for a in agents
        ]
        db.execute("DELETE FROM agents")
        db["agents"].insert_all(rows, pk="agent_id")
        self._audit.append("roster_replaced", agents=len(rows))
        return len(rows)

    def get(self, agent_id: str) -> Agent | None:
        row = self._vault.db.execute(
            "SELECT agent_id, role, county, pin_hash, active FROM agents WHERE agent_id = ?", [agent_id]
        ).fetchone()
        return Agent(row[0], Role(row[1]), row[2], row[3], bool(row[4])) if row else None

    def roster(self) -> list[Agent]:
        return [
            Agent(r["agent_id"], Role(r["role"]), r["county"], r["pin_hash"], bool(r["active"]))
            for r in self._vault.db["agents"].rows_where(order_by="agent_id")
        ]

    def _failures(self, actor: str) -> tuple[int, float]:
        row = self._vault.db.execute(
            "SELECT failures, locked_until FROM agent_failures WHERE agent_id = ?", [actor]
        ).fetchone()
        return (row[0], row[1]) if row else (0, 0.0)

    def id_for_number(self, number: str) -> str:
        """The roster's agent id that an agent number typed on a keypad stands for (the id's
        digits: "0001" for "A-0001"), when exactly one has them; else `number` as typed, which
        then fails as any unknown id does."""
        matches = [a.agent_id for a in self.roster() if number and re.sub(r"\D", "", a.agent_id) == number]
        return matches[0] if len(matches) == 1 else number

    def sign(self, session: AgentSession, pin: str) -> None:
        """The logged-in agent signs an act with their PIN (the no-face path), checked as a login
        is: the try counted, a lock after too many. LoginError if wrong, locked, or the agent's
        session has ended."""
        if self._clock() >= session.expires_at:
            raise LoginError(Reason("agent_session_ended"))
        self.login(session.agent_id, pin, event="agent_signed")

    def login(self, agent_id: str, pin: str, *, event: str = "login") -> AgentSession:
        """Check the PIN offline. Raises LoginError with a reason a person can act on.

        The try is counted as a failure, in one write transaction, before the PIN is checked, and
        cleared if it was right: tries made at once (two processes, a script) each take their own
        count, and a try counted beyond the limit locks the agent without its PIN being checked,
        so no more than `lockout_after` PINs are ever checked between two locks."""
        now = self._clock()
        actor = _actor(agent_id, self._actor_key)
        with self._vault.transaction():
            failures, locked_until = self._failures(actor)
            if locked_until <= now:
                _check_pin_format(pin)
                failures += 1
                if failures > self.policy.lockout_after:  # others' tries used the allowance meanwhile
                    locked_until = self._lock_out(actor, now)
                else:
                    self._set_failures(actor, failures, 0.0)
        if locked_until > now:
            self._audit.append("login_refused_locked", actor="kiosk")
            raise LoginError(Reason("locked", minutes=max(1, round((locked_until - now) / 60))))
        agent = self.get(agent_id)
        good = verify_pin(pin, agent.pin_hash if agent else _DUMMY_HASH)
        if agent is not None and good:
            with self._vault.transaction() as db:
                db.execute("DELETE FROM agent_failures WHERE agent_id = ?", [actor])
                self._audit.append(event if agent.active else "login_refused_inactive", actor=actor,
                                   **({"role": str(agent.role)} if agent.active else {}))  # fmt: skip
            if not agent.active:
                raise LoginError(Reason("inactive"))
            return AgentSession(agent.agent_id, agent.role, agent.county, now, now + self.policy.session_minutes * 60)
        locked = failures >= self.policy.lockout_after
        with self._vault.transaction():
            if locked:
                self._lock_out(actor, now)
            self._audit.append("login_failed", actor=actor, locked=locked)
        if locked:
            raise LoginError(Reason("locked", minutes=self.policy.lockout_minutes))
        left = self.policy.lockout_after - failures
        raise LoginError(Reason(WRONG_CREDENTIALS.code, key="wrong_credentials_left", left=left))

    def _lock_out(self, actor: str, now: float) -> float:
        """Lock the agent out for the configured time (inside the caller's transaction); until when."""
        locked_until = now + self.policy.lockout_minutes * 60
        self._set_failures(actor, 0, locked_until)
        return locked_until

    def _set_failures(self, actor: str, failures: int, locked_until: float) -> None:
        self._vault.db["agent_failures"].upsert(
            {"agent_id": actor, "failures": failures, "locked_until": locked_until}, pk="agent_id"
        )


def agent_actor(session: AgentSession) -> str:
    """How a logged-in agent is named in the audit log."""
    return f"agent:{session.agent_id}"


def _actor(agent_id: str, key: bytes) -> str:
    """How an agent id is logged and keyed: as given when it looks like an agent id, else as a
    keyed digest (someone may type an ID number or a name into the agent id field)."""
    if re.fullmatch(r"[A-Za-z0-9-]{1,32}", agent_id) and not re.search(r"\d{11,}", agent_id):
        return f"agent:{agent_id}"
    digest = hmac.new(key, agent_id.encode(), hashlib.sha256).digest()[:8]
    # in letters a-p, one a half-byte: hex could hold a run of 11 digits, which the audit log refuses
    return "agent:unlisted-" + "".join(chr(97 + (b >> 4)) + chr(97 + (b & 15)) for b in digest)
