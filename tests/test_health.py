"""The terminal's health and its guardrails: each check's state and words, a stop refusing new
applications (queued ones still sync), and each guardrail tripping and clearing."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from kiosk_config.schema import Guardrails
from sync.central.blocklist import make_blocklist_files
from sync.central.store import CentralStore
from sync.central.terminals import TerminalRegistry
from sync.update import build_update
from terminal_app.cli import main
from terminal_app.core import message_catalogue as mc
from terminal_app.core.health import (
    CHECKS,
    DAY_S,
    MIB,
    RELEASED,
    CameraState,
    GuardrailStop,
    Readings,
    State,
    assess,
)
from terminal_app.core.kiosk import Kiosk

NOW = 1_800_000_000.0  # 2027-01-15


def issued(days_ago: float, now: float = NOW) -> str:
    return datetime.fromtimestamp(now - days_ago * DAY_S, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def readings(**changes) -> Readings:
    """A healthy terminal, with `changes`."""
    sound = Readings(
        now=NOW,
        guardrails=Guardrails(),
        oldest_queued_at=None,
        held=0,
        central_skew=(1.5, NOW - 600),
        latest_audit_at=NOW - 5,
        audit_problems=0,
        audit_cut=False,
        updates={
            "blocklist": {"version": 3, "issued_at": issued(1)},
            "model": {"version": 2, "issued_at": issued(30)},
            "roster": {"version": 4, "issued_at": issued(2)},
        },
        model_version="risk-2027-01",
        agents=3,
        free_bytes=20_000 * MIB,
        vault_bytes=5 * MIB,
        camera=CameraState(found=True, fps=15.0, last_frame_age_s=0.1),
    )
    return replace(sound, **changes)


def states(health) -> dict[str, str]:
    return {c.name: str(c.state) for c in health.checks}


def test_a_sound_terminal_is_ok_on_every_check_with_words_and_advice_in_both_languages():
    health = assess(readings())
    assert health.state is State.OK and not health.stops
    assert len(health.checks) == len(CHECKS)
    for language in ("zh", "en"):
        report = health.as_json(language)
        for name, check in report["checks"].items():
            assert check["what"] and check["do"] and "{" not in check["what"] + check["do"], (language, name)
    assert health.as_json("en")["checks"]["disk"]["what"] == "Enough disk space (20000 MB free)"


@pytest.mark.parametrize(
    ("changes", "check", "code"),
    [
        ({"oldest_queued_at": NOW - 8 * DAY_S}, "outbox", "outbox_stale"),
        ({"updates": {"blocklist": {"version": 3, "issued_at": issued(15)}}}, "blocklist", "blocklist_too_old"),
        ({"updates": {"model": {"version": 2, "issued_at": issued(181)}}}, "model", "model_too_old"),
        ({"central_skew": (-900.0, NOW - 60)}, "clock", "clock_skewed"),
        ({"now": datetime(RELEASED.year - 1, 6, 1, tzinfo=UTC).timestamp()}, "clock", "clock_before_release"),
        ({"latest_audit_at": NOW + 365 * DAY_S, "central_skew": None}, "clock", "clock_went_back"),
        ({"free_bytes": 150 * MIB}, "disk", "disk_full"),
        ({"audit_problems": 2}, "audit", "audit_broken"),
        ({"audit_cut": True}, "audit", "audit_cut"),
    ],
)
def test_each_guardrail_stops_the_terminal_and_names_why(changes, check, code):
    health = assess(readings(**changes))
    assert health.state is State.STOP
    assert [c.name for c in health.stops] == [check] and health.check(check).reason.code == code
    assert health.check(check).advice("en") != "Nothing to do"


@pytest.mark.parametrize(
    ("changes", "check", "code"),
    [
        ({"oldest_queued_at": NOW - 4 * DAY_S}, "outbox", "outbox_ageing"),
        ({"held": 2}, "outbox", "outbox_held"),
        ({"updates": {"blocklist": {"version": 3, "issued_at": issued(12)}}}, "blocklist", "blocklist_ageing"),
        ({"updates": {}}, "blocklist", "blocklist_missing"),
        ({"updates": {}}, "model", "model_embedded"),
        ({"agents": 0}, "roster", "roster_missing"),
        ({"central_skew": None}, "clock", "clock_unchecked"),
        ({"free_bytes": 300 * MIB}, "disk", "disk_low"),
        ({"camera": CameraState(found=False)}, "camera", "camera_not_found"),
        ({"camera": None}, "camera", "camera_unchecked"),
    ],
)
def test_what_needs_an_agent_soon_is_attention_not_a_stop(changes, check, code):
    health = assess(readings(**changes))
    assert health.state is State.ATTENTION and not health.stops
    assert health.check(check).state is State.ATTENTION and health.check(check).reason.code == code


def test_a_clock_set_back_is_cleared_by_a_sync_that_finds_it_right():
    back = readings(latest_audit_at=NOW + 30 * DAY_S, central_skew=(400.0, NOW - 3 * DAY_S))
    assert assess(back).check("clock").reason.code == "clock_went_back"
    checked_now = replace(back, central_skew=(2.0, NOW - 60))
    assert assess(checked_now).check("clock").state is State.OK


def test_every_health_code_has_advice_in_every_language():
    codes = {key for key in mc.catalogue("zh")["advice"]}
    for language in mc.languages():
        assert set(mc.catalogue(language)["advice"]) == codes
    for key in codes:
        assert key in mc.catalogue("zh")["reason"], key


# --- on a real kiosk ----------------------------------------------------------------------------


def test_a_fresh_terminal_takes_applications_and_says_what_it_still_needs(kiosk):
    health = kiosk.health()
    assert health.state is State.ATTENTION and not health.stops
    assert states(health) | {"camera": "?"} == {
        "clock": "attention",  # never checked against the central clock
        "outbox": "ok",
        "blocklist": "attention",
        "model": "attention",
        "config": "ok",
        "roster": "attention",
        "disk": "ok",
        "audit": "ok",
        "camera": "?",  # whether this machine has /dev/video0
    }


def test_a_stopped_terminal_refuses_a_new_session_and_logs_it_without_personal_data(kiosk, clock):
    kiosk.outbox.submit({"application_id": "app-1"})
    clock.advance(8 * DAY_S)
    with pytest.raises(GuardrailStop) as stopped:
        kiosk.new_session(None, None)
    assert stopped.value.code == "outbox_stale" and "8" in stopped.value.reason.en
    assert kiosk.audit.records()[-1]["event"] == "application_refused_stopped"
    assert kiosk.outbox.status()["queued"] == 1  # nothing lost


def test_a_blocklist_update_too_old_stops_and_a_fresh_one_clears_it(kiosk, central, clock):
    now = clock()
    files = make_blocklist_files(["11010519900307001X"], [])
    kiosk.apply_update(build_update("blocklist", 1, files, central.signing, issued_at=issued(20, now)), source="usb")
    assert kiosk.health().check("blocklist").reason.code == "blocklist_too_old"
    with pytest.raises(GuardrailStop):
        kiosk.new_session(None, None)
    kiosk.apply_update(build_update("blocklist", 2, files, central.signing, issued_at=issued(0.5, now)), source="usb")
    assert kiosk.health().check("blocklist").state is State.OK and not kiosk.health().stops


def test_an_edited_audit_record_stops_the_terminal_even_after_it_was_checked_sound(kiosk):
    assert kiosk.health().check("audit").state is State.OK
    kiosk.audit.append("something", count=1)
    kiosk.vault.db.execute("UPDATE audit SET details = '{\"count\":2}' WHERE seq = (SELECT MAX(seq) FROM audit)")
    assert kiosk.health().check("audit").reason.code == "audit_broken"


def test_a_config_update_sets_the_limits(kiosk, central, clock):
    kiosk.outbox.submit({"application_id": "app-1"})
    clock.advance(3 * DAY_S)
    assert kiosk.health().check("outbox").state is State.OK
    update = build_update("config", 1, {"config.toml": b"[guardrails]\nmax_days_unsynced = 2\n"}, central.signing)
    kiosk.apply_update(update, source="http")
    assert kiosk.health().check("outbox").reason.code == "outbox_stale"


def test_kiosk_status_json_reports_health_and_exits_1_while_stopped(tmp_path, config_path):
    data = tmp_path / "data"
    runner = CliRunner()
    args = ["--config", str(config_path), "--data-dir", str(data), "status", "--json"]
    fine = runner.invoke(main, args)
    assert fine.exit_code == 0, fine.output
    report = json.loads(fine.output)
    assert report["health"]["state"] == "attention" and report["health"]["checks"]["audit"]["state"] == "ok"
    kiosk = Kiosk.start(config_path, data)
    kiosk.vault.db.execute("DELETE FROM audit WHERE seq = 1")
    kiosk.close()
    broken = runner.invoke(main, args)
    assert broken.exit_code == 1
    assert json.loads(broken.output)["health"]["checks"]["audit"]["code"] == "audit_broken"
    text = runner.invoke(main, args[:-1])
    assert "audit      stop" in text.output and "support" not in text.output  # zh words by default


@pytest.mark.integration
def test_an_outbox_stopped_for_days_is_cleared_by_a_sync_that_delivers_it(
    tmp_path, central, central_db, central_server
):
    offset = [-8 * DAY_S]  # queued 8 days ago; the link has been down since
    config = central.write_config(tmp_path / "kiosk.toml", url=central_server.url)
    kiosk = Kiosk.start(config, tmp_path / "data", clock=lambda: time.time() + offset[0])
    kiosk.outbox.submit({"application_id": "app-1"})
    offset[0] = 0.0
    assert kiosk.health().check("outbox").reason.code == "outbox_stale"
    store = CentralStore(central_db)
    code = TerminalRegistry(store).issue_code(kiosk.config.terminal.id)
    store.close()
    kiosk.enroll(code)
    report = kiosk.sync_client().sync_once()
    assert report.ok and report.stored == 1
    health = kiosk.health()
    assert health.check("outbox").state is State.OK
    assert health.check("clock").state is State.OK and abs(health.check("clock").facts["central_skew_s"]) < 5
    kiosk.close()


def test_the_clock_check_reads_the_release_date_as_utc():
    day = datetime(RELEASED.year, RELEASED.month, RELEASED.day, tzinfo=UTC).timestamp()
    assert assess(readings(now=day - 60)).check("clock").reason.code == "clock_before_release"
    assert (
        assess(readings(now=day + 60, central_skew=None, latest_audit_at=None)).check("clock").state is State.ATTENTION
    )


def test_a_roster_that_would_lock_out_every_agent_here_is_refused_and_the_old_one_stays(kiosk, central):
    import json as _json

    from sync.envelope import WireError
    from terminal_app.core.agents import hash_pin

    def roster(*agents) -> dict[str, bytes]:
        return {"roster.json": _json.dumps({"agents": list(agents)}).encode()}

    pin = hash_pin("482913", n=2**14)
    here = {"agent_id": "A-1", "role": "agent", "county": "422801", "pin_hash": pin}
    kiosk.apply_update(build_update("roster", 1, roster(here), central.signing), source="usb")
    for locked_out in (
        roster({**here, "active": False}),
        roster({**here, "county": "110105", "agent_id": "B-1"}),
        roster(),
    ):
        with pytest.raises(WireError) as refused:
            kiosk.apply_update(build_update("roster", 2, locked_out, central.signing), source="usb")
        assert refused.value.code == "invalid_content" and "lock out" in refused.value.message
    assert [a.agent_id for a in kiosk.agents.roster()] == ["A-1"] and kiosk.agents.login("A-1", "482913")


def test_retention_purges_orphaned_drafts_and_old_receipts_and_counts_them(kiosk, clock):
    vault = kiosk.vault
    vault.save_draft("orphan", "form", {"form": {"phone": "13800000000"}})
    clock.advance(3601)  # longer than any step may last
    vault.save_draft("live", "consent", {})
    for seq, age_days in ((1, 91), (2, 1)):
        receipt = {"envelope_id": f"e-{seq}", "seq": seq, "envelope_sha256": "x", "receipt": "{}"}
        vault.db["delivered"].insert({**receipt, "delivered_at": clock() - age_days * DAY_S})
    purged = kiosk.retention()
    assert (purged.drafts, purged.receipts) == (1, 1)
    assert vault.draft_ids() == ["live"] and kiosk.outbox.delivered_ids() == ["e-2"]
    record = kiosk.audit.records()[-1]
    assert record["event"] == "retention" and json.loads(record["details"]) == {"drafts": 1, "receipts": 1}


def test_each_update_in_force_names_the_central_key_that_signed_it(kiosk, central):
    from sync.keys import key_id

    kiosk.apply_update(build_update("blocklist", 1, make_blocklist_files([], []), central.signing), source="usb")
    status = kiosk.updates.status()
    signer = key_id(central.signing.public_key())
    assert status["blocklist"]["signed_by"] == signer and len(signer) == 16
    assert status["roster"]["signed_by"] is None  # none in force


def test_a_stick_pulled_before_the_export_loses_nothing_and_leaves_no_bundle(kiosk, tmp_path):
    from terminal_app.core.agents import AgentSession, Role

    stick = tmp_path / "stick"
    stick.mkdir()
    kiosk.outbox.submit({"application_id": "app-1"})
    agent = AgentSession("A-1", Role.AGENT, "422801", 0.0, 1e12)
    exported = kiosk.export_to_stick(stick, agent)
    assert exported.envelopes == 1 and exported.path.parent == stick and len(exported.sha256) == 64
    assert [p.name for p in stick.iterdir()] == [exported.path.name]  # no temporary file left beside it
    shutil.rmtree(stick)  # pulled
    with pytest.raises(OSError):
        kiosk.export_to_stick(stick, agent)
    assert kiosk.outbox.status()["queued"] == 1


@pytest.mark.integration
def test_an_audit_log_put_back_to_an_older_copy_is_caught_by_the_next_sync(
    tmp_path, central, central_db, central_server
):
    config = central.write_config(tmp_path / "kiosk.toml", url=central_server.url)
    data = tmp_path / "data"
    kiosk = Kiosk.start(config, data)
    store = CentralStore(central_db)
    code = TerminalRegistry(store).issue_code(kiosk.config.terminal.id)
    store.close()
    kiosk.enroll(code)
    assert kiosk.sync_client().sync_once().ok
    kiosk.close()
    older = tmp_path / "older"
    shutil.copytree(data, older)  # someone keeps a copy of the vault
    kiosk = Kiosk.start(config, data)
    kiosk.outbox.submit({"application_id": "app-1"})  # more happens, and is seen by the central service
    assert kiosk.sync_client().sync_once().ok and kiosk.health().check("audit").state is State.OK
    kiosk.close()
    shutil.rmtree(data)
    shutil.copytree(older, data)  # the older copy put back: its own chain is intact
    kiosk = Kiosk.start(config, data)
    assert kiosk.audit.verify() == [] and kiosk.health().check("audit").state is State.OK
    assert kiosk.sync_client().sync_once().ok
    assert kiosk.health().check("audit").reason.code == "audit_cut" and kiosk.health().stops
    kiosk.close()


def test_a_signed_listing_for_another_request_is_refused_and_an_unverifiable_one_only_used(kiosk, central):
    import base64 as b64

    from cryptography.hazmat.primitives.asymmetric import ed25519

    from sync.envelope import WireError, listing_bytes

    def signed(body: dict, key=central.signing) -> dict:
        return {**body, "sig": b64.b64encode(key.sign(listing_bytes(body))).decode()}

    client = kiosk.sync_client()
    client._last_nonce = "n" * 22
    body = {"terminal_id": kiosk.config.terminal.id, "nonce": "o" * 22, "time": 1, "updates": [], "audit_head": None}
    with pytest.raises(WireError) as refused:
        client._checked_listing(signed(body))  # a listing the service signed for an earlier request, kept back
    assert refused.value.code == "bad_listing"
    fresh = {**body, "nonce": "n" * 22}
    assert client._checked_listing(signed(fresh)) == ([], True)
    stranger = ed25519.Ed25519PrivateKey.generate()  # a key not trusted yet (a rotation)
    assert client._checked_listing(signed(fresh, stranger)) == ([], False)
    assert client._checked_listing({"updates": []}) == ([], False)  # a service of wire version 1
