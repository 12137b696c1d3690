"""Finding open times: one provider or many, preferences, reserved blocks, exceptions, closures, places."""

from __future__ import annotations

from datetime import date, timedelta

from careline.audit.service import Actor
from careline.db import transaction
from careline.directory.models import Department, LocationClosure
from careline.scheduling import config, service
from careline.scheduling.models import Appointment, AppointmentStatus
from tests.scheduling import helpers as h

API = "/api/v1/scheduling/availability"
TUE = date(2026, 12, 8)


def local(slot) -> str:
    return slot.start_local.strftime("%a %H:%M")


def search(sessions, **kw):
    with transaction(sessions) as db:
        return service.find_availability(db, **kw)


def test_next_available_for_one_provider_starts_now_and_keeps_the_grid(cal, sessions) -> None:
    found = search(sessions, type_id=cal.office, provider_ids=[cal.kim], limit=3)
    # Monday 09:00 now: the 09:00 start is not in the future; 09:15 is next.
    assert [local(s) for s in found.slots] == ["Mon 09:15", "Mon 09:30", "Mon 09:45"]
    assert found.slots[0].provider_name == "Dr. Kim" and found.slots[0].location_name == "Oak Street"
    assert found.slots[0].timezone == "America/Chicago"


def test_many_providers_merge_in_time_order(cal, sessions) -> None:
    found = search(
        sessions, type_id=cal.office, provider_ids=[cal.kim, cal.lee], date_from=TUE, date_to=TUE, limit=4
    )
    assert [(local(s), s.provider_name) for s in found.slots] == [
        ("Tue 08:00", "Dr. Kim"),
        ("Tue 08:00", "Dr. Lee"),
        ("Tue 08:15", "Dr. Kim"),
        ("Tue 08:15", "Dr. Lee"),
    ]


def test_weekday_and_time_of_day_preferences(cal, sessions) -> None:
    found = search(
        sessions,
        type_id=cal.office,
        provider_ids=[cal.kim],
        weekdays=["tue"],
        time_of_day="afternoon",
        limit=2,
    )
    assert [local(s) for s in found.slots] == ["Tue 13:00", "Tue 13:15"]
    assert {s.location_name for s in found.slots} == {"Main"}
    after = search(
        sessions,
        type_id=cal.office,
        provider_ids=[cal.kim],
        after="11:30",
        weekdays=[2],
        date_to=date(2026, 12, 13),
    )
    assert [local(s) for s in after.slots] == ["Wed 11:30"]  # 11:40 would end after 12:00


def test_the_types_notice_and_horizon_clip_the_search(cal, sessions) -> None:
    found = search(sessions, type_id=cal.new, provider_ids=[cal.kim], limit=1)
    assert found.slots[0].start_at.isoformat() == "2026-12-08T15:00:00+00:00"  # 24 h from now
    sick = search(sessions, type_id=cal.sick, provider_ids=[cal.kim], limit=100)
    assert {s.start_local.date() for s in sick.slots} == {date(2026, 12, 7)}  # today only


def test_booked_and_held_time_is_not_offered_but_expired_holds_are(cal, sessions, clock) -> None:
    with transaction(sessions) as db:
        for minute, status, expires in [(0, "booked", None), (15, "pending", 5), (30, "pending", -1)]:
            start = h.utc(2026, 12, 8, 14, minute)
            db.add(
                Appointment(
                    tenant_id=cal.tenant_id,
                    provider_id=cal.kim,
                    location_id=cal.oak,
                    patient_id=cal.bob,
                    type_id=cal.office,
                    start_at=start,
                    end_at=start + timedelta(minutes=15),
                    status=AppointmentStatus(status),
                    hold_expires_at=None if expires is None else clock.now + timedelta(minutes=expires),
                )
            )
    found = search(sessions, type_id=cal.office, provider_ids=[cal.kim], date_from=TUE, date_to=TUE, limit=3)
    # 08:00 booked, 08:15 held; the 08:30 hold already expired, so 08:30 is open again.
    assert [local(s) for s in found.slots] == ["Tue 08:30", "Tue 08:45", "Tue 09:00"]


def test_a_same_day_sick_block_is_held_until_ten_that_morning(cal, sessions, clock) -> None:
    with transaction(sessions) as db:
        sick_doc = h.provider(db, cal.tenant_id, "Sick", locations=[db.get(h.Location, cal.main)])
        config.create_template(
            db,
            provider_id=sick_doc.id,
            location_id=cal.main,
            weekday=0,
            start_local="13:00",
            end_local="14:00",
            effective_from=date(2026, 1, 1),
            reserved_type_id=cal.sick,
            release_at_local="10:00",
        )
    office = {"type_id": cal.office, "provider_ids": [sick_doc.id], "limit": 10}
    assert search(sessions, **office, date_from=date(2026, 12, 7), date_to=date(2026, 12, 7)).slots == []
    held = search(sessions, type_id=cal.sick, provider_ids=[sick_doc.id], limit=10)
    assert [local(s) for s in held.slots][:2] == ["Mon 13:00", "Mon 13:15"]
    clock.advance(hours=1)  # 10:00 in Chicago: released to every type
    released = search(sessions, **office, date_from=date(2026, 12, 7), date_to=date(2026, 12, 7))
    assert [local(s) for s in released.slots] == ["Mon 13:00", "Mon 13:15", "Mon 13:30"]
    # Next Monday's block is still held.
    later = search(sessions, **office, date_from=date(2026, 12, 14), date_to=date(2026, 12, 14))
    assert later.slots == []


def test_exceptions_take_time_out(cal, sessions) -> None:
    with transaction(sessions) as db:
        # Dr. Kim on vacation Tuesday morning; a tenant-wide holiday on Wednesday; Oak Street closed Thursday.
        config.create_exception(
            db,
            provider_id=cal.kim,
            starts_at=h.utc(2026, 12, 8, 14),
            ends_at=h.utc(2026, 12, 8, 18),
            kind="vacation",
        )
        config.create_exception(
            db,
            tenant_id=cal.tenant_id,
            starts_at=h.utc(2026, 12, 9, 6),
            ends_at=h.utc(2026, 12, 10, 6),
            kind="holiday",
            reason="Staff day",
        )
        config.create_exception(
            db,
            location_id=cal.oak,
            starts_at=h.utc(2026, 12, 10, 6),
            ends_at=h.utc(2026, 12, 11, 6),
            kind="closure",
        )
    days = search(
        sessions,
        type_id=cal.office,
        provider_ids=[cal.kim, cal.lee],
        date_from=TUE,
        date_to=date(2026, 12, 11),
        limit=500,
    ).slots
    by_day: dict[str, set[str]] = {}
    for s in days:
        by_day.setdefault(s.start_local.strftime("%a"), set()).add(s.provider_name)
    tuesday_kim = sorted(
        local(s) for s in days if s.provider_name == "Dr. Kim" and local(s).startswith("Tue")
    )
    assert tuesday_kim[0] == "Tue 13:00"  # morning away; afternoon at Main
    assert "Wed" not in by_day  # holiday for everyone
    assert "Thu" not in by_day  # both work at Oak Street on Thursday
    assert by_day["Fri"] == {"Dr. Kim", "Dr. Lee"}


def test_a_directory_closure_day_closes_the_location(cal, sessions) -> None:
    with transaction(sessions) as db:
        db.add(LocationClosure(tenant_id=cal.tenant_id, location_id=cal.oak, date=TUE, reason="Inventory"))
    tue = search(sessions, type_id=cal.office, provider_ids=[cal.kim], date_from=TUE, date_to=TUE, limit=100)
    assert {s.location_name for s in tue.slots} == {"Main"}


def test_per_provider_gives_each_ones_first_time(cal, sessions) -> None:
    with transaction(sessions) as db:
        firsts = service.next_available_by_provider(db, [cal.kim, cal.lee, cal.young], cal.office, days=7)
    assert {pid: local(s) for pid, s in firsts.items() if s} == {
        cal.kim: "Mon 09:15",
        cal.lee: "Mon 09:15",
        cal.young: "Mon 09:15",
    }
    assert firsts[cal.young].location_name == "Main"  # type: ignore[union-attr]
    with transaction(sessions) as db:
        none = service.next_available_by_provider(db, [cal.kim], cal.new, days=1)
    assert none == {cal.kim: None}  # 24 hours' notice: nothing within today


def test_patient_filters_leave_out_providers_who_would_refuse(cal, sessions, db) -> None:
    found = search(
        sessions,
        type_id=cal.office,
        provider_ids=[cal.kim, cal.lee, cal.young],
        patient_id=cal.bob,
        actor=Actor("test"),
        limit=5,
    )
    assert found.excluded == {
        cal.lee: "Dr. Lee is not accepting new patients",
        cal.young: "Dr. Young does not see patients 18 and over",
    }
    assert {s.provider_id for s in found.slots} == {cal.kim}


def test_search_by_place_department_and_radius(cal, sessions) -> None:
    with transaction(sessions) as db:
        dept = Department(
            tenant_id=cal.tenant_id, name="Main clinic desk", kind="scheduling", location_id=cal.main
        )
        db.add(dept)
        db.flush()
        dept_id = dept.id
    by_dept = search(
        sessions, type_id=cal.office, department_id=dept_id, date_from=TUE, date_to=TUE, limit=50
    )
    assert {s.provider_name for s in by_dept.slots} == {"Dr. Kim", "Dr. Young"}
    assert {s.location_name for s in by_dept.slots} == {"Main"}
    near = search(
        sessions, type_id=cal.office, near_zip="60614", radius_miles=1.0, date_from=TUE, date_to=TUE
    )
    assert {s.location_name for s in near.slots} == {"Oak Street"}  # Main (60601) is ~3 miles away
    assert near.slots[0].distance_miles is not None and near.slots[0].distance_miles < 1.0
    wide = search(sessions, type_id=cal.office, near_zip="60614", radius_miles=10, date_from=TUE, date_to=TUE)
    assert {s.location_name for s in wide.slots} == {"Oak Street", "Main"}


def test_the_api_answers_with_local_times_and_left_out_providers(client, cal) -> None:
    r = client.get(
        API,
        params={
            "type_id": cal.office,
            "provider_ids": [cal.kim, cal.young],
            "date_from": "2026-12-08",
            "limit": 2,
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["start_local"] for s in body["slots"]] == [
        "2026-12-08T08:00:00-06:00",
        "2026-12-08T08:00:00-06:00",
    ]
    missing = client.get(API, params={"type_id": cal.office})
    assert missing.status_code == 422 and missing.json()["field"] == "provider_ids"
    other = client.get(API, params={"type_id": cal.b_type, "provider_ids": [cal.b_provider]})
    assert other.status_code == 404  # tenant B's type
    bad_zip = client.get(API, params={"type_id": cal.office, "near_zip": "00000", "radius_miles": 5})
    assert bad_zip.status_code == 422 and bad_zip.json()["field"] == "near_zip"
