"""Core figures on this machine: ID validation, offer schedule, vault writes, scrypt PIN check.

    .venv/bin/python bench/bench_core.py

Each line prints a median over repeated runs; the vault line also prints the ratio of an
encrypted draft save to a bare SQLite insert of the same size in the same process (the baseline).
"""

from __future__ import annotations

import os
import random
import tempfile
import tracemalloc
from datetime import date
from decimal import Decimal

from timing import median_us

from kiosk_config import load_config
from kiosk_demo.synthetic.people import make_people
from terminal_app.core.agents import hash_pin, verify_pin
from terminal_app.core.id_number import validate_id_number
from terminal_app.core.offer import make_offer
from terminal_app.core.vault import Vault


def main() -> None:
    today = date(2026, 11, 25)
    people = make_people(2000, seed=1, today=today)
    numbers = iter([p.id_number for p in people] * 50)
    validate_id_number(people[0].id_number, today=today)  # load the division table once
    print(
        f"id number validation     {median_us(lambda: validate_id_number(next(numbers), today=today), 20000):8.1f} µs"
    )

    catalogue = load_config().catalogue
    rng = random.Random(2)

    def offer() -> None:
        make_offer(
            catalogue,
            credit_score=700,
            amount=Decimal(rng.randrange(50, 600) * 100),
            term_months=rng.choice([3, 6, 9, 12]),
            purpose="green_ev",
        )

    print(f"offer + 12-month schedule {median_us(offer, 2000):8.1f} µs")

    with tempfile.TemporaryDirectory() as tmp:
        vault = Vault(tmp)
        payload = {"blob": os.urandom(16_000).hex()}  # ~32 KB: fields + portrait + key frame
        counter = iter(range(10**9))
        save = median_us(lambda: vault.save_draft(f"s{next(counter)}", "form", payload), 300)
        import json
        import sqlite3

        raw = sqlite3.connect(os.path.join(tmp, "baseline.sqlite"), isolation_level=None)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)")
        data = json.dumps(payload).encode()
        base = median_us(lambda: raw.execute("INSERT INTO t VALUES (?, ?)", [f"k{next(counter)}", data]), 300)
        print(f"vault draft save (32 KB)  {save:8.1f} µs  (bare SQLite insert {base:.1f} µs, ratio {save / base:.2f})")
        vault.close()

    encoded = hash_pin("246810")
    print(f"scrypt PIN check          {median_us(lambda: verify_pin('246810', encoded), 10) / 1000:8.1f} ms")
    tracemalloc.start()
    verify_pin("246810", encoded)
    print(
        f"peak Python memory during a PIN check {tracemalloc.get_traced_memory()[1] / 1024:.0f} KiB "
        "(scrypt's 32 MiB is allocated by OpenSSL, outside tracemalloc)"
    )


if __name__ == "__main__":
    main()
