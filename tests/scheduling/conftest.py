"""A small calendar world in tenant A (and a little of one in tenant B) for scheduling tests.

The test clock is frozen at Monday 2026-12-07 15:00 UTC = 09:00 in Chicago.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from careline.db import transaction
from tests.scheduling import helpers as h


@dataclass(frozen=True)
class Cal:
    tenant_id: int
    oak: int  # Oak Street, Chicago (America/Chicago)
    main: int  # Main, Chicago
    kim: int  # Dr. Kim: Mon-Fri 08:00-12:00 at Oak Street, Tue 13:00-17:00 at Main; accepting new
    lee: int  # Dr. Lee: Mon-Fri 08:00-17:00 at Oak Street; not accepting new patients
    young: int  # Dr. Young: pediatrics only, Mon-Fri 08:00-12:00 at Main
    office: int  # Office visit: 20 min, anyone, no notice
    new: int  # New patient visit: 40 min, new patients, 24 h notice, 90 days
    follow: int  # Follow-up: 20 min, established
    sick: int  # Same-day sick: 15 min, today only
    consult: int  # Ortho consult: 30 min, referral required
    ann: int  # adult patient (1980), consents to email and SMS; Dr. Lee is her PCP (established)
    bob: int  # adult patient (1975)
    kid: int  # a child (2016)
    b_provider: int  # tenant B
    b_type: int
    b_patient: int
    b_location: int


@pytest.fixture
def cal(world, sessions, clock) -> Cal:
    return build_cal(world, sessions)


def build_cal(world, sessions) -> Cal:
    """The calendar world (the `cal` fixture freezes the clock first; live-server tests do not)."""
    a, b = world.tenant_a.id, world.tenant_b.id
    with transaction(sessions) as db:
        oak = h.location(
            db, a, "Oak Street", directions="Enter on Oak St, 2nd floor.", parking="Free lot behind."
        )
        main = h.location(db, a, "Main", zip5="60601")
        kim = h.provider(db, a, "Kim", locations=[oak, main], telehealth=True)
        lee = h.provider(db, a, "Lee", first="Omar", locations=[oak], accepting_new_patients=False)
        young = h.provider(
            db,
            a,
            "Young",
            first="Pat",
            locations=[main],
            codes=("208000000X",),
            sees_pediatric=True,
            sees_adult=False,
            sees_geriatric=False,
        )
        office = h.kind(db, a, "Office visit", 20)
        new = h.kind(
            db,
            a,
            "New patient visit",
            40,
            patient_kind="new",
            min_notice_minutes=1440,
            max_days_ahead=90,
            preparation="Bring your insurance card and a list of medicines.",
        )
        follow = h.kind(db, a, "Follow-up", 20, patient_kind="established")
        sick = h.kind(db, a, "Same-day sick", 15, max_days_ahead=0)
        consult = h.kind(db, a, "Ortho consult", 30, referral_required=True)
        h.weekly(db, kim.id, oak.id, "0-4", "08:00", "12:00")
        h.weekly(db, kim.id, main.id, "1", "13:00", "17:00")
        h.weekly(db, lee.id, oak.id, "0-4", "08:00", "17:00")
        h.weekly(db, young.id, main.id, "0-4", "08:00", "12:00")
        ann = h.patient(
            db,
            a,
            "Ann",
            "Archer",
            "1980-05-01",
            email="ann@example.com",
            consent_email=True,
            consent_sms=True,
            phones=["(312) 555-0142"],
            pcp_provider_id=lee.id,
        )
        bob = h.patient(db, a, "Bob", "Baker", "1975-02-02")
        kid = h.patient(db, a, "Kit", "Child", "2016-06-06")
        b_loc = h.location(db, b, "B Clinic", zip5="10001")
        b_prov = h.provider(db, b, "Other", locations=[b_loc])
        b_type = h.kind(db, b, "Office visit", 20)
        h.weekly(db, b_prov.id, b_loc.id, "0-4", "08:00", "17:00")
        b_pat = h.patient(db, b, "Bea", "Other", "1970-01-01")
        return Cal(
            tenant_id=a,
            oak=oak.id,
            main=main.id,
            kim=kim.id,
            lee=lee.id,
            young=young.id,
            office=office,
            new=new,
            follow=follow,
            sick=sick,
            consult=consult,
            ann=ann,
            bob=bob,
            kid=kid,
            b_provider=b_prov.id,
            b_type=b_type,
            b_patient=b_pat,
            b_location=b_loc.id,
        )


def book_body(
    cal: Cal,
    start: str,
    *,
    provider: int | None = None,
    location: int | None = None,
    type_id: int | None = None,
    patient: int | None = None,
    **extra,
) -> dict:
    return {
        "provider_id": provider or cal.kim,
        "location_id": location or cal.oak,
        "type_id": type_id or cal.office,
        "patient_id": patient or cal.ann,
        "start_at": start,
        **extra,
    }


@pytest.fixture
def client(app, world, clock):
    """The tenant-A agent, signed in on the frozen clock (a session started earlier would look idle)."""
    from tests.factories import signed_in

    with signed_in(app, world.agent_a) as c:
        yield c
