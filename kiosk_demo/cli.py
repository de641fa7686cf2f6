"""`kiosk demo`: the command the demo package adds to the kiosk's command line (the entry point
group `county_terminal.commands`), so that a terminal install, which has no demo, has no such code."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("demo")
@click.option("--applicants", default=10, show_default=True, type=click.IntRange(1, 1000))
@click.option("--seed", default=11, show_default=True)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the central store, terminal data and logs here; a run killed there is picked up again.",
)
@click.option("--offline-first", default=0, show_default=True, help="The link is down for the first N applicants.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows and the summary as JSON.")
@click.option("--ui", is_flag=True, help="Walk the applicants through the kiosk's real screens by touch; "
              "screenshots and a contact sheet go into --keep (offscreen without a display).")  # fmt: skip
def demo(applicants: int, seed: int, keep: Path | None, offline_first: int, as_json: bool, ui: bool) -> None:
    """The main job end to end, offline: a local central service, this terminal enrolled, synthetic
    applicants through capture, liveness, form, scoring and offer, sealed, synced, opened by the
    back office and compared with what was entered. Exit 1 if any application did not arrive intact."""
    from kiosk_demo.report import format_report
    from kiosk_demo.run import DemoRefused, run_demo

    progress = (lambda line: None) if as_json else (lambda line: click.echo(f"... {line}", err=True))
    if ui:
        _ui_demo(applicants, seed, keep, as_json, progress)
    try:
        report = run_demo(applicants, seed, keep, offline_first=offline_first, progress=progress)
    except DemoRefused as refused:
        click.echo(f"demo: {refused}", err=True)
        sys.exit(2)
    if as_json:
        rows = [row.as_json() for row in report.rows]
        click.echo(json.dumps({"rows": rows, "summary": report.summary, "problems": report.problems},
                              ensure_ascii=False, indent=2, default=str))  # fmt: skip
    else:
        click.echo(format_report(report))
    sys.exit(0 if report.ok else 1)


def _ui_demo(applicants: int, seed: int, keep: Path | None, as_json: bool, progress) -> None:
    from kiosk_demo.run import DemoRefused
    from kiosk_demo.ui_demo import format_ui_report, run_ui_demo

    try:
        report = run_ui_demo(applicants, seed, keep, progress=progress)
    except DemoRefused as refused:
        click.echo(f"demo: {refused}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps({"walks": report.walks, "contact_sheet": str(report.contact_sheet),
                               "stored_centrally": report.stored_centrally, "problems": report.problems},
                              ensure_ascii=False, indent=2))  # fmt: skip
    else:
        click.echo(format_ui_report(report))
    sys.exit(0 if report.ok else 1)
