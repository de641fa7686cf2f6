"""Store-and-forward throughput, terminal and central service on loopback (real HTTP, the
central service in its own process), on SQLite and on PostgreSQL:

    .venv/bin/python bench/bench_sync.py [--envelopes 10000] [--backends sqlite,postgresql] [--workers 1]

Prints, per backend: the time to drain a backlog of realistic envelopes (fields + portrait + one
key frame, ~45 KB each), envelopes/s ingested, CPU seconds of the server and of the client, the
server's CPU split between crypto, storage and HTTP/JSON (crypto and storage measured in-process
on a sample, HTTP the remainder), and the ratio to the raw cost of HPKE + Ed25519 alone measured
in the same run (the limit). Targets: >= 500 envelopes/s per node on SQLite; 10,000 in < 60 s.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric import ed25519, x25519  # noqa: E402
from timing import median_us  # noqa: E402

from sync import enrollment  # noqa: E402
from sync.central.ingest import IngestService  # noqa: E402
from sync.central.store import CentralStore  # noqa: E402
from sync.central.terminals import TerminalRegistry  # noqa: E402
from sync.envelope import SUITE, Meta, Receipt, parse, seal, verify  # noqa: E402
from sync.keys import private_pem, write_private_file  # noqa: E402
from terminal_app.core.kiosk import Kiosk  # noqa: E402
from tests.conftest import CentralKeys  # noqa: E402
from tests.servers import CentralProcess, TempPostgres  # noqa: E402

IMAGE_BYTES = 30_000  # portrait + key frame as JPEG, base64 in the payload (~40 KB)


def application(rng: random.Random, i: int) -> dict:
    return {
        "application_id": f"bench-{i}",
        "card": {
            "name": "测试己",
            "address": "湖北省恩施市某某路1号",
            "portrait_jpeg": base64.b64encode(rng.randbytes(IMAGE_BYTES // 2)).decode(),
        },
        "liveness": {"key_frame_jpeg": base64.b64encode(rng.randbytes(IMAGE_BYTES // 2)).decode()},
        "form": {"amount": "12000", "term_months": 12, "purpose": "electronics"},
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def floor_figures(wires: list[bytes], terminal_public, central_signing) -> dict[str, float]:
    """Per-envelope costs measured in this process: the limits the HTTP service is compared with."""
    payload = os.urandom(IMAGE_BYTES).hex().encode()[: len(wires[0]) - 400]
    opening = x25519.X25519PrivateKey.generate()
    terminal = ed25519.Ed25519PrivateKey.generate()
    hpke = median_us(lambda: SUITE.encrypt(payload, opening.public_key(), info=b"x"), 300)
    ed_sign = median_us(lambda: terminal.sign(payload), 300)
    signature = terminal.sign(payload)
    ed_verify = median_us(lambda: terminal.public_key().verify(signature, payload), 300)
    wire = wires[0]
    ingest_crypto = median_us(
        lambda: (
            verify(parse(wire), terminal_public),
            Receipt("e", "t", 1, "0" * 64, "2026-11-25T00:00:00Z").signed_by(central_signing),
        ),
        300,
    )
    sealing = median_us(
        lambda: seal(Meta.new("T-422801-0001", "422801", 1), payload, opening.public_key(), terminal), 300
    )
    return {
        "hpke": hpke,
        "ed25519_sign": ed_sign,
        "ed25519_verify": ed_verify,
        "raw_limit": hpke + ed_sign + ed_verify,
        "ingest_crypto": ingest_crypto,
        "seal": sealing,
    }


def ingest_in_process(db: str, central: CentralKeys, wires: list[bytes], terminal_key) -> tuple[float, float]:
    """Ingest in-process (no HTTP) into a fresh store: (wall µs, CPU µs) per envelope."""
    store = CentralStore(db)
    service = IngestService(store, central.signing)
    code = service.terminals.issue_code("T-422801-0001")
    service.terminals.enroll(enrollment.build_request("T-422801-0001", terminal_key, code))
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(wires), 64):
        service.ingest(wires[i : i + 64])
    wall_us = (time.perf_counter() - start) / len(wires) * 1e6
    cpu_us = (time.process_time() - cpu) / len(wires) * 1e6
    store.close()
    return wall_us, cpu_us


def run_backend(name: str, db: str, storage_db: str, count: int, workers: int, work: Path) -> None:
    central = CentralKeys()
    key_file = work / f"{name}-signing.pem"
    write_private_file(key_file, private_pem(central.signing))
    server = CentralProcess(db, key_file, workers=workers).start()
    try:
        config = central.write_config(work / f"{name}.toml", url=server.url)
        kiosk = Kiosk.start(config, work / f"{name}-terminal")
        store = CentralStore(db)
        code = TerminalRegistry(store).issue_code("T-422801-0001")
        kiosk.enroll(code)
        rng = random.Random(11)
        kiosk.vault.db.execute("PRAGMA synchronous=OFF")  # building the backlog is set-up, not measured
        start = time.perf_counter()
        for i in range(count):
            kiosk.outbox.submit(application(rng, i))
        queued_s = time.perf_counter() - start
        kiosk.vault.db.execute("PRAGMA synchronous=FULL")
        wires = [w for (w,) in kiosk.vault.db.execute("SELECT wire FROM outbox ORDER BY seq LIMIT 500")]
        size = sum(len(w) for w in wires) / len(wires)

        client = kiosk.sync_client(batch_size=64)
        server_cpu0 = cpu_seconds(server.process.pid)
        client_cpu0 = time.process_time()
        start = time.perf_counter()
        report = client.sync_once()
        drain_s = time.perf_counter() - start
        client_cpu = time.process_time() - client_cpu0
        server_cpu = cpu_seconds(server.process.pid) - server_cpu0
        assert report.ok and report.remaining == 0 and report.stored == count, report.as_dict()
        assert store.envelope_count() == count
        store.close()

        floor = floor_figures(wires, kiosk.outbox.signing_key.public_key(), central.signing)
        wall_us, cpu_us = ingest_in_process(storage_db, central, wires, kiosk.outbox.signing_key)
        storage_cpu = max(0.0, cpu_us - floor["ingest_crypto"])
        storage_wall = wall_us - floor["ingest_crypto"]
        kiosk.close()
    finally:
        server.stop()
    rate = count / drain_s
    server_us = server_cpu / count * 1e6
    http_us = max(0.0, server_us - cpu_us)
    print(f"\n== {name} ({workers} worker{'s' if workers > 1 else ''}), {count:,} envelopes of {size / 1024:.1f} KiB")
    print(f"backlog built (seal + queue)      {queued_s:7.1f} s   ({floor['seal']:.0f} µs to seal one)")
    print(f"drained in                        {drain_s:7.1f} s   target < 60 s for 10,000")
    print(f"ingested                          {rate:7.0f} envelopes/s   target >= 500 (SQLite)")
    print(f"server CPU                        {server_cpu:7.1f} s   ({server_us:.0f} µs per envelope)")
    print(f"client CPU                        {client_cpu:7.1f} s   ({client_cpu / count * 1e6:.0f} µs per envelope)")
    print(
        f"server CPU split per envelope:  crypto {floor['ingest_crypto']:.0f} µs, storage {storage_cpu:.0f} µs "
        f"(in this process; {storage_wall:.0f} µs wall with commits), HTTP+JSON {http_us:.0f} µs (the rest)"
    )
    print(
        f"raw HPKE + Ed25519 sign + verify  {floor['raw_limit']:7.0f} µs -> {1e6 / floor['raw_limit']:,.0f}/s on one "
        f"core; achieved/limit = {rate / (1e6 / floor['raw_limit']):.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--envelopes", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    for name in args.backends.split(","):
        if name == "sqlite":
            run_backend(
                name, str(work / "central.sqlite"), str(work / "storage.sqlite"), args.envelopes, args.workers, work
            )
        else:
            postgres = TempPostgres(fsync=True).start()  # durable, as in production
            try:
                run_backend(name, postgres.new_database(), postgres.new_database(), args.envelopes, args.workers, work)
            finally:
                postgres.stop()


if __name__ == "__main__":
    main()
