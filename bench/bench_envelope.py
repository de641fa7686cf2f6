"""Envelope crypto on this machine: seal (HPKE) + sign (Ed25519), parse + verify, open, for a
realistic application (fields + portrait + one key frame, ~50 KB).

    .venv/bin/python bench/bench_envelope.py

The ratio compares the whole seal path with HPKE alone measured in the same run (the floor).
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from timing import median_us

from sync.envelope import SUITE, Meta, open_sealed, parse, seal, verify


def main() -> None:
    central, terminal = x25519.X25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    payload = os.urandom(25_000).hex().encode()  # 50 KB
    seq = iter(range(1, 10**9))
    meta = Meta.new("T-422801-0001", "422801", 1)
    hpke_only = median_us(lambda: SUITE.encrypt(payload, central.public_key(), info=b"x"))
    sealing = median_us(
        lambda: seal(Meta.new("T-422801-0001", "422801", next(seq)), payload, central.public_key(), terminal).to_bytes()
    )
    wire = seal(meta, payload, central.public_key(), terminal).to_bytes()
    checking = median_us(lambda: verify(parse(wire), terminal.public_key()))
    opening = median_us(lambda: open_sealed(parse(wire), central))
    print(f"envelope size                {len(wire) / 1024:8.1f} KiB for a {len(payload) / 1024:.0f} KiB payload")
    print(f"HPKE encrypt alone (floor)   {hpke_only:8.1f} µs")
    print(f"seal + sign + serialise      {sealing:8.1f} µs  (ratio to HPKE alone {sealing / hpke_only:.2f})")
    print(f"parse + verify (ingest)      {checking:8.1f} µs  (~{1e6 / checking:,.0f} envelopes/s on one core)")
    print(f"parse + open (back office)   {opening:8.1f} µs")


if __name__ == "__main__":
    main()
