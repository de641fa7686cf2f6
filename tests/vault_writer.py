"""Child process for the kill -9 test: writes to a vault as fast as it can and prints each
record's id on stdout right after its transaction commits."""

from __future__ import annotations

import os
import sys

from terminal_app.core.audit import AuditLog
from terminal_app.core.vault import Vault


def main(data_dir: str, prefix: str) -> None:
    vault = Vault(data_dir)
    audit = AuditLog(vault)
    for i in range(100_000):
        session = f"{prefix}-s{i}"
        vault.save_draft(session, "form", {"i": i, "blob": os.urandom(512).hex()})
        application = f"{prefix}-a{i}"
        vault.submit_application(application, session, {"i": i, "blob": os.urandom(2048).hex()})
        audit.append("submitted", application=application)
        sys.stdout.write(application + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
