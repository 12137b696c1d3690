"""Survey links: the signature is checked, the link expires, and a survey takes exactly one answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from sqlalchemy import select

from careline.audit.models import AuditEvent
from careline.audit.service import Actor
from careline.db import SYSTEM, open_session, transaction
from careline.surveys import links, service
from careline.surveys.models import AnsweredVia, Survey
from tests.factories import CSRF, anonymous
from tests.surveys.factories import make_survey

SECRET = "test-secret-key-0123456789"  # the app fixture's secret
ANSWERS = {"csat": "4", "nps": "9", "need_met": "yes", "comment": "quick and kind", "csrf_token": CSRF}


@pytest.fixture
def survey(world, sessions, clock) -> Survey:
    with transaction(sessions) as db:
        return make_survey(db, world.tenant_a.id, agent_user_id=world.agent_a.id)


def _url(survey_id: int, secret: str = SECRET) -> str:
    return f"/survey/{links.make_token(secret, survey_id)}"


def test_a_genuine_link_shows_the_four_questions(app, survey) -> None:
    page = anonymous(app).get(_url(survey.id))
    assert page.status_code == 200
    assert "How did we do?" in page.text and "Tenant A Health" in page.text
    for question in service.QUESTIONS:
        assert question["text"] in page.text
    assert 'name="csrf_token"' in page.text


def test_the_answers_are_stored_once_with_the_contact_and_audited(app, survey, db) -> None:
    client = anonymous(app)
    done = client.post(_url(survey.id), data=ANSWERS)
    assert done.status_code == 200 and "Your answers are saved" in done.text
    row = db.get(Survey, survey.id)
    assert (row.csat, row.nps, row.need_met, row.comment, row.via) == (4, 9, True, "quick and kind", "link")
    assert row.answered_at is not None and row.contact_id == survey.contact_id
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "survey.answer")).all()
    assert [(a.object_id, a.actor) for a in audit] == [(str(survey.id), "survey link")]


def test_a_second_submit_is_refused_politely_and_changes_nothing(app, survey, db) -> None:
    client = anonymous(app)
    assert client.post(_url(survey.id), data=ANSWERS).status_code == 200
    again = client.post(_url(survey.id), data={**ANSWERS, "csat": "1", "comment": "changed my mind"})
    assert again.status_code == 409
    assert "thank you, we already have your answers" in again.text.lower()
    revisit = client.get(_url(survey.id))
    assert revisit.status_code == 200 and "we already have your answers" in revisit.text
    row = db.get(Survey, survey.id)
    assert (row.csat, row.comment) == (4, "quick and kind")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: "Mg" + t[t.index(".") :],  # payload swapped for another id ("2"), old signature
        lambda t: links.make_token("another-secret-key-0123456789", 1),  # signed with the wrong key
        lambda t: links.URLSafeTimedSerializer(SECRET, salt="careline.session").dumps(1),  # wrong salt
        lambda t: links.make_token(SECRET, "1"),  # genuine signature over a non-integer payload
        lambda t: "not-a-token",
    ],
)
def test_a_tampered_link_says_it_is_not_valid(app, survey, tamper) -> None:
    token = tamper(links.make_token(SECRET, survey.id))
    client = anonymous(app)
    page = client.get(f"/survey/{token}")
    assert page.status_code == 404 and "This link is not valid" in page.text
    post = client.post(f"/survey/{token}", data=ANSWERS)
    assert post.status_code == 404 and "This link is not valid" in post.text


def test_a_link_for_a_survey_that_does_not_exist_is_not_valid(app, survey) -> None:
    page = anonymous(app).get(_url(survey.id + 1000))
    assert page.status_code == 404 and "not valid" in page.text


def test_a_link_expires_after_the_configured_days(app, survey, clock, db) -> None:
    client = anonymous(app)
    url = _url(survey.id)
    clock.advance(days=7, seconds=-1)
    assert client.get(url).status_code == 200
    clock.advance(seconds=2)
    page = client.get(url)
    assert page.status_code == 410 and "This survey link has expired" in page.text
    post = client.post(url, data=ANSWERS)
    assert post.status_code == 410 and "expired" in post.text
    assert db.get(Survey, survey.id).answered_at is None


def test_the_surveys_own_expiry_closes_it_even_when_the_token_is_younger(
    app, survey, sessions, clock
) -> None:
    with transaction(sessions) as s:
        s.get(Survey, survey.id).expires_at = survey.created_at + timedelta(hours=1)
    url = _url(survey.id)
    assert anonymous(app).get(url).status_code == 200
    clock.advance(hours=2)
    page = anonymous(app).get(url)
    assert page.status_code == 410 and "expired" in page.text


def test_a_post_without_the_csrf_token_is_refused(app, survey, db) -> None:
    client = anonymous(app)
    client.headers.pop("X-CSRF-Token")
    response = client.post(_url(survey.id), data={k: v for k, v in ANSWERS.items() if k != "csrf_token"})
    assert response.status_code == 403
    assert db.get(Survey, survey.id).answered_at is None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"csat": ""}, "csat", "please answer: satisfaction"),
        ({"csat": "6"}, "csat", "satisfaction (1 to 5) must be a number from 1 to 5"),
        ({"nps": "eleven"}, "nps", "must be a number from 0 to 10"),
        ({"nps": "-1"}, "nps", "must be a number from 0 to 10"),
        ({"need_met": "maybe"}, "need_met", "was your need met today?"),
        ({"comment": "x" * 2001}, "comment", "limited to 2000 characters"),
    ],
)
def test_bad_answers_are_shown_again_with_a_message(app, survey, db, change, field, message) -> None:
    response = anonymous(app).post(_url(survey.id), data={**ANSWERS, **change})
    assert response.status_code == 422 and message in response.text
    assert 'aria-invalid="true"' in response.text or field == "comment"
    assert db.get(Survey, survey.id).answered_at is None


def test_the_conditional_update_refuses_a_racer_that_read_the_survey_before_it_was_answered(
    sessions, survey
) -> None:
    """Two submits that both saw the survey unanswered: the UPDATE ... WHERE answered_at IS NULL lets
    exactly one through, whichever commits first."""
    slow = open_session(sessions, SYSTEM)
    stale = slow.get(Survey, survey.id)  # read while unanswered
    slow.commit()  # (SQLite: releases the write lock; the object keeps its unanswered state)
    answers = service.validate_answers(csat=5, nps=10, need_met=True)
    with transaction(sessions) as fast:
        service.answer(fast, fast.get(Survey, survey.id), answers, via=AnsweredVia.LINK, actor=Actor("t"))
    assert stale.answered_at is None
    with pytest.raises(service.AlreadyAnswered):
        late = service.validate_answers(csat=1, nps=0, need_met=False)
        service.answer(slow, stale, late, via=AnsweredVia.LINK, actor=Actor("t"))
    slow.rollback()
    slow.close()
    with transaction(sessions) as check:
        assert check.get(Survey, survey.id).csat == 5


def test_racing_submits_store_exactly_one_answer(app, survey, db) -> None:
    racers = 6
    barrier = Barrier(racers)

    def submit(i: int) -> int:
        client = anonymous(app)
        barrier.wait()
        return client.post(_url(survey.id), data={**ANSWERS, "csat": str(1 + i % 5)}).status_code

    with ThreadPoolExecutor(max_workers=racers) as pool:
        codes = sorted(pool.map(submit, range(racers)))
    assert codes == [200] + [409] * (racers - 1)
    assert db.get(Survey, survey.id).answered_at is not None
