"""`kiosk demo` at the foundation stage: synthetic applicants walked through the parts that
exist (config, consent, ID validation, encrypted drafts, agent login, offer engine, audit chain).

The capture, liveness and scoring engines arrive in their own issues; until then the flow stops
honestly at LIVENESS and the draft is wiped: nothing is pretended to pass. The offer shown is
the quote each credit band would get for the applicant's request, from the real offer engine.
"""

from __future__ import annotations

import random
import secrets
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from terminal_app.core.agents import Agent, Role, hash_pin
from terminal_app.core.flow import StepRejected
from terminal_app.core.kiosk import Kiosk
from terminal_app.core.offer import OfferRefused, make_offer
from terminal_app.core.steps import ConsentRecord, IdCardFields, IdSource
from terminal_app.core.synthetic_people import corrupt_check_character, make_people


@dataclass(frozen=True)
class DemoRow:
    applicant: int
    id_result: str
    reached: str
    request: str
    quotes: str
    ms: float


def run_foundation_demo(applicants: int = 6, seed: int = 7, keep: Path | None = None) -> tuple[list[DemoRow], dict]:
    data_dir = keep or Path(tempfile.mkdtemp(prefix="kiosk-demo-"))
    kiosk = Kiosk.start(None, data_dir)
    pin = f"{secrets.randbelow(10**6):06d}"
    county = kiosk.config.terminal.county
    kiosk.agents.replace_roster([Agent("A-0001", Role.AGENT, county, hash_pin(pin))])
    agent = kiosk.agents.login("A-0001", pin)
    rng = random.Random(seed)
    today = date.today()
    rows = []
    catalogue = kiosk.config.catalogue
    for index, person in enumerate(make_people(applicants, seed=seed, today=today, county=county), start=1):
        started = time.perf_counter()
        number = corrupt_check_character(person.id_number) if index % 4 == 0 else person.id_number
        flow = kiosk.new_application(agent)
        flow.give_consent(ConsentRecord(True, True, "consent-v1", "zh", time.time()))
        card = IdCardFields(number, person.name, person.sex, person.birth_date, source=IdSource.AGENT_ENTRY)
        try:
            check = flow.submit_id(card)
            id_result = f"valid ({check.region.full_name if check.region else '?'})"
        except StepRejected as rejected:
            id_result = f"refused: {rejected.reason.en}"
        reached = str(flow.step)
        flow.cancel()  # liveness engine not installed yet: stop here, wipe the draft
        amount = Decimal(rng.randrange(catalogue.min_line, 40_000, catalogue.amount_step))
        term = rng.choice(catalogue.terms)
        purpose = rng.choice(catalogue.purposes).code
        quotes = []
        for band in catalogue.bands:
            try:
                offer = make_offer(
                    catalogue, credit_score=band.min_score, amount=amount, term_months=term, purpose=purpose
                )
                quotes.append(f"{band.name}: {offer.monthly_payment}/mo @{offer.annual_rate:.2%}")
            except OfferRefused as refused:
                quotes.append(f"{band.name}: up to {refused.allowed.get('max')}")
        rows.append(
            DemoRow(
                index,
                id_result,
                f"{reached} (then wiped: liveness engine not built yet)",
                f"{amount} CNY / {term} months / {purpose}",
                "; ".join(quotes),
                (time.perf_counter() - started) * 1000,
            )
        )
    problems = kiosk.audit.verify()
    summary = {
        "data_dir": str(data_dir),
        "applicants": applicants,
        "drafts_left": len(kiosk.vault.draft_ids()),
        "audit_records": kiosk.vault.db["audit"].count,
        "audit_chain_intact": not problems,
        "vault_integrity_ok": not kiosk.vault.integrity_problems(),
    }
    kiosk.close()
    return rows, summary
