"""The terminal's sync client (requests): enrollment, and draining the outbox to the central
service — oldest first, in batches, deleting an envelope only for a valid signed receipt.

Interrupting it anywhere is safe: an envelope leaves the outbox only in the transaction that
records its receipt, and a re-sent envelope gets its first receipt again (signed by the key in
use). Failed attempts back off exponentially with full jitter, so a county's terminals coming
back online together do not arrive in step.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path

import requests
from cryptography.hazmat.primitives.asymmetric import ed25519

from county_common.canonical_json import loads
from sync import enrollment
from sync.envelope import (
    Receipt,
    WireError,
    listing_bytes,
    new_nonce,
    parse,
    terminal_request_bytes,
    verify,
)
from sync.keys import signer
from sync.update import MAX_UPDATE_BYTES
from terminal_app.core.outbox import Outbox, QueuedEnvelope
from terminal_app.core.updates import UpdateStore

NDJSON = "application/x-ndjson"
# The central service refuses these envelopes for good: set them aside (kept), go on with the rest.
HOLD_CODES = frozenset(
    {
        "malformed",
        "unsupported_version",
        "bad_signature",
        "oversize",
        "id_conflict",
        "county_mismatch",
        "sequence_reused",
        "sequence_out_of_order",
    }
)
USER_AGENT = "county-terminal-sync/1"
LINK_DOWN = frozenset({"unreachable", "timeout", "connection_lost"})  # nothing more can be asked this pass


def backoff_delay(failures: int, rng: random.Random, *, base: float = 2.0, cap: float = 900.0) -> float:
    """Full-jitter exponential back-off: uniform in [0, min(cap, base * 2^failures)]."""
    return rng.uniform(0, min(cap, base * 2 ** min(failures, 30)))


@dataclass
class SyncReport:
    sent: int = 0
    stored: int = 0
    duplicates: int = 0
    held: list[tuple[str, str]] = field(default_factory=list)  # (envelope_id, code)
    remaining: int = 0
    updates: list[dict] = field(default_factory=list)  # downstream updates applied or refused
    error: WireError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "sent": self.sent,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "held": [{"envelope_id": e, "code": c} for e, c in self.held],
            "remaining": self.remaining,
            "updates": self.updates,
            "error": None if self.error is None else {"code": self.error.code, "message": self.error.message},
        }


class SyncBusy(Exception):
    """Another sync of this terminal is running (the background loop, say)."""


class SyncClient:
    def __init__(
        self,
        outbox: Outbox,
        server: str,
        central_keys: list[ed25519.Ed25519PublicKey] | Callable[[], list[ed25519.Ed25519PublicKey]],
        *,
        lock_path: Path,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 60.0),
        batch_size: int = 64,
        batch_bytes: int = 8 << 20,
        updates: UpdateStore | None = None,
        audit_head: Callable[[], tuple[int, str] | None] | None = None,
    ):
        self.outbox = outbox
        self.server = server.rstrip("/")
        self._central_keys = central_keys  # a callable: the keys in force, which a config update may change
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.timeout = timeout
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self._lock_path = lock_path
        self.updates = updates
        self._clock_offset = 0.0  # the central clock minus ours, learnt from a clock_skew answer
        self.central_skew_s: float | None = None  # the central clock minus ours, from its last answer's Date
        self.audit_head = audit_head  # this terminal's audit chain head, reported with each listing request
        self._last_nonce: str | None = None

    @property
    def central_keys(self) -> list[ed25519.Ed25519PublicKey]:
        keys = self._central_keys
        return keys() if callable(keys) else keys

    @central_keys.setter
    def central_keys(self, keys: list[ed25519.Ed25519PublicKey]) -> None:
        self._central_keys = keys

    def sync_once(self) -> SyncReport:
        """Send batches until the outbox is empty or something fails, then take the updates, even
        after a failed batch unless the link is down: a receipt signed by a central key this
        terminal does not trust yet is how a key rotation looks, and the config update that
        brings the new key is the way out (the outbox is drained once more after it)."""
        with open(self._lock_path, "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SyncBusy("another sync of this terminal is running") from None
            report = SyncReport()
            report.error = self._drain(report)
            if self.updates is not None and (report.error is None or report.error.code not in LINK_DOWN):
                try:
                    self._pull_updates(self.updates, report)
                except WireError as error:
                    report.error = report.error or error
                applied = any(u.get("kind") == "config" and u.get("outcome") == "applied" for u in report.updates)
                if report.error is not None and report.error.code == "bad_receipt" and applied:
                    report.error = self._drain(report)  # with the keys the config update brought
            report.remaining = self.outbox.status()["queued"]
            self.outbox.record_attempt(report.error, central_skew_s=self.central_skew_s)
            return report

    def _drain(self, report: SyncReport) -> WireError | None:
        try:
            while batch := self.outbox.pending(limit=self.batch_size, max_bytes=self.batch_bytes):
                self._send(batch, report)
        except WireError as error:
            return error
        return None

    def _sendable(self, batch: list[QueuedEnvelope], report: SyncReport) -> list[QueuedEnvelope]:
        """The batch without envelopes damaged at rest: each must still parse and verify under this
        terminal's own key. A damaged one is set aside (kept, for the agent) instead of being sent:
        the service answers a signature it cannot check with the same `unauthenticated` it gives a
        stranger, which stops the sending."""
        own = self.outbox.signing_key.public_key()
        sound = []
        for queued in batch:
            try:
                verify(parse(queued.wire), own)
            except WireError as damaged:
                self.outbox.hold(queued, damaged.code, f"damaged on this terminal, not sent: {damaged.message}")
                report.held.append((queued.envelope_id, damaged.code))
                continue
            sound.append(queued)
        return sound

    def _send(self, batch: list[QueuedEnvelope], report: SyncReport) -> None:
        batch = self._sendable(batch, report)
        if not batch:
            return
        body = b"\n".join(q.wire for q in batch) + b"\n"
        response = _request(
            self.session,
            "POST",
            self.server,
            "/v1/envelopes",
            self.timeout,
            data=body,
            headers={"Content-Type": NDJSON},
        )
        report.sent += len(batch)
        self._note_date(response)
        results = _json_results(response)
        if len(results) != len(batch):
            raise WireError("bad_response", f"{len(results)} results for a batch of {len(batch)}")
        receipted: list[tuple[QueuedEnvelope, Receipt]] = []
        fatal: WireError | None = None
        for queued, result in zip(batch, results, strict=True):
            status = result.get("status") if isinstance(result, dict) else None
            if status in ("stored", "duplicate"):
                receipted.append((queued, Receipt.from_dict(result.get("receipt") or {})))
                report.stored += status == "stored"
                report.duplicates += status == "duplicate"
            elif status == "refused":
                error = result.get("error") or {}
                code, message = str(error.get("code")), str(error.get("message"))
                if code not in HOLD_CODES:  # not enrolled there (unauthenticated) or revoked: stop, keep everything
                    fatal = fatal or WireError(code, message)
                    continue
                self.outbox.hold(queued, code, message)
                report.held.append((queued.envelope_id, code))
            else:
                fatal = fatal or WireError("bad_response", f"unexpected result {result!r:.200}")
        rejected = self.outbox.acknowledge(receipted, self.central_keys)  # one transaction per batch
        if rejected:
            _, error = rejected[0]
            raise WireError("bad_receipt", f"{error.code}: {error.message}; {len(rejected)} envelope(s) kept")
        if fatal:
            raise fatal

    def _pull_updates(self, store: UpdateStore, report: SyncReport) -> None:
        """Fetch and apply every downstream update newer than what this terminal holds. A refused
        update is reported and remembered (not fetched again); the one in force stays."""
        head = self.audit_head() if self.audit_head is not None else None
        answer = _answer(self._signed_get("/v1/updates", audit=f"{head[0]}:{head[1]}" if head else None))
        listing, verified = self._checked_listing(answer)
        seen = answer.get("audit_head") if verified else None
        if isinstance(seen, dict) and isinstance(seen.get("seq"), int) and isinstance(seen.get("mac"), str):
            self.outbox.record_central_audit_head(seen["seq"], seen["mac"])
        for item in listing:
            kind, version = (item.get("kind"), item.get("version")) if isinstance(item, dict) else (None, None)
            listed = item.get("sha256") if isinstance(item, dict) else None
            if not isinstance(kind, str) or not isinstance(version, int) or not store.wants(kind, version, listed):
                continue
            response = self._signed_get(f"/v1/updates/{kind}/{version}")
            if response.status_code != 200:
                _answer(response)  # raises with the service's code
            # a download that broke is a transport failure (fetched again next time), never a refusal
            body = _capped_body(response, MAX_UPDATE_BYTES)
            if hashlib.sha256(body).hexdigest() != item.get("sha256"):
                raise WireError("connection_lost", f"the {kind} update arrived incomplete; it is fetched again")
            try:
                report.updates.append(store.apply(body, source="http"))
            except WireError as refused:
                report.updates.append(
                    {
                        "kind": kind,
                        "version": version,
                        "outcome": "refused",
                        "code": refused.code,
                        "message": refused.message,
                    }
                )

    def _checked_listing(self, answer: dict) -> tuple[list, bool]:
        """The listing's updates, and whether a central key this terminal trusts signed it over
        this terminal and this request's nonce. A listing signed so but for another request is an
        old one kept back (`bad_listing`). One this terminal cannot verify (the service signs with
        a key it does not trust yet: a rotation, whose config update the old key signed; or a
        service of wire version 1) is still used, each update being signed on its own, but tells
        nothing of freshness or of the audit chain."""
        updates = answer.get("updates")
        if not isinstance(updates, list):
            raise WireError("bad_response", "the answer has no updates list")
        fields = ("terminal_id", "nonce", "time", "updates", "audit_head")
        if not all(name in answer for name in fields) or not isinstance(answer.get("sig"), str):
            return updates, False
        body = {name: answer[name] for name in fields}
        try:
            signature = base64.b64decode(answer["sig"], validate=True)
        except ValueError:
            return updates, False
        if signer(self.central_keys, signature, listing_bytes(body)) is None:
            return updates, False
        if body["terminal_id"] != self.outbox.sealer.terminal_id or body["nonce"] != self._last_nonce:
            raise WireError("bad_listing", "a signed update listing that does not answer this request: an old one")
        return updates, True

    def _signed_get(self, path: str, *, audit: str | None = None) -> requests.Response:
        """GET signed with the terminal key; one retry on the central clock if ours is off."""
        terminal_id = self.outbox.sealer.terminal_id
        for attempt in range(2):
            stamp, nonce = int(time.time() + self._clock_offset), new_nonce()  # a new nonce each try
            self._last_nonce = nonce
            request = terminal_request_bytes("GET", path, terminal_id, stamp, nonce, audit)
            headers = {
                "X-Terminal-Id": terminal_id,
                "X-Terminal-Time": str(stamp),
                "X-Terminal-Nonce": nonce,
                "X-Terminal-Signature": base64.b64encode(self.outbox.signing_key.sign(request)).decode(),
                **({"X-Terminal-Audit-Head": audit} if audit is not None else {}),
            }
            response = _request(self.session, "GET", self.server, path, self.timeout, headers=headers, stream=True)
            date = self._note_date(response)
            if attempt == 0 and response.status_code == 401 and date and _error_code(response) == "clock_skew":
                self._clock_offset = parsedate_to_datetime(date).timestamp() - time.time()
                continue
            return response
        return response

    def _note_date(self, response: requests.Response) -> str | None:
        """The answer's Date header, remembered as the central clock minus ours (for the clock's
        guardrail); None if it has none or it does not parse."""
        date = response.headers.get("Date")
        try:
            self.central_skew_s = parsedate_to_datetime(date).timestamp() - time.time() if date else self.central_skew_s
        except (TypeError, ValueError):
            return None
        return date

    def run_forever(
        self,
        stop: threading.Event,
        *,
        interval: float = 60.0,
        rng: random.Random | None = None,
        on_report: Callable[[SyncReport], None] = lambda report: None,
    ) -> None:
        """The background loop: drain, then wait `interval`; after a failure wait the back-off."""
        rng = rng or random.Random()
        failures = 0
        while not stop.is_set():
            try:
                report = self.sync_once()
            except SyncBusy:
                report = SyncReport(error=WireError("busy", "another sync is running"))
            on_report(report)
            failures = 0 if report.ok else failures + 1
            stop.wait(interval if report.ok else backoff_delay(failures, rng))


class PinnedSession(requests.Session):
    """A session that trusts only `certificates` (a PEM file): requests would otherwise let the
    environment's CA bundle (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) replace what the session trusts."""

    def __init__(self, certificates: Path):
        super().__init__()
        self.verify = str(certificates)

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        settings["verify"] = self.verify
        return settings


def _request(session: requests.Session, method: str, server: str, path: str, timeout: tuple[float, float], **kwargs):
    """One HTTP request, with every transport failure turned into a WireError with its code."""
    try:
        return session.request(method, f"{server.rstrip('/')}{path}", timeout=timeout, **kwargs)
    except requests.Timeout:
        raise WireError("timeout", f"no answer from {server} within {timeout[1]:.0f} s") from None
    except requests.exceptions.SSLError:  # not the pinned certificate, or not TLS: nothing is sent
        raise WireError("tls_untrusted", f"{server} did not prove it holds the pinned certificate") from None
    except requests.ConnectionError as error:
        raise WireError("unreachable", f"cannot reach {server}: {type(error).__name__}") from None
    except requests.RequestException as error:
        raise WireError("connection_lost", f"the connection to {server} broke: {type(error).__name__}") from None


def _answer(response: requests.Response) -> dict:
    """The JSON object of a 200 answer; any other answer becomes a WireError with the service's code."""
    try:
        data = loads(response.content)
    except ValueError:
        data = None
    except requests.RequestException as error:  # a streamed body broke off while being read
        raise WireError("connection_lost", f"the answer broke off: {type(error).__name__}") from None
    if not isinstance(data, dict):
        raise WireError("bad_response", f"HTTP {response.status_code} without a JSON object body")
    if response.status_code != 200:
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        code = error.get("code") or f"http_{response.status_code}"
        raise WireError(str(code), str(error.get("message", response.reason)))
    return data


def _error_code(response: requests.Response) -> str | None:
    try:
        return loads(response.content)["error"]["code"]
    except (ValueError, KeyError, TypeError, requests.RequestException):
        return None


def _capped_body(response: requests.Response, limit: int) -> bytes:
    body = bytearray()
    try:
        for chunk in response.iter_content(1 << 16):
            body += chunk
            if len(body) > limit:
                raise WireError("oversize", f"the update is larger than {limit} bytes")
    except requests.RequestException as error:
        raise WireError("connection_lost", f"the download broke: {type(error).__name__}") from None
    return bytes(body)


def _json_results(response: requests.Response) -> list:
    results = _answer(response).get("results")
    if not isinstance(results, list):
        raise WireError("bad_response", "the answer has no results list")
    return results


def enroll(
    server: str,
    code: str,
    terminal_id: str,
    signing_key: ed25519.Ed25519PrivateKey,
    central_keys: list[ed25519.Ed25519PublicKey],
    *,
    session: requests.Session | None = None,
) -> dict:
    """Register this terminal's public key with a one-time code (sync/PROTOCOL.md section 5,
    version 2): the code never leaves the terminal, only a proof of it; the answer must be signed
    by a central key this terminal trusts over this terminal's key and this request's nonce."""
    request = enrollment.build_request(terminal_id, signing_key, code)
    answer = _answer(_request(session or requests.Session(), "POST", server, "/v1/enroll", (5.0, 30.0), json=request))
    return enrollment.check_answer(answer, request, central_keys)
