"""Open now, next opening and routing, all in the place's own time zone; closures close whole days."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from careline.db import transaction
from careline.directory import rules, service
from tests.directory import factories as make

# The clock fixture starts at Monday 2026-12-07 15:00 UTC = 09:00 in Chicago, 07:00 in Los Angeles.


def test_a_location_is_open_by_its_own_clock(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        chicago = make.location(db, world.tenant_a.id, zip="60614", hours="Mon-Fri 08:00-17:00")
        la = make.location(db, world.tenant_a.id, zip="90012", hours="Mon-Fri 08:00-17:00")
        assert la.timezone == "America/Los_Angeles"
        assert service.location_is_open(chicago) is True
        assert service.location_is_open(la) is False  # 07:00 there
        assert service.next_open_text(la) == "Closed now; opens today at 8 AM"
        assert service.next_open_text(chicago) == "Open now until 5 PM"
        clock.advance(hours=8)  # 17:00 in Chicago: closing time is closed
        assert service.location_is_open(chicago) is False
        assert service.next_open_text(chicago) == "Closed now; opens tomorrow at 8 AM"
        assert service.location_is_open(la) is True


def test_a_closure_day_closes_the_location_and_moves_the_next_opening(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        loc = make.location(db, world.tenant_a.id, hours="Mon-Fri 08:00-17:00; Sat 09:00-12:00")
        service.add_closure(db, loc.id, day="2026-12-07", reason="Snow day")
        service.add_closure(db, loc.id, day="2026-12-08", reason="Still snowing")
    with transaction(sessions) as db:
        loc = service.get_location(db, loc.id)
        assert service.location_is_open(loc) is False
        assert service.next_open_text(loc) == "Closed now; opens Wednesday at 8 AM"
        reopened = next(c.id for c in loc.closures if c.reason == "Snow day")
        service.remove_closure(db, loc.id, reopened)
        assert service.location_is_open(loc) is True


def test_closures_are_read_even_when_not_loaded(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        loc = make.location(
            db, world.tenant_a.id, hours="24/7", closures=[{"date": "2026-12-07", "reason": "x"}]
        )
    with transaction(sessions) as db:
        from careline.directory.models import Location

        plain = db.get(Location, loc.id)  # closures not eager-loaded (lazy="raise")
        assert service.location_is_open(plain) is False


def test_hours_follow_daylight_saving_time(sessions, world) -> None:
    with transaction(sessions) as db:
        loc = make.location(db, world.tenant_a.id, hours="Mon-Sun 08:00-09:00")
        summer = datetime(2026, 7, 6, 13, 30, tzinfo=UTC)  # 08:30 CDT (UTC-5)
        winter = datetime(2026, 12, 7, 14, 30, tzinfo=UTC)  # 08:30 CST (UTC-6)
        assert service.location_is_open(loc, summer) and service.location_is_open(loc, winter)
        assert not service.location_is_open(loc, datetime(2026, 12, 7, 13, 30, tzinfo=UTC))  # 07:30 CST


def test_hours_text_round_trips_and_bad_hours_say_why() -> None:
    text = "Mon-Thu 08:00-18:00; Fri 08:00-17:00; Sat 09:00-12:00"
    assert rules.format_hours_text(rules.parse_hours_text(text)) == text
    assert rules.format_hours_text(rules.parse_hours_text("daily 00:00-24:00")) == "24/7"
    split = rules.parse_hours_text("Mon 08:00-12:00, 13:00-17:00")
    assert split == {"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}
    for bad, why in [
        ("Mon 08:00-25:00", "time"),
        ("Mon 12:00-09:00", "closes before"),
        ("Xyz 08:00-09:00", "day"),
    ]:
        with pytest.raises(ValueError, match=why):
            rules.parse_hours_text(bad)
    with pytest.raises(ValueError, match="overlap"):
        rules.parse_hours_text("Mon 08:00-12:00, 11:00-13:00")


def test_overnight_service_reads_as_open_until_the_morning() -> None:
    hours = rules.parse_hours_text(
        "Mon-Fri 00:00-08:00, 17:00-24:00; Sat-Sun 24/7".replace("24/7", "00:00-24:00")
    )
    friday_night = datetime(2026, 12, 12, 3, 0, tzinfo=UTC)  # Fri 21:00 Chicago
    assert rules.describe(hours, set(), friday_night, "America/Chicago") == "Open now until Monday at 8 AM"


def test_department_for_intent_prefers_an_open_department(sessions, world, clock) -> None:
    tid = world.tenant_a.id
    with transaction(sessions) as db:
        day = make.department(db, tid, name="Day billing", hours="Mon-Fri 08:00-17:00", intents=["billing"])
        night = make.department(
            db, tid, name="Late billing", hours="Mon-Fri 17:00-21:00", intents=["billing"]
        )
        make.department(db, world.tenant_b.id, name="B billing", intents=["billing"])
        assert service.department_for_intent(db, tid, "billing").name == "Day billing"
        assert service.is_open_now(db, day) and not service.is_open_now(db, night)
        clock.advance(hours=9)  # 18:00 Chicago
        assert service.department_for_intent(db, tid, "billing").name == "Late billing"
        assert service.department_for_intent(db, tid, "records") is None
        service.update_department(db, night.id, {"active": False})
        assert (
            service.department_for_intent(db, tid, "billing").name == "Day billing"
        )  # closed, but the one left


def test_a_department_at_a_location_keeps_its_hours_and_closures(sessions, world, clock) -> None:
    with transaction(sessions) as db:
        loc = make.location(db, world.tenant_a.id, hours="Mon-Fri 08:00-17:00")
        lab = make.department(db, world.tenant_a.id, name="Lab", kind="lab", location_id=loc.id, hours=None)
        nurse = make.department(db, world.tenant_a.id, name="Nurses", kind="nurse_line", intents=["clinical"])
        assert service.is_open_now(db, lab) is True
        service.add_closure(db, loc.id, day="2026-12-07", reason="Holiday")
        assert service.is_open_now(db, lab) is False
        assert service.department_next_open_text(db, lab) == "Closed now; opens tomorrow at 8 AM"
        assert service.is_open_now(db, nurse) is True  # no hours, no location: around the clock
        assert service.department_next_open_text(db, nurse) == "Open 24 hours"


def test_resources_match_intents_and_caller_words_most_urgent_first(sessions, world) -> None:
    tid = world.tenant_a.id
    with transaction(sessions) as db:
        assert service.seed_default_resources(db, tid) >= 8
        assert service.seed_default_resources(db, tid) == 0  # idempotent
        names = lambda found: [r.name for r in found]  # noqa: E731
        poison = names(service.resources_for(db, tid, "My son swallowed bleach"))
        assert poison[0].startswith("Poison Control")
        crisis = names(service.resources_for(db, tid, "I want to kill myself"))
        assert crisis[0] == "988 Suicide & Crisis Lifeline"
        assert "Emergency services (911)" in names(service.resources_for(db, tid, "out_of_scope"))
        assert any(
            "Medicaid" in n for n in names(service.resources_for(db, tid, "how do I get a medical card"))
        )
        assert service.resources_for(db, tid, "billing statement") == []
        assert service.resources_for(db, world.tenant_b.id, "poison") == []  # tenant B has none yet
