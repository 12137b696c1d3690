"""Wrap-up with consent enqueues "survey.send"; the job makes one survey and its delivery record."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from careline.channels.models import MessageChannel, MessageStatus, OutboxMessage
from careline.contacts.models import Channel, Contact
from careline.db import transaction
from careline.jobs import worker
from careline.jobs.models import Job, JobStatus
from careline.surveys import jobs as survey_jobs
from careline.surveys import service
from careline.surveys.models import Survey, SurveyChannel
from tests.factories import anonymous, signed_in


@pytest.fixture(autouse=True)
def _worker_settings(monkeypatch, settings) -> None:
    """The worker reads its settings from the environment; here, the test app's."""
    monkeypatch.setattr(survey_jobs, "current_settings", lambda: settings)


def _wrap_up(client, tenant_id: int, *, consent: bool, **start) -> int:
    contact = client.post("/api/v1/contacts", json={"tenant_id": tenant_id, **start}).json()
    ended = client.post(f"/api/v1/contacts/{contact['id']}/wrap-up", json={"survey_consent": consent})
    assert ended.status_code == 200, ended.text
    return contact["id"]


def test_wrap_up_with_consent_sends_a_link_by_sms_that_opens_the_survey(app, world, sessions, db) -> None:
    with signed_in(app, world.agent_a) as client:
        cid = _wrap_up(client, world.tenant_a.id, consent=True, caller_number="(312) 555-0142")
    job = db.scalar(select(Job).where(Job.kind == "survey.send"))
    assert job.payload == {"contact_id": cid} and job.tenant_id == world.tenant_a.id
    assert worker.run_due(sessions) == 1
    db.expire_all()
    assert db.get(Job, job.id).status is JobStatus.DONE
    survey = db.scalar(select(Survey).where(Survey.contact_id == cid))
    assert survey.channel is SurveyChannel.SMS
    assert survey.agent_user_id == world.agent_a.id and survey.tenant_id == world.tenant_a.id
    assert (survey.expires_at - survey.created_at).days == 7 and survey.sent_at is not None
    message = db.get(OutboxMessage, survey.outbox_message_id)
    assert (message.channel, message.to, message.status) == (
        MessageChannel.SMS,
        "+13125550142",
        MessageStatus.QUEUED,
    )
    assert (message.related_type, message.related_id, message.tenant_id) == (
        "survey",
        survey.id,
        world.tenant_a.id,
    )
    link = message.body.split("http://127.0.0.1:8000", 1)[1].split()[0]
    assert link.startswith("/survey/") and "Tenant A Health" in message.body
    assert anonymous(app).get(link).status_code == 200


def test_no_consent_no_survey(app, world, sessions, db) -> None:
    with signed_in(app, world.agent_a) as client:
        _wrap_up(client, world.tenant_a.id, consent=False, caller_number="3125550142")
    assert db.scalar(select(func.count()).select_from(Job).where(Job.kind == "survey.send")) == 0
    worker.run_due(sessions)
    assert db.scalar(select(func.count()).select_from(Survey)) == 0


def test_the_job_is_idempotent_one_survey_per_contact(app, world, sessions, db) -> None:
    with signed_in(app, world.agent_a) as client:
        cid = _wrap_up(client, world.tenant_a.id, consent=True, caller_number="3125550142")
    worker.run_due(sessions)
    with transaction(sessions) as s:
        contact = s.get(Contact, cid)
        again = service.create_survey(
            s, contact, secret_key="x" * 20, public_url="https://example.test", link_days=3
        )
        assert (again.expires_at - again.created_at).days == 7  # the first survey, unchanged
    assert db.scalar(select(func.count()).select_from(Survey)) == 1
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_a_chat_contact_gets_the_link_by_email_and_one_without_any_address_is_kept_unsent(
    app, world, sessions, db
) -> None:
    from careline.audit.service import Actor
    from careline.patients.service import create_patient

    with transaction(sessions) as s:
        patient = create_patient(
            s,
            tenant_id=world.tenant_a.id,
            actor=Actor("test"),
            first_name="Ada",
            last_name="Lovelace",
            dob="1970-01-01",
            email="ada@example.test",
            confirm_new=True,
        )
        emailed = Contact(
            tenant_id=world.tenant_a.id, channel=Channel.CHAT, patient_id=patient.id, survey_consent=True
        )
        nowhere = Contact(tenant_id=world.tenant_a.id, channel=Channel.WEB, survey_consent=True)
        s.add_all([emailed, nowhere])
        s.flush()
        for contact in (emailed, nowhere):
            service.create_survey(s, contact, secret_key="k" * 20, public_url="https://x.test", link_days=7)
        ids = emailed.id, nowhere.id
    by_contact = {s.contact_id: s for s in db.scalars(select(Survey))}
    email, unsent = by_contact[ids[0]], by_contact[ids[1]]
    mail = db.get(OutboxMessage, email.outbox_message_id)
    assert email.channel is SurveyChannel.EMAIL and (mail.channel, mail.to) == (
        MessageChannel.EMAIL,
        "ada@example.test",
    )
    assert mail.subject == "Tenant A Health: how did we do?" and mail.patient_id is not None
    assert (
        unsent.channel is SurveyChannel.NONE and unsent.outbox_message_id is None and unsent.sent_at is None
    )
    assert "no phone number or email" in unsent.delivery_note


def test_answers_given_on_the_phone_use_the_same_rules(app, world, sessions, db) -> None:
    with signed_in(app, world.agent_a) as client:
        cid = _wrap_up(client, world.tenant_a.id, consent=True, caller_number="3125550142")
        assert client.get(f"/api/v1/surveys/by-contact/{cid}").status_code == 404  # job not run yet
        worker.run_due(sessions)
        status = client.get(f"/api/v1/surveys/by-contact/{cid}").json()
        assert status["answered"] is False and status["channel"] == "sms"
        questions = client.get("/api/v1/surveys/questions").json()
        assert [q["field"] for q in questions] == ["csat", "nps", "need_met", "comment"]
        url = f"/api/v1/surveys/{status['id']}/answers"
        bad = client.post(url, json={"csat": 0, "nps": 5, "need_met": True})
        assert bad.status_code == 422
        ok = client.post(url, json={"csat": 3, "nps": 6, "need_met": False, "comment": "long hold"})
        assert ok.status_code == 200 and ok.json()["answered"] is True and ok.json()["via"] == "phone"
        again = client.post(url, json={"csat": 5, "nps": 10, "need_met": True})
        assert again.status_code == 409 and "already have your answers" in again.json()["message"]
    row = db.get(Survey, status["id"])
    assert (row.csat, row.nps, row.need_met, row.comment) == (3, 6, False, "long hold")
