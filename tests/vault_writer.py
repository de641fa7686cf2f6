"""Child process for the kill -9 test: writes to a vault as fast as it can and prints each
queued envelope's id on stdout right after its transaction commits."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import x25519

from sync.keys import load_or_create_signing_key
from terminal_app.core.audit import AuditLog
from terminal_app.core.outbox import Outbox, Sealer
from terminal_app.core.vault import Vault


def main(data_dir: str, prefix: str) -> None:
    vault = Vault(data_dir)
    audit = AuditLog(vault)
    key = load_or_create_signing_key(Path(data_dir) / "terminal_key.pem")
    outbox = Outbox(vault, Sealer("T-422801-0001", "422801", key, x25519.X25519PrivateKey.generate().public_key()))
    for i in range(100_000):
        session = f"{prefix}-s{i}"
        vault.save_draft(session, "form", {"i": i, "blob": os.urandom(512).hex()})
        meta = outbox.submit({"i": i, "blob": os.urandom(2048).hex()}, drop_draft=session)
        audit.append("submitted", envelope=meta.envelope_id)
        sys.stdout.write(meta.envelope_id + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
