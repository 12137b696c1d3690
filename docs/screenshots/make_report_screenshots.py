"""Fill a demo database with weeks of contact history, then screenshot the report pages.

    careline db upgrade && careline demo          # CARELINE_DATABASE_URL=sqlite:////tmp/shots.db
    python docs/screenshots/make_report_screenshots.py --database-url sqlite:////tmp/shots.db

The history is made directly with the contacts models (a stand-in until `careline simulate --history`
fills demo weeks): arrivals follow a weekday and time-of-day curve, waits grow with the load, and
reasons, outcomes, red flags, escalations, new patients and survey answers are drawn at plausible
rates. Screenshots use headless Chromium through Playwright (never `playwright install`).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

OUT = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET = "screenshot-secret-key-0123456789"  # noqa: S105 - a throwaway demo server
PASSWORD = "careline-demo"  # noqa: S105 - the published demo login
INTENTS = {  # intent: (weight, [(outcome, weight), ...])
    "schedule": (
        30,
        [("appointment_booked", 70), ("waitlisted", 10), ("callback_scheduled", 10), ("unresolved", 10)],
    ),
    "reschedule": (14, [("appointment_rescheduled", 90), ("unresolved", 10)]),
    "cancel": (8, [("appointment_cancelled", 95), ("unresolved", 5)]),
    "find_doctor": (9, [("referral_made", 60), ("appointment_booked", 25), ("information_given", 15)]),
    "location_info": (10, [("information_given", 100)]),
    "refill": (9, [("message_taken", 55), ("transferred", 35), ("unresolved", 10)]),
    "records": (5, [("routed_outside", 50), ("message_taken", 40), ("unresolved", 10)]),
    "billing": (7, [("transferred", 80), ("callback_scheduled", 20)]),
    "test_results": (4, [("message_taken", 70), ("transferred", 30)]),
    "clinical": (4, [("nurse_escalated", 100)]),
}
COMMENTS = [
    "Very quick, got an appointment for Thursday.",
    "The agent was kind and patient with my mother.",
    "Long hold, almost hung up.",
    "Could not get a same-week appointment.",
    "Directions to the new clinic were perfect.",
    "I had to repeat my date of birth three times.",
    "Nurse called me back within minutes, thank you!",
    "Easy to reschedule.",
]


def _weighted(rng: random.Random, pairs):
    items, weights = zip(*pairs, strict=True)
    return rng.choices(items, weights)[0]


def fill_history(url: str, *, days: int, seed: int) -> None:
    """Contacts for every demo tenant over the last `days` days up to yesterday."""
    from sqlalchemy import select

    from careline.accounts import service as accounts
    from careline.accounts.models import User
    from careline.db import make_engine, make_session_factory, transaction
    from careline.directory.models import Location
    from careline.patients.models import Patient
    from careline.reports import staffing
    from careline.tenants.models import Tenant

    rng = random.Random(seed)
    sessions = make_session_factory(make_engine(url))
    with transaction(sessions) as db:
        tenants = list(db.scalars(select(Tenant).order_by(Tenant.id)))
        names = ["Jordan Blake", "Priya Shah", "Luis Ortega", "Mei Chen", "Sam Whitfield", "Ana Costa"]
        agents = list(db.scalars(select(User.id).where(User.role.in_(["agent", "nurse"]))))
        for i, name in enumerate(names):
            email = f"agent{i + 1}@careline.demo"
            if db.scalar(select(User.id).where(User.email == email)) is None:
                user = accounts.create_user(
                    db,
                    email=email,
                    name=name,
                    role="agent",
                    password=PASSWORD,
                    tenant_slugs=[t.slug for t in tenants],
                    cheap_hash=True,
                )
                agents.append(user.id)
        locations = {
            t.id: list(db.scalars(select(Location.id).where(Location.tenant_id == t.id))) for t in tenants
        }
        patients = {
            t.id: list(db.scalars(select(Patient.id).where(Patient.tenant_id == t.id))) for t in tenants
        }
    today = datetime.now(UTC).date()
    volume = {0: 1.0, 1: 0.85, 2: 0.8, 3: 0.8, 4: 0.75, 5: 0.2, 6: 0.1}
    made = 0
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        with transaction(sessions) as db:
            for t_index, tenant in enumerate(tenants):
                zone = ZoneInfo(tenant.timezone)
                size = [160, 70, 45][t_index % 3]
                count = int(rng.gauss(size * volume[day.weekday()], 6))
                for _ in range(max(0, count)):
                    hour = _weighted(
                        rng,
                        [
                            (h, w)
                            for h, w in zip(
                                range(7, 20), [2, 9, 12, 11, 9, 6, 9, 10, 8, 7, 5, 3, 2], strict=True
                            )
                        ],
                    )
                    local = datetime(
                        day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=zone
                    )
                    _contact(
                        db,
                        rng,
                        tenant,
                        local.astimezone(UTC),
                        agents,
                        locations[tenant.id],
                        patients[tenant.id],
                        busy=math.sin(math.pi * (hour - 7) / 12) * (1.3 if day.weekday() == 0 else 1.0),
                    )
                    made += 1
    print(f"made {made} contacts over {days} days")
    with transaction(sessions) as db:
        tenant = tenants[0]
        week = staffing.next_monday(tenant.timezone)
        plan = staffing.plan_week(db, tenant, week)
        roster = {}
        for iv in plan.intervals:
            if iv.required:
                dip = 1 if (iv.weekday == 0 and 9 * 60 <= iv.minute_of_day < 11 * 60) else 0
                roster[(iv.weekday, iv.minute_of_day)] = max(
                    0, iv.required - dip - (iv.minute_of_day >= 17 * 60)
                )
        staffing.set_roster(db, tenant.id, week, roster)
        print(f"roster for {tenant.slug} week of {week}: {len(roster)} intervals")


def _contact(db, rng, tenant, arrived, agents, locations, patients, *, busy: float) -> None:
    """One contact with its lifecycle, reasons, red flags, escalation and survey."""
    from careline.contacts.intents import Intent
    from careline.contacts.models import Channel, Contact, ContactReason, ContactStatus, Outcome
    from careline.escalations.models import Escalation, EscalationStatus, Urgency
    from careline.patients.models import Patient, ReferralSource
    from careline.surveys.models import AnsweredVia, Survey, SurveyChannel
    from careline.triage.model import Disposition

    channel = _weighted(rng, [(Channel.PHONE, 80), (Channel.SMS, 8), (Channel.CHAT, 9), (Channel.WEB, 3)])
    contact = Contact(
        tenant_id=tenant.id,
        channel=channel,
        created_at=arrived,
        simulated=True,
        caller_number=f"+1312555{rng.randrange(10000):04d}",
    )
    contact.queued_at = arrived
    mean_wait = 8 + 60 * max(0.0, busy) ** 3
    wait = rng.expovariate(1 / mean_wait)
    patience = rng.expovariate(1 / 150)
    if wait > patience:
        contact.status = ContactStatus.ABANDONED
        contact.abandoned_at = contact.ended_at = arrived + timedelta(seconds=patience)
        db.add(contact)
        return
    contact.answered_at = arrived + timedelta(seconds=wait)
    contact.agent_user_id = rng.choice(agents)
    contact.ended_at = contact.answered_at + timedelta(seconds=max(45, rng.gauss(330, 110)))
    contact.wrap_up_at = contact.ended_at - timedelta(seconds=30)
    contact.status = ContactStatus.ENDED
    contact.survey_consent = rng.random() < 0.55
    roll = rng.random()
    if roll < 0.08:
        patient = Patient(
            tenant_id=tenant.id,
            mrn=f"S{rng.randrange(10**9)}",
            first_name="New",
            last_name="Caller",
            last_name_key="caller",
            last_name_sound="C460",
            dob=date(1985, 5, 5),
            referral_source=_weighted(
                rng, [(s, w) for s, w in zip(list(ReferralSource), [22, 18, 25, 14, 8, 5, 8], strict=True)]
            ),
            created_at=contact.answered_at + timedelta(seconds=60),
        )
        db.add(patient)
        db.flush()
        contact.patient_id = patient.id
    elif roll < 0.75 and patients:
        contact.patient_id = rng.choice(patients)
    elif roll < 0.8:
        contact.new_patient = True
    red = rng.random() < 0.02
    if red:
        contact.red_flag = True
        contact.red_flag_kinds = [rng.choice(["cardiac", "stroke", "breathing", "bleeding", "suicide"])]
    db.add(contact)
    db.flush()
    picked = rng.sample(list(INTENTS), k=rng.choice([1, 1, 1, 2]), counts=[w for w, _ in INTENTS.values()])
    if red:
        picked = ["clinical", *[p for p in picked if p != "clinical"]]
    for intent in dict.fromkeys(picked):
        outcome = _weighted(rng, INTENTS[intent][1])
        detail = {}
        if outcome in ("appointment_booked", "information_given", "referral_made") and locations:
            detail = {"location_id": rng.choice(locations[:6])}
        db.add(
            ContactReason(
                tenant_id=tenant.id,
                contact_id=contact.id,
                intent=Intent(intent),
                outcome=Outcome(outcome),
                outcome_detail=detail,
                created_at=contact.answered_at,
                resolved_at=contact.ended_at,
            )
        )
    if red:
        raised = contact.answered_at + timedelta(seconds=rng.randint(20, 90))
        accepted = rng.random() < 0.95
        seconds = rng.lognormvariate(4.0, 0.6)
        db.add(
            Escalation(
                tenant_id=tenant.id,
                contact_id=contact.id,
                raised_at=raised,
                urgency=Urgency.EMERGENCY,
                suggested_disposition=Disposition.EMERGENCY,
                kinds=list(contact.red_flag_kinds),
                status=EscalationStatus.RESOLVED if accepted else EscalationStatus.CANCELLED,
                accepted_at=raised + timedelta(seconds=seconds) if accepted else None,
                time_to_clinician_seconds=seconds if accepted else None,
            )
        )
    if contact.survey_consent:
        survey = Survey(
            tenant_id=tenant.id,
            contact_id=contact.id,
            agent_user_id=contact.agent_user_id,
            channel=SurveyChannel.SMS,
            created_at=contact.ended_at,
            sent_at=contact.ended_at,
            expires_at=contact.ended_at + timedelta(days=7),
        )
        if rng.random() < 0.45:
            good = wait < 60
            survey.answered_at = min(
                datetime.now(UTC), contact.ended_at + timedelta(minutes=rng.randint(5, 3000))
            )
            survey.via = AnsweredVia.LINK
            survey.csat = _weighted(
                rng, [(5, 50 if good else 25), (4, 30), (3, 10), (2, 5 if good else 15), (1, 5)]
            )
            survey.nps = min(10, max(0, round(rng.gauss(8.6 if good else 6.5, 1.8))))
            survey.need_met = rng.random() < (0.9 if good else 0.7)
            if rng.random() < 0.25:
                survey.comment = rng.choice(COMMENTS)
        db.add(survey)


def screenshots(url: str, port: int) -> None:
    """Start the app on the database and photograph the pages."""
    from playwright.sync_api import sync_playwright

    env = {
        **os.environ,
        "CARELINE_DATABASE_URL": url,
        "CARELINE_SECRET_KEY": SECRET,
        "CARELINE_RUN_WORKER": "false",
        "CARELINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [
            sys.executable,
            "-m",
            "uvicorn",
            "careline.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        time.sleep(4)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
            )

            def signed_in(email: str):
                ctx = browser.new_context(viewport={"width": 1400, "height": 900})
                page = ctx.new_page()
                page.goto(f"{base}/login")
                page.fill("input[name=email]", email)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
                return ctx, page

            ctx, page = signed_in("manager@lakeshore.demo")
            page.goto(f"{base}/reports")
            page.screenshot(path=str(OUT / "reports-manager.png"), full_page=True)
            page.goto(f"{base}/reports/monthly")
            page.emulate_media(media="print")
            page.screenshot(path=str(OUT / "reports-monthly.png"), full_page=True)
            ctx.close()
            ctx, page = signed_in("supervisor@careline.demo")
            page.goto(f"{base}/reports")
            page.screenshot(path=str(OUT / "reports-supervisor.png"), full_page=True)
            page.goto(f"{base}/staffing?tenant=lakeshore&simulate=true")
            page.screenshot(path=str(OUT / "staffing.png"), full_page=True)
            ctx.close()
            token = _survey_token(url)
            phone = browser.new_context(
                viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
            )
            page = phone.new_page()
            page.goto(f"{base}/survey/{token}")
            page.screenshot(path=str(OUT / "survey.png"), full_page=True)
            phone.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def _survey_token(url: str) -> str:
    """A link for an unanswered survey (signed with the server's secret)."""
    from sqlalchemy import select

    from careline.db import make_engine, make_session_factory, transaction
    from careline.kit.clock import utcnow
    from careline.surveys.links import make_token
    from careline.surveys.models import Survey

    with transaction(make_session_factory(make_engine(url))) as db:
        survey = db.scalar(
            select(Survey)
            .where(Survey.answered_at.is_(None), Survey.expires_at > utcnow())
            .order_by(Survey.id.desc())
        )
        return make_token(SECRET, survey.id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--days", type=int, default=63)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--skip-history", action="store_true")
    args = parser.parse_args()
    if not args.skip_history:
        fill_history(args.database_url, days=args.days, seed=args.seed)
    screenshots(args.database_url, args.port)


if __name__ == "__main__":
    main()
