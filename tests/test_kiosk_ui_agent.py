"""The field agent's screens in the real window (tests/ui_agent_target.py drives them in a process
of its own): a guardrail stopping the terminal and a sync clearing it, login with a wrong PIN
then the right one, the no-face path an agent completes, sync now against a local central
service, USB export, a tampered receipts file refused and a genuine one imported, an assisted
application whose unread ethnicity the agent picks, logout, and a lockout after wrong PINs.
Screenshots of each agent screen go to build/ui-screens/agent/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from terminal_app.core import message_catalogue as mc

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "ui-screens" / "agent"
TARGET = Path(__file__).with_name("ui_agent_target.py")


def zh(key: str, **params) -> str:
    return mc.words("zh", "screen", key, **params)


def joined(texts: list[str]) -> str:
    return " ".join(texts)


@pytest.fixture(scope="module")
def seen(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("agent-ui")
    shutil.rmtree(SHOTS, ignore_errors=True)
    env = {**os.environ, "SDL_VIDEODRIVER": "offscreen", "KIOSK_DATA_DIR": str(root / "unused")}
    done = subprocess.run([sys.executable, str(TARGET), str(root), str(SHOTS)], capture_output=True, text=True,
                          env=env, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((root / "seen.json").read_text("utf-8"))


def test_every_stage_ran(seen):
    assert seen["errors"] == []


def test_a_terminal_with_a_stale_blocklist_takes_no_application_and_says_why(seen):
    welcome = joined(seen["welcome_stopped"])
    assert zh("stopped_title") in welcome and "风险名单已20天未更新" in welcome
    assert seen["start_enabled_stopped"] is False
    console = joined(seen["console_stopped"])
    assert "停止" in console and "请同步或从U盘导入最新名单" in console
    assert "暂停受理" in joined(seen["assist_refused"]) and seen["screen_after_assist_refused"] == "agent"


def test_a_wrong_pin_is_refused_with_the_tries_left_and_the_right_one_opens_the_console(seen):
    assert "工号或PIN码错误，还可尝试4次" in joined(seen["wrong_pin"])
    events = [event for event, _ in seen["audit"]]
    assert "login_failed" in events and ("login", "agent:A-0001") in [tuple(a) for a in seen["audit"]]


def test_sync_now_brings_the_fresh_blocklist_and_clears_the_guardrail(seen):
    assert "同步完成" in joined(seen["synced"])
    assert zh("start") in joined(seen["welcome_after"]) and seen["start_enabled_after"] is True
    assert zh("stopped_title") not in joined(seen["welcome_after"])


def test_the_no_face_path_is_confirmed_by_the_agent_and_referred_to_a_person(seen):
    assert seen["no_face_end"] == "receipt"
    screens = list(seen["no_face"])
    assert "face" not in screens and "agentcheck" in screens
    assert zh("agentcheck_title") in joined(seen["no_face"]["agentcheck"])
    assert zh("receipt_refer") in joined(seen["no_face"]["receipt"])
    audit = [tuple(a) for a in seen["audit"]]
    assert ("identity_confirmed_by_agent", "agent:A-0001") in audit and ("agent_signed", "agent:A-0001") in audit
    assert ("assisted_application", "agent:A-0001") in audit
    today = joined(seen["console_after_application"])
    assert zh("outcome_refer") in today and zh("sync_queued") in today


def test_usb_export_then_receipts_a_tampered_file_deletes_nothing(seen):
    assert "已导出 1 份" in joined(seen["exported"])
    assert "拒绝 1 份" in joined(seen["tampered_receipts"]) and seen["queued_after_tampered"] == 1
    assert "确认 1 份" in joined(seen["receipts"]) and seen["queued_after_receipts"] == 0
    audit = [tuple(a) for a in seen["audit"]]
    assert ("bundle_exported", "agent:A-0001") in audit and ("receipts_imported", "agent:A-0001") in audit
    assert ("logout", "agent:A-0001") in audit


def test_every_agent_screen_was_saved(seen):
    names = sorted(p.name for p in SHOTS.glob("*.png"))
    assert {"01-welcome-stopped.png", "02-login-wrong-pin.png", "03-console-stopped.png",
            "06-console-today.png", "07-usb-exported.png"} <= set(names)  # fmt: skip
    assert any("agentcheck" in n for n in names)


def test_an_ethnicity_the_capture_could_not_read_is_picked_by_the_agent_and_arrives_so(seen):
    assert seen["picked_end"] == "receipt"
    check = joined(seen["picked"]["check"])
    assert "民族未能读出" in check and zh("check_ok") in check
    assert seen["said_ethnicity"] in joined(seen["picked"]["check-picked-ethnicity"])
    picked = [a for a in seen["delivered"] if a.get("card_fields_picked_by")]
    assert len(picked) == 1 and picked[0]["card"]["ethnicity"] == seen["said_ethnicity"]
    assert picked[0]["card_fields_picked_by"] == {"ethnicity": "A-0001"} and picked[0]["card"]["unread"] == []
    no_face = [a for a in seen["delivered"] if a.get("identity_check")]
    assert len(no_face) == 1 and no_face[0]["decision"]["outcome"] == "refer"
    assert ("card_field_picked", "agent:A-0001") in [tuple(a) for a in seen["audit"]]


def test_wrong_pins_lock_the_agent_out_and_then_the_right_pin_is_refused_too(seen):
    assert "错误次数过多" in joined(seen["locked"]) and seen["screen_when_locked"] == "agent_login"
    audit = [event for event, _ in seen["audit"]]
    assert "login_refused_locked" in audit
