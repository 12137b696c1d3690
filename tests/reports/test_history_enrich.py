"""The demo's history leaves what real calls leave: new patients registered during their call (with how
they heard of the practice) and satisfaction surveys from the callers who agreed, so every dashboard
figure has data from the first visit."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from sqlalchemy import select

from careline.contacts.models import Contact, ContactStatus
from careline.db import transaction
from careline.demo.history import enrich_history
from careline.patients.models import Patient, PatientPhone
from careline.queues import simulate as sim
from careline.reports import metrics
from careline.surveys.models import Survey


def test_history_registers_new_callers_and_surveys_the_willing(sessions, world, db) -> None:
    end = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # before the fixture's patients were made
    sim.backfill_history(sessions, days=7, calls_per_hour=40, end=end, seed=3)
    before = set(db.scalars(select(Patient.id)))
    with transaction(sessions) as s:
        result = enrich_history(s, seed=3)
    contacts = {c.id: c for c in db.scalars(select(Contact))}
    new_callers = [c for c in contacts.values() if c.new_patient and c.status is ContactStatus.ENDED]
    registered = [c for c in new_callers if c.patient_id is not None]
    assert result.new_patients == len(registered) and 0.5 < len(registered) / len(new_callers) < 0.8
    patients = {p.id: p for p in db.scalars(select(Patient).where(Patient.id.not_in(before)))}
    assert {c.patient_id for c in registered} == set(patients)
    for c in registered:
        p = patients[c.patient_id]
        assert c.answered_at < p.created_at < c.ended_at and p.created_by_user_id == c.agent_user_id
        assert p.tenant_id == c.tenant_id and p.mrn and p.pcp_provider_id is None
    phones = dict(db.execute(select(PatientPhone.patient_id, PatientPhone.e164)).all())
    assert all(phones[c.patient_id] == c.caller_number for c in registered)
    assert len(Counter(p.referral_source for p in patients.values())) >= 4

    surveys = db.scalars(select(Survey)).all()
    consented = [c for c in contacts.values() if c.survey_consent and c.status is ContactStatus.ENDED]
    assert sorted(s.contact_id for s in surveys) == sorted(c.id for c in consented)
    answered = [s for s in surveys if s.answered_at is not None]
    assert result.surveys == len(surveys) and result.answered == len(answered)
    assert 0.25 < len(answered) / len(surveys) < 0.5
    assert all(1 <= s.csat <= 5 and 0 <= s.nps <= 10 and s.sent_at < s.answered_at for s in answered)
    assert all(s.sent_at is None and s.delivery_note for s in surveys if s.channel == "none")
    assert sum(s.csat for s in answered) / len(answered) > 3.5  # most callers are satisfied

    # Run again: nothing doubles.
    with transaction(sessions) as s:
        again = enrich_history(s, seed=3)
    assert (
        again.new_patients == 0
        and again.surveys == 0
        and db.scalar(select(Survey.id).order_by(Survey.id.desc()).limit(1)) == max(s.id for s in surveys)
    )

    # The dashboards count them.
    with transaction(sessions) as s:
        tenants = [world.tenant_a.id, world.tenant_b.id]
        first, last = date(2026, 11, 13), date(2026, 11, 20)
        assert metrics.new_patients(s, tenants, first, last).registered == len(registered)
        assert metrics.satisfaction(s, tenants, first, last).answered == len(answered)
