"""`kiosk demo`, the main job end to end: a local central service on loopback, this terminal
enrolled, synthetic applicants through the real engines, sync, the back office's opening step
and the comparison; the link down for a while; the kiosk process killed mid-run and restarted;
no personal data in plain text anywhere but the back office's export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from kiosk_config import load_config
from kiosk_demo.applicants import (
    BAD_NUMBER,
    BLOCKLISTED,
    IMPOSTOR,
    NO_RESPONSE,
    PHONE_REPLAY,
    make_applicants,
)
from kiosk_demo.report import format_report
from kiosk_demo.run import EXPORT, DemoRefused, run_demo

pytestmark = pytest.mark.e2e  # the whole product: ./run test runs it, the developer loop does not

ROOT = Path(__file__).resolve().parent.parent
SEED = 11


def needles(count: int, seed: int = SEED) -> dict[str, list[bytes]]:
    """Every generated name, ID number, phone number and address, as UTF-8 and as JSON escapes."""
    config = load_config()
    applicants = make_applicants(
        count, seed=seed, today=date.today(), county=config.terminal.county, catalogue=config.catalogue
    )
    found: dict[str, list[bytes]] = {}
    for a in applicants:
        for text in (a.person.name, a.card.id_number, a.person.id_number, a.person.phone, a.card.address):
            found[text] = [text.encode(), json.dumps(text).strip('"').encode()]
    return found


def plain_text_hits(root: Path, count: int) -> dict[str, list[str]]:
    """Which generated values appear in which files under `root`."""
    hits: dict[str, list[str]] = {}
    searched = needles(count)
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for text, forms in searched.items():
            if any(form in data for form in forms):
                hits.setdefault(str(path.relative_to(root)), []).append(text)
    return hits


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One demo run the tests share (a whole run takes minutes on 2 cores): ten applicants, the
    link down for the first three."""
    root = tmp_path_factory.mktemp("demo")
    return run_demo(10, SEED, root, offline_first=3)


def test_every_applicant_goes_through_and_what_arrived_is_what_was_entered(demo_run):
    report = demo_run
    assert report.ok, report.problems
    s = report.summary
    # the five genuine applicants and the blocklisted one (declined) are submitted
    assert s["applicants"] == 10 and s["submitted"] == s["arrived"] == s["arrived_intact"] == 6
    assert s["missing"] == [] and s["altered"] == {} and s["duplicated"] == []
    assert s["queued_after_sync"] == 0 and s["drafts_left"] == 0 and s["audit_chain_intact"]
    by = {row.scenario: row for row in report.rows}
    assert by[BAD_NUMBER].capture == "refused: check_character x3" and by[BAD_NUMBER].end == "id_attempts_used"
    assert by[PHONE_REPLAY].liveness == "refused: spoof_suspected x3"
    assert by[IMPOSTOR].liveness == "refused: face_mismatch x3"
    assert by[NO_RESPONSE].liveness == "refused: challenge_timeout x3"
    for row in (by[BAD_NUMBER], by[PHONE_REPLAY], by[IMPOSTOR], by[NO_RESPONSE]):
        assert row.application_id is None and row.decision == "-"
    blocked = by[BLOCKLISTED]
    assert blocked.decision == "decline" and blocked.application_id
    assert any(reason.startswith("fraud.blocklisted_id") for reason in blocked.reasons)
    genuine = [row for row in report.rows if row.scenario == "genuine" and row.application_id]
    assert len(genuine) == 5 and all(row.liveness.startswith("ok") for row in genuine)
    assert all(row.sync == "sent 1" for row in genuine if row.index > 4)  # the link is back from the fourth
    approved = [row for row in report.rows if row.decision == "approve"]
    assert approved and all("CNY" in row.offer for row in approved)
    text = format_report(report)
    assert "all submitted applications arrived intact" in text and "fraud.blocklisted_id" in text


def test_no_personal_data_in_plain_text_outside_the_back_office_export(demo_run):
    root = demo_run.root
    hits = plain_text_hits(root, 10)
    outside = {path: found for path, found in hits.items() if not path.startswith(("backoffice/", "applicants/"))}
    assert outside == {}
    # the search works: the opened applications hold the submitted applicants' data
    assert f"backoffice/{EXPORT}" in hits and len(hits[f"backoffice/{EXPORT}"]) >= 5 * 3
    assert any((root / "terminal" / "data").iterdir()) and (root / "central" / "central.sqlite").exists()
    printed = format_report(demo_run).encode()
    assert not [t for t, forms in needles(10).items() if any(f in printed for f in forms)]


def test_an_application_altered_or_lost_after_arrival_fails_the_demo(demo_run, tmp_path):
    export = demo_run.root / "backoffice" / EXPORT
    lines = [json.loads(line) for line in export.read_text("utf-8").splitlines()]
    lines[0]["application"]["form"]["amount"] = "99999.00"
    dropped = lines.pop(1)
    export.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), "utf-8")
    again = run_demo(10, SEED, demo_run.root)  # picks the run up: every applicant is done, compare again
    assert not again.ok
    rows = {row.application_id: row.index for row in again.rows}
    altered_index = rows[lines[0]["application"]["application_id"]]
    assert again.summary["altered"] == {altered_index: ["form"]}
    assert again.summary["missing"] == [rows[dropped["application"]["application_id"]]]


def test_with_the_link_down_applications_queue_and_drain_when_it_is_back(demo_run):
    assert demo_run.ok, demo_run.problems
    syncs = [row.sync for row in demo_run.rows]
    assert syncs[0] == "link down: unreachable, 1 queued"
    assert syncs[1] == "link down: unreachable, 2 queued"
    assert syncs[2] == "link down: unreachable, 2 queued"  # the bad number: nothing new to queue
    assert syncs[3] == "sent 3"
    assert demo_run.summary["queued_after_sync"] == 0


def test_a_kiosk_killed_mid_run_loses_nothing_and_wipes_the_half_done_session(tmp_path):
    root = tmp_path / "demo"
    command = [sys.executable, "-m", "terminal_app", "demo", "--applicants", "5", "--seed", str(SEED)]
    command += ["--keep", str(root), "--offline-first", "5"]
    first = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             start_new_session=True)  # fmt: skip
    seen = []
    try:
        for line in first.stderr:
            seen.append(line)
            if "applicant 4 started" in line:  # applicant 4's draft is in the vault, the card not read yet
                break
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the kiosk and its local central service: power cut
        first.wait(timeout=30)
    assert any("applicant 3 done" in line for line in seen), seen
    again = subprocess.run([*command, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    out = json.loads(again.stdout)
    summary = out["summary"]
    assert summary["at_start"] == {"done": 3, "drafts_wiped": 1, "queued": 2}  # two submitted before the kill
    assert summary["submitted"] == summary["arrived_intact"] == 3 and summary["duplicated"] == []
    assert [row["index"] for row in out["rows"]] == [1, 2, 3, 4, 5] and out["problems"] == []
    printed = (again.stdout + again.stderr + "".join(seen)).encode()
    assert not [t for t, forms in needles(5).items() if any(f in printed for f in forms)]


def test_a_kept_directory_is_picked_up_only_by_the_run_that_made_it(demo_run):
    with pytest.raises(DemoRefused, match="seed"):
        run_demo(10, SEED + 1, demo_run.root)
