"""What the terminal stops keeping, on schedule (at start, daily, and `kiosk retention` from the
daily timer): drafts no session can still own (untouched for longer than any step may last),
and delivery receipts older than `[retention] receipts_days`. A queued or held envelope is never
purged here: only its signed receipt removes it (the outbox). Counted in the audit log, never
what was in them."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk_config import KioskConfig
from terminal_app.core.audit import AuditLog
from terminal_app.core.vault import Vault

DAY_S = 86_400


@dataclass(frozen=True)
class Purged:
    drafts: int
    receipts: int


def draft_max_age_s(config: KioskConfig) -> int:
    """A draft untouched this long belongs to no session: each step change rewrites it, and no
    step may last longer than its timeout."""
    return max(config.timeouts.model_dump().values())


def purge(vault: Vault, audit: AuditLog, config: KioskConfig, now: float) -> Purged:
    with vault.transaction() as db:
        drafts = db.execute("DELETE FROM drafts WHERE updated_at < ?", [now - draft_max_age_s(config)]).rowcount
        receipts = db.execute(
            "DELETE FROM delivered WHERE delivered_at < ?", [now - config.retention.receipts_days * DAY_S]
        ).rowcount
        audit.append("retention", drafts=drafts, receipts=receipts)
    return Purged(drafts, receipts)
