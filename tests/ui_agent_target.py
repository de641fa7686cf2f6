"""The field agent's side of the kiosk app, in a process of its own (Kivy draws one window a
process), for tests/test_kiosk_ui_agent.py: a local central service, a terminal whose blocklist
is too old (a guardrail stops it), and an agent who logs in (a wrong PIN first), syncs (which
clears the guardrail), helps an applicant who declines face checks, exports to a USB stick,
imports a tampered then a genuine receipts file, and logs out. Every touch goes through the
window; head office's side (publishing, importing the bundle) is done as head office would.
Writes what each stage showed to ROOT/seen.json and a PNG of each agent screen to SHOTS.

    python tests/ui_agent_target.py ROOT SHOTS"""

from __future__ import annotations

import dataclasses
import json
import sys
import threading
import traceback
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric import ed25519

from kiosk_demo.applicants import GENUINE, make_applicants
from kiosk_demo.central import LocalCentral
from sync.bundle import write_receipts
from sync.central.blocklist import make_blocklist_files
from sync.central.ingest import IngestService
from sync.central.store import CentralStore
from sync.keys import load_private_key
from sync.update import build_update
from terminal_app.core.agents import hash_pin
from terminal_app.core.kiosk import Kiosk
from terminal_app.ui.launch import open_kiosk_app

AGENT_ID, PIN = "A-0001", "482913"


def set_up(root: Path) -> tuple[LocalCentral, Path, Path]:
    """Head office and a terminal that has its roster but a blocklist 20 days old."""
    central = LocalCentral(root / "central", root / "central.log").start()
    stick = root / "stick-1"
    stick.mkdir()
    config = root / "kiosk.toml"
    config.write_text(central.terminal_config() + f'\n[usb]\nmounts = ["{root}/stick*"]\n', "utf-8")
    data = root / "data"
    kiosk = Kiosk.start(config, data)
    signing = load_private_key(central.signing_key_file, ed25519.Ed25519PrivateKey)
    old = (datetime.now(UTC) - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    kiosk.apply_update(build_update("blocklist", 1, make_blocklist_files([], []), signing, issued_at=old), source="usb")
    kiosk.enroll(central.enrollment_code(kiosk.config.terminal.id), central.url)
    agent = {"agent_id": AGENT_ID, "role": "agent", "county": kiosk.config.terminal.county, "pin_hash": hash_pin(PIN)}
    central.publish_roster([agent])
    assert kiosk.sync_client().sync_once().ok
    kiosk.close()
    return central, config, data


def tampered(receipts: bytes) -> bytes:
    """One character of the first receipt's signature changed (still base64)."""
    at = receipts.index(b'"sig":"') + len(b'"sig":"') + 10
    changed = b"B" if receipts[at : at + 1] != b"B" else b"C"
    return receipts[:at] + changed + receipts[at + 1 :]


def main(root: Path, shots: Path) -> None:
    central, config, data = set_up(root)
    seen: dict = {"errors": []}
    from kiosk_config import load_config

    settings = load_config(config)
    people = make_applicants(4, seed=11, today=date.today(), county=settings.terminal.county,
                             catalogue=settings.catalogue)  # fmt: skip
    person, other = [a for a in people if a.scenario == GENUINE][:2]
    blank = dataclasses.replace(other, card=dataclasses.replace(other.card, ethnicity=""))  # a row nothing reads
    applicants = [person, blank]
    opened = open_kiosk_app(config, data, camera="synthetic", offscreen=True, camera_options={"applicants": applicants})
    app, kiosk = opened.app, opened.kiosk
    from kiosk_demo.screen_walk import ScreenWalker

    walker = ScreenWalker(app, step_timeout_s=90)

    def console_says(text: str) -> None:
        walker.wait_text(text, timeout=60)

    def script() -> None:
        try:
            walker.wait_screen("welcome")
            seen["welcome_stopped"] = walker.texts()
            seen["start_enabled_stopped"] = walker.enabled("start")
            walker.screenshot(shots / "01-welcome-stopped.png")

            walker.touch("agent-corner")
            walker.wait_screen("agent_login")
            walker.type_keys("0001")
            walker.touch("agent-pin")
            walker.type_keys("111111")
            walker.touch("agent-login-submit")
            walker.wait_text("还可尝试")
            seen["wrong_pin"] = walker.texts()
            walker.screenshot(shots / "02-login-wrong-pin.png")
            walker.type_keys(PIN)
            walker.touch("agent-login-submit")
            walker.wait_screen("agent")
            walker.wait_text("风险名单")
            seen["console_stopped"] = walker.texts()
            walker.screenshot(shots / "03-console-stopped.png")
            walker.touch("assist")
            walker.wait_text("暂停受理")
            seen["assist_refused"] = walker.texts()
            seen["screen_after_assist_refused"] = walker.current()

            central.publish_blocklist([], [])  # head office publishes a fresh one (twice: past the old version)
            central.publish_blocklist([], [])
            walker.touch("sync-now")
            console_says("同步完成")
            seen["synced"] = walker.texts()
            walker.screenshot(shots / "04-console-synced.png")

            seen["no_face_end"] = walker.walk(person, shots, "05-assisted-", agent_pin=PIN)
            seen["no_face"] = dict(walker.seen)
            walker.wait_screen("agent")
            walker.wait_text("人工审核")
            seen["console_after_application"] = walker.texts()
            walker.screenshot(shots / "06-console-today.png")

            walker.touch("usb-export")
            walker.touch("usb-stick-0")
            console_says("已导出")
            seen["exported"] = walker.texts()
            walker.screenshot(shots / "07-usb-exported.png")
            bundle = next((root / "stick-1").glob("*.bundle"))
            store = CentralStore(central.db)
            signing = load_private_key(central.signing_key_file, ed25519.Ed25519PrivateKey)
            outcomes = IngestService(store, signing).import_bundle(bundle)
            store.close()
            receipts = bundle.with_name(bundle.name + ".receipts")
            write_receipts(receipts, [o.as_dict() for o in outcomes])
            genuine = receipts.read_bytes()
            receipts.write_bytes(tampered(genuine))  # changed on the way back
            walker.touch("usb-receipts")
            console_says("回执")
            seen["tampered_receipts"] = walker.texts()
            seen["queued_after_tampered"] = kiosk.core.call(lambda: kiosk.outbox.status()["queued"])
            receipts.write_bytes(genuine)
            walker.touch("usb-receipts")
            console_says("确认 1 份")
            seen["receipts"] = walker.texts()
            walker.screenshot(shots / "08-receipts-imported.png")
            seen["queued_after_receipts"] = kiosk.core.call(lambda: kiosk.outbox.status()["queued"])

            walker.touch("release-held")
            walker.touch("release-fixed_centrally")
            console_says("没有暂存")

            ethnicity = other.card.ethnicity  # what the applicant says; the card's row reads as nothing
            seen["picked_end"] = walker.walk(blank, shots, "10-picked-", assisted=True, picks={"ethnicity": ethnicity})
            seen["picked"] = dict(walker.seen)
            walker.wait_screen("agent")
            walker.touch("sync-now")
            console_says("同步完成")
            opened = root / "opened.jsonl"
            central.open_delivered(opened)
            seen["delivered"] = [json.loads(line)["application"] for line in opened.read_text("utf-8").splitlines()]
            seen["said_ethnicity"] = ethnicity
            walker.touch("agent-logout")
            walker.wait_screen("welcome")
            seen["welcome_after"] = walker.texts()
            seen["start_enabled_after"] = walker.enabled("start")
            walker.screenshot(shots / "09-welcome-open.png")

            walker.touch("agent-corner")  # someone tries PINs: the agent is locked out, the right PIN too
            walker.wait_screen("agent_login")
            walker.type_keys("0001")
            for attempt in range(6):
                walker.touch("agent-pin")
                walker.type_keys(f"{attempt}{attempt}{attempt}{attempt}{attempt}9" if attempt < 5 else PIN)
                walker.touch("agent-login-submit")
                walker.wait_text("错误次数过多" if attempt >= 4 else f"还可尝试{4 - attempt}次")
            seen["locked"] = walker.texts()
            seen["screen_when_locked"] = walker.current()
            walker.screenshot(shots / "11-login-locked.png")
            walker.touch("agent-login-back")
            walker.wait_screen("welcome")
        except BaseException as error:
            seen["errors"].append("".join(traceback.format_exception(error)))
        finally:
            from kivy.clock import Clock

            Clock.schedule_once(lambda dt: app.stop())

    threading.Thread(target=script, name="walker", daemon=True).start()
    app.run()
    seen["audit"] = [(r["event"], r["actor"]) for r in kiosk.core.call(kiosk.audit.records)]
    seen["outbox"] = kiosk.core.call(kiosk.outbox.status)
    opened.close()
    central.stop()
    (root / "seen.json").write_text(json.dumps(seen, ensure_ascii=False, default=str), "utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
