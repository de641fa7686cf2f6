"""The demo's printed report: one block per applicant (steps, times, decision, offer, why), then
the summary. Only codes, times and amounts: the demo's output carries no personal data."""

from __future__ import annotations

from kiosk_demo.run import DemoReport, DemoRow

TIMED = ("capture", "liveness", "scoring", "seal", "sync")


def _times(row: DemoRow) -> str:
    parts = [f"{step} {row.ms[step] / 1000:.2f}s" for step in TIMED if step in row.ms]
    return ", ".join(parts) + f"; session {row.ms['session'] / 1000:.2f}s"


def format_row(row: DemoRow) -> list[str]:
    agent = "with agent" if row.assisted else "alone"
    read = {True: "read as printed", False: "READ DIFFERS FROM THE CARD", None: ""}[row.read_as_printed]
    lines = [
        f"#{row.index:<3} {row.scenario:<13} {agent:<10} -> {row.decision if row.application_id else 'stopped'}"
        f" ({row.end})",
        f"     card      {row.capture}" + (f", {read}" if read else ""),
        f"     liveness  {row.liveness}",
    ]
    if row.decision != "-":
        lines.append(f"     decision  {row.decision}" + (f"; offer {row.offer}" if row.offer != "-" else ""))
    lines += [f"               - {reason}" for reason in row.reasons]
    lines += [f"     sync      {row.sync}", f"     times     {_times(row)}"]
    return lines


def format_report(report: DemoReport) -> str:
    lines: list[str] = []
    for row in report.rows:
        lines += format_row(row)
    s = report.summary
    sessions = sorted(row.ms["session"] for row in report.rows)
    lines += [
        "",
        f"applicants {s['applicants']}: submitted {s['submitted']} {s['outcomes']}, stopped {s['stopped']}",
        f"arrived at the central service {s['arrived']}, intact {s['arrived_intact']}/{s['submitted']}; "
        f"missing {s['missing'] or 0}, altered {s['altered'] or 0}, duplicated {len(s['duplicated'])}",
        f"cards read as printed {s['cards_read_as_printed']}; queued after the last sync {s['queued_after_sync']}; "
        f"drafts left {s['drafts_left']}; audit chain {'intact' if s['audit_chain_intact'] else 'BROKEN'}",
        f"session machine time: median {sessions[len(sessions) // 2] / 1000:.2f}s, "
        f"max {sessions[-1] / 1000:.2f}s (model {s['model_version']})"
        if sessions
        else "no sessions",
        f"kept in {report.root} (opened applications: {s['export']})",
    ]
    lines += [f"FAILED: {problem}" for problem in report.problems] or ["all submitted applications arrived intact"]
    return "\n".join(lines)
