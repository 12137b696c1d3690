"""What a history of calls leaves behind besides the calls: the new patients agents registered on them
and the satisfaction surveys callers answered. Runs after `queues.simulate.backfill_history` (which
sits below patients' registration rules and surveys), so the dashboards show every figure."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from careline.contacts.models import Channel, Contact, ContactStatus
from careline.demo.patients import register_callers
from careline.surveys.models import AnsweredVia, Survey, SurveyChannel

REGISTERED_SHARE = 0.65  # of simulated new-patient callers, registered during the call
ANSWERED_SHARE = 0.38  # of surveys sent, answered
ENDED_SIMULATED = (Contact.simulated.is_(True), Contact.status == ContactStatus.ENDED)
COMMENTS = {
    5: ["Quick and friendly, thank you.", "Got my appointment the same week.", "Very helpful."],
    4: ["Good, but I waited a bit.", "Helpful once I got through."],
    3: ["It took a while to get an answer.", "OK."],
    2: ["I was on hold too long.", "Had to call back twice."],
    1: ["Nobody could help me.", "Waited forever and got cut off."],
}


@dataclass
class EnrichResult:
    new_patients: int = 0
    surveys: int = 0
    answered: int = 0

    def counts(self) -> dict[str, int]:
        """For the demo's summary."""
        return {"history_new_patients": self.new_patients, "history_surveys": self.surveys}


def enrich_history(db: Session, *, seed: int = 7) -> EnrichResult:
    """Register a share of the simulated new callers and survey the callers who agreed (once each)."""
    rng = random.Random(f"careline-demo-history:{seed}")
    result = EnrichResult()
    new = db.execute(
        select(
            Contact.id,
            Contact.tenant_id,
            Contact.caller_number,
            Contact.answered_at,
            Contact.wrap_up_at,
            Contact.agent_user_id,
        )
        .where(
            *ENDED_SIMULATED,
            Contact.new_patient.is_(True),
            Contact.patient_id.is_(None),
        )
        .order_by(Contact.id)
    ).all()
    # Each caller's fate hangs on their contact alone, so a second run picks no one new.
    chosen = [r for r in new if random.Random(f"{seed}:{r.id}").random() < REGISTERED_SHARE]
    # Registered half-way through the conversation, by the agent on the call.
    middle = [r.answered_at + (r.wrap_up_at - r.answered_at) / 2 for r in chosen]
    callers = [
        (r.tenant_id, r.caller_number, at, r.agent_user_id) for r, at in zip(chosen, middle, strict=True)
    ]
    ids = register_callers(db, callers, rng)
    for row, patient_id in zip(chosen, ids, strict=True):
        db.execute(update(Contact).where(Contact.id == row.id).values(patient_id=patient_id))
    result.new_patients = len(ids)

    surveyed = select(Survey.contact_id)
    consented = db.execute(
        select(
            Contact.id,
            Contact.tenant_id,
            Contact.agent_user_id,
            Contact.channel,
            Contact.queued_at,
            Contact.answered_at,
            Contact.ended_at,
        )
        .where(
            *ENDED_SIMULATED,
            Contact.survey_consent.is_(True),
            Contact.id.not_in(surveyed),
        )
        .order_by(Contact.id)
    ).all()
    rows = [_survey(rng, c) for c in consented]
    if rows:
        db.execute(insert(Survey), rows)
    result.surveys = len(rows)
    result.answered = sum(1 for r in rows if r["answered_at"] is not None)
    return result


def _survey(rng: random.Random, c: Any) -> dict[str, Any]:  # c: one contact row
    channel = SurveyChannel.EMAIL if c.channel == Channel.CHAT or rng.random() < 0.25 else SurveyChannel.SMS
    if rng.random() < 0.04:
        channel = SurveyChannel.NONE
    sent = None if channel is SurveyChannel.NONE else c.ended_at + timedelta(seconds=rng.uniform(20, 120))
    row = {
        "tenant_id": c.tenant_id,
        "contact_id": c.id,
        "agent_user_id": c.agent_user_id,
        "channel": channel,
        "created_at": c.ended_at,
        "sent_at": sent,
        "expires_at": c.ended_at + timedelta(days=7),
        "answered_at": None,
        "via": None,
        "csat": None,
        "nps": None,
        "need_met": None,
        "comment": None,
        "delivery_note": None if sent else "no mobile number or email with consent",
    }
    if sent is None or rng.random() >= ANSWERED_SHARE:
        return row
    waited = ((c.answered_at or c.queued_at) - c.queued_at).total_seconds() if c.queued_at else 0
    # Most callers are satisfied; a long wait costs points.
    csat = min(5, max(1, round(rng.gauss(4.5 - min(waited, 300) / 150, 0.8))))
    nps = min(10, max(0, round(rng.gauss(2 * csat - 0.5, 1.3))))
    row.update(
        answered_at=sent + timedelta(minutes=rng.expovariate(1 / 180)),
        via=AnsweredVia.LINK,
        csat=csat,
        nps=nps,
        need_met=rng.random() < (0.95 if csat >= 4 else 0.55),
        comment=rng.choice(COMMENTS[csat]) if rng.random() < 0.3 else None,
    )
    return row
