"""The kiosk's real window (Kivy, drawn offscreen by SDL), driven by touches on the widgets a
person would press — never by calls into the core behind the screens — for a genuine applicant
(to the receipt), a declined one, consent refused (either part), an idle session and a camera
unplugged mid-capture. Asserts on what the screens show and on the outbox afterwards, and saves
a PNG of every screen in build/ui-screens/ (the README names it).

Kivy draws one window a process, so one app runs every scenario in turn, as one kiosk would
serve a queue of people; the tests below read what each scenario saw."""

from __future__ import annotations

import json
import random
import shutil
import threading
import time
import traceback
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kiosk_demo.applicants import BLOCKLISTED, GENUINE, make_applicants
from sync.central.blocklist import make_blocklist_files
from sync.update import build_update
from terminal_app.core import message_catalogue as mc
from terminal_app.core.kiosk import Kiosk

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "ui-screens"
IDLE_S = 15  # the config's least idle timeout
STORM = 1000


def zh(key: str, **params) -> str:
    return mc.words("zh", "screen", key, **params)


@pytest.fixture(scope="module")
def ui_run(tmp_path_factory, central):
    """Every scenario through one kiosk app; what each saw, and the kiosk's outbox afterwards."""
    root = tmp_path_factory.mktemp("ui")
    config = central.write_config(root / "kiosk.toml")
    text = config.read_text("utf-8")
    text = text.replace("idle_timeout_s = 90", f"idle_timeout_s = {IDLE_S}")
    text = text.replace("frame_timeout_s = 30.0", "frame_timeout_s = 3.0")
    config.write_text(text, "utf-8")
    data = root / "data"
    today = date.today()
    setup = Kiosk.start(config, data)
    people = make_applicants(10, seed=11, today=today, county=setup.config.terminal.county,
                             catalogue=setup.config.catalogue)  # fmt: skip
    genuine = next(a for a in people if a.scenario == GENUINE)
    listed = next(a for a in people if a.scenario == BLOCKLISTED)
    files = make_blocklist_files([listed.card.id_number], [])
    setup.apply_update(build_update("blocklist", 1, files, central.signing), source="usb")  # as a USB stick brings it
    setup.close()

    from terminal_app.ui.launch import open_kiosk_app

    queue = [genuine, listed, genuine, genuine, genuine, genuine, genuine]
    opened = open_kiosk_app(config, data, camera="synthetic", offscreen=True, today=today,
                            camera_options={"applicants": queue})  # fmt: skip
    from kiosk_demo.screen_walk import ScreenWalker

    app, kiosk = opened.app, opened.kiosk
    walker = ScreenWalker(app, step_timeout_s=90)
    shutil.rmtree(SHOTS, ignore_errors=True)
    seen: dict = {"errors": []}

    def drafts() -> int:
        return len(kiosk.core.call(kiosk.vault.draft_ids))

    def script() -> None:
        try:
            seen["welcome_png"] = walker.screenshot(SHOTS / "00-welcome.png")
            seen["genuine_end"] = walker.walk(genuine, SHOTS / "genuine")
            seen["genuine"] = dict(walker.seen)
            seen["spoken"] = list(app.voice.spoken)
            walker.seen.clear()
            seen["declined_end"] = walker.walk(listed, SHOTS / "declined")
            seen["declined"] = dict(walker.seen)

            for part in ("id_data", "biometrics"):  # consent refused, one part then the other
                walker.wait_screen("welcome")
                walker.touch("start")
                walker.wait_screen("consent")
                seen[f"next_enabled_before_{part}"] = walker.enabled("consent-next")
                walker.touch("id_data-disagree" if part == "id_data" else "id_data-agree")
                walker.touch("biometrics-agree" if part == "id_data" else "biometrics-disagree")
                walker.touch("consent-next")
                walker.wait_screen("ended")
                seen[f"refused_{part}"] = walker.texts()
                walker.screenshot(SHOTS / f"refused-{part}.png")
                seen[f"drafts_after_refused_{part}"] = drafts()
                walker.touch("home")

            walker.wait_screen("welcome")  # idle: the countdown, then the wipe
            walker.touch("start")
            walker.wait_screen("consent")
            walker.touch("id_data-agree")
            seen["drafts_during_session"] = drafts()
            walker.wait_text("秒后将清除", timeout=IDLE_S + 5)
            seen["countdown"] = walker.texts()
            walker.screenshot(SHOTS / "idle-countdown.png")
            walker.wait_screen("ended", timeout=IDLE_S + 5)
            seen["idle_ended"] = walker.texts()
            seen["drafts_after_idle"] = drafts()
            walker.wait_screen("welcome", timeout=20)  # back by itself

            walker.touch("start")  # the camera unplugged while the card is read
            walker.wait_screen("consent")
            walker.touch("id_data-agree")
            walker.touch("biometrics-agree")
            walker.touch("large-text")
            seen["large_text"] = walker.on_ui(lambda: app.text_scale)
            walker.touch("consent-next")
            walker.wait_screen("card")
            walker.wait("the card in the preview", lambda: app.screen.camera.frames_shown > 3)
            app.cameras.unplug()
            walker.wait_screen("ended", timeout=30)
            seen["unplugged"] = walker.texts()
            walker.screenshot(SHOTS / "camera-unplugged.png")
            app.cameras.plug_in()
            walker.touch("home")
            walker.wait_screen("welcome")
            seen["drafts_after_unplug"] = drafts()

            from kivy.core.window import Window

            walker.on_ui(lambda: Window.dispatch("on_keyboard", 27, 41, None, []))  # Escape
            seen["close_refused"] = walker.on_ui(lambda: Window.dispatch("on_request_close"))  # the window's close
            seen["alive_after_escape"] = walker.current()
            storm(walker, app, seen)
            seen["drafts_at_end"] = drafts()
        except BaseException as error:
            seen["errors"].append("".join(traceback.format_exception(error)))
        finally:
            from kivy.clock import Clock

            Clock.schedule_once(lambda dt: app.stop())

    def storm(walker, app, seen: dict) -> None:
        """1,000 touches anywhere, as a restless hand or a child makes them, a few milliseconds apart."""
        rng = random.Random(26)
        width, height = walker.on_ui(lambda: (app.root_layout.width, app.root_layout.height))
        shown_before = len(app.screens_shown)
        queued_before = kiosk.core.call(lambda: kiosk.outbox.status()["queued"])
        for _ in range(STORM):
            walker.touch_at(rng.uniform(0, width - 1), rng.uniform(0, height - 1))
        walker.on_ui(lambda: app.cancel())  # whatever the storm left under way ends; nothing is pressed by it
        seen["storm_screens"] = app.screens_shown[shown_before:]
        seen["storm_queued"] = kiosk.core.call(lambda: kiosk.outbox.status()["queued"]) - queued_before
        seen["storm_alive"] = walker.current()

    started = time.monotonic()
    threading.Thread(target=script, name="walker", daemon=True).start()
    app.run()
    seen["seconds"] = time.monotonic() - started
    seen["outbox"] = kiosk.core.call(central.open_outbox, kiosk)
    seen["voice_files"] = len(list((data / "voice-cache").glob("*.wav")))
    seen["applicants"] = {"genuine": genuine, "listed": listed}
    opened.close()
    return seen


def test_every_scenario_ran_to_its_end(ui_run):
    assert ui_run["errors"] == []


def test_a_genuine_applicant_walks_every_screen_to_the_receipt(ui_run):
    assert ui_run["genuine_end"] == "receipt"
    screens = list(ui_run["genuine"])
    assert screens[:5] == ["welcome", "consent", "card", "check", "face"]
    assert {"offer", "confirm", "receipt"} <= set(screens)
    check = " ".join(ui_run["genuine"]["check"])
    person = ui_run["applicants"]["genuine"]
    assert person.card.name in check and person.card.id_number in check  # the fields read, for the applicant
    offer = " ".join(ui_run["genuine"]["offer"])
    assert zh("monthly_payment") in offer and zh("apr") in offer and "第1期" in offer
    receipt = ui_run["genuine"]["receipt"]
    assert zh("receipt_approve") in receipt and zh("review_right") not in receipt
    approved = [p for p in ui_run["outbox"].values() if p["decision"]["outcome"] == "approve"]
    assert len(approved) == 1 and any(approved[0]["application_id"] in t for t in receipt)
    assert approved[0]["card"]["id_number"] == person.card.id_number
    assert approved[0]["consent"]["text_version"] == mc.consent_text_version("zh")


def test_a_declined_applicant_sees_the_reasons_and_the_right_to_a_person(ui_run):
    assert ui_run["declined_end"] == "receipt"
    receipt = " ".join(ui_run["declined"]["receipt"])
    assert zh("receipt_decline") in receipt and zh("review_right") in receipt and zh("reasons_title") in receipt
    declined = [p for p in ui_run["outbox"].values() if p["decision"]["outcome"] == "decline"]
    assert len(declined) == 1
    assert declined[0]["card"]["id_number"] == ui_run["applicants"]["listed"].card.id_number


def test_consent_refused_ends_and_wipes_and_a_face_refusal_names_the_other_way(ui_run):
    assert ui_run["next_enabled_before_id_data"] is False  # nothing chosen, nothing to go on with
    assert zh("end_consent_refused") in ui_run["refused_id_data"]
    assert zh("no_face_title") in ui_run["refused_biometrics"]
    assert ui_run["drafts_after_refused_id_data"] == ui_run["drafts_after_refused_biometrics"] == 0


def test_an_idle_session_counts_down_then_is_wiped(ui_run):
    assert ui_run["drafts_during_session"] == 1
    assert any("秒后将清除" in t for t in ui_run["countdown"])
    assert zh("end_idle") in ui_run["idle_ended"] and ui_run["drafts_after_idle"] == 0


def test_a_camera_unplugged_mid_capture_ends_the_session_with_the_reason(ui_run):
    assert zh("end_device_unavailable") in ui_run["unplugged"]
    assert ui_run["drafts_after_unplug"] == 0
    assert ui_run["large_text"] > 1.0


def test_a_storm_of_random_touches_never_crashes_skips_consent_or_submits(ui_run):
    screens = ui_run["storm_screens"]
    assert "consent" in screens and ui_run["storm_alive"] in ("welcome", "ended")  # it went places, and lives
    assert ui_run["storm_queued"] == 0 and ui_run["drafts_at_end"] == 0
    assert "agent" not in screens  # the agent's login may be opened; the console only with a PIN
    for i, name in enumerate(screens):  # no screen past consent without the consent screen before it
        if name not in ("welcome", "consent", "ended", "agent_login"):
            before = screens[:i]
            last_welcome = max((j for j, n in enumerate(before) if n == "welcome"), default=-1)
            assert "consent" in before[last_welcome + 1 :], screens


def test_escape_and_the_windows_close_do_not_end_the_kiosk(ui_run):
    assert ui_run["close_refused"] is True and ui_run["alive_after_escape"] == "welcome"


def test_only_the_two_finished_applications_are_queued(ui_run):
    outcomes = sorted(p["decision"]["outcome"] for p in ui_run["outbox"].values())
    assert outcomes == ["approve", "decline"]


def test_prompts_are_spoken_from_a_cache(ui_run):
    assert ui_run["voice_files"] > 50 or shutil.which("espeak-ng") is None
    spoken = ui_run["spoken"]
    assert zh("start_spoken") in spoken and zh("card_spoken") in spoken
    challenges = ("blink", "turn_left", "turn_right", "nod", "open_mouth")
    assert any(mc.words("zh", "reason", kind) in spoken for kind in challenges)


def test_every_screen_is_saved_and_draws_chinese_as_glyphs(ui_run):
    shots = sorted(SHOTS.rglob("*.png"))
    assert len(shots) >= 20
    for path in shots:
        image = np.asarray(Image.open(path).convert("L"))
        assert image.shape == (800, 1280) and image.std() > 10, path  # not blank
    # The welcome title, drawn by the kiosk's font, against the same line of the font's box for a
    # character no font has: glyphs differ from each other and from the box.
    from kivy.core.text import Label as CoreLabel

    def ink(text: str) -> bytes:
        label = CoreLabel(text=text, font_size=40)
        label.refresh()
        return bytes(label.texture.pixels)

    assert len({ink("申"), ink("请"), ink("\U000f0000")}) == 3
    assert json.dumps(ui_run["genuine"]["welcome"], ensure_ascii=False).count(zh("start")) == 1
