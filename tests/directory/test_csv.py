"""CSV import reports bad rows by line and saves the rest; export and import round-trip."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from careline.db import transaction
from careline.directory import csvio, service
from careline.directory.models import Location, Provider
from tests.directory import factories as make


def _upload(client, kind: str, tenant_id: int, text: str):
    files = {"file": (f"{kind}.csv", text.encode("utf-8"), "text/csv")}
    return client.post(f"/api/v1/{kind}/import", data={"tenant_id": str(tenant_id)}, files=files)


def _places(sessions, world) -> None:
    with transaction(sessions) as db:
        make.location(db, world.tenant_a.id, name="North Clinic")
        make.location(db, world.tenant_a.id, name="South Clinic", zip="60637")
        make.plan(db, world.tenant_a.id, name="Acme PPO")
        make.plan(db, world.tenant_a.id, name="State Medicaid")


def test_provider_import_reports_each_bad_row_by_line_and_keeps_the_good_ones(
    admin, sessions, world, db
) -> None:
    _places(sessions, world)
    good1, good2, good3 = make.npi(), make.npi(), make.npi()
    bad_digit = good1[:9] + str((int(good1[9]) + 1) % 10)
    text = (
        "npi,first_name,last_name,specialties,languages,locations,plans,plans_not_accepting_new,accepting_new_patients\n"
        f"{good1},Ana,Garcia,pediatrics,en;es,North Clinic,Acme PPO,State Medicaid,yes\n"  # line 2
        f"{bad_digit},Bad,Checkdigit,207Q00000X,en,,,,yes\n"  # line 3
        f"{good2},Bo,Novak,207Q00000X;207QS0010X,pl,North Clinic;South Clinic,,,no\n"  # line 4
        f"{make.npi()},Cy,Nowhere,207Q00000X,en,Mars Clinic,,,yes\n"  # line 5
        f'{make.npi()},Di,Lang,207Q00000X,"en;klingon",,,,yes\n'  # line 6
        "\n"  # line 7, blank: skipped
        f'{good3},"Eve\nMarie",Multi,999XX0000X,en,,,,yes\n'  # lines 8-9: bad specialty
        f"{make.npi()},Fay,Yesno,207Q00000X,en,,,,perhaps\n"  # line 10
        f"{make.npi()},Gus,Goodlast,207R00000X,en,South Clinic,Acme PPO,,\n"  # line 11
    )
    report = _upload(admin, "providers", world.tenant_a.id, text)
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["created"], body["updated"]) == (3, 0)
    assert [(e["line"], e["field"]) for e in body["errors"]] == [
        (3, "npi"),
        (5, "locations"),
        (6, "languages"),
        (8, "specialties"),
        (10, "accepting_new_patients"),
    ]
    saved = {p.last_name: p for p in db.scalars(select(Provider))}
    assert sorted(saved) == ["Garcia", "Goodlast", "Novak"]
    with transaction(sessions) as s:
        garcia = service.get_provider(s, saved["Garcia"].id)
        assert [x.language for x in garcia.languages] == ["en", "es"]
        assert [(link.plan.name, link.accepting_new) for link in garcia.plan_links] == [
            ("Acme PPO", True),
            ("State Medicaid", False),
        ]
        assert service.get_provider(s, saved["Novak"].id).accepting_new_patients is False


def test_reimporting_the_same_file_changes_nothing_and_a_changed_row_updates(
    admin, sessions, world, db
) -> None:
    _places(sessions, world)
    npi = make.npi()
    text = f"npi,first_name,last_name,specialties,locations\n{npi},Ana,Garcia,208000000X,North Clinic\n"
    assert _upload(admin, "providers", world.tenant_a.id, text).json()["created"] == 1
    again = _upload(admin, "providers", world.tenant_a.id, text).json()
    assert (again["created"], again["updated"], again["unchanged"], again["errors"]) == (0, 0, 1, [])
    changed = text.replace("North Clinic", "South Clinic")
    assert _upload(admin, "providers", world.tenant_a.id, changed).json()["updated"] == 1
    assert db.scalar(select(func.count()).select_from(Provider)) == 1


def test_a_file_without_a_required_column_is_refused_whole(admin, world) -> None:
    response = _upload(admin, "providers", world.tenant_a.id, "first_name,last_name\nAna,Garcia\n")
    assert response.status_code == 422
    assert response.json()["field"] == "npi"
    unknown = _upload(
        admin, "providers", world.tenant_a.id, f"npi,first_name,last_name,shoe_size\n{make.npi()},A,B,9\n"
    )
    assert unknown.json()["created"] == 1
    assert unknown.json()["errors"] == [
        {"line": 1, "field": "shoe_size", "message": "unknown column 'shoe_size' was ignored"}
    ]


def test_location_import_reports_unknown_zip_and_bad_phone_by_line(admin, world, db) -> None:
    text = (
        "name,address_line1,zip,phone,hours,closures\n"
        "Alpha,1 Main St,60614,(312) 555-0101,Mon-Fri 08:00-17:00,2026-12-25 Christmas Day\n"
        "Beta,2 Main St,00000,,,\n"
        "Gamma,3 Main St,60201,555-1234,,\n"
        "Delta,4 Main St,60540,,Mon-Fri 9-5,\n"
        "Epsilon,5 Main St,60540,,,2026-13-45 Nope\n"
        "Zeta,6 Main St,60126,,Sat 09:00-12:00,\n"
    )
    body = _upload(admin, "locations", world.tenant_a.id, text).json()
    assert body["created"] == 2
    assert [(e["line"], e["field"]) for e in body["errors"]] == [
        (3, "zip"),
        (4, "phone"),
        (5, "hours"),
        (6, "closures"),
    ]
    assert sorted(db.scalars(select(Location.name))) == ["Alpha", "Zeta"]


def test_export_then_import_into_an_empty_tenant_gives_the_same_directory(admin, sessions, world) -> None:
    a, b = world.tenant_a.id, world.tenant_b.id
    with transaction(sessions) as s:
        for tid in (a, b):
            make.plan(s, tid, name="Acme PPO")
            make.plan(s, tid, name="State Medicaid")
        loc = make.location(
            s, a, name="North Clinic", parking="Lot, validated", hours="Mon-Fri 08:00-17:00; Sat 09:00-12:00",
            closures=[{"date": "2026-12-25", "reason": "Christmas Day"}], accessibility='Ramp, "step-free"',
        )  # fmt: skip
        plans = {p.name: p.id for p in service.list_plans(s, tenant_id=a)[0]}
        make.provider(
            s, a, first_name="Ana", last_name="Garcia", specialties=["208000000X", "2080P0006X"],
            languages=["en", "es"], location_ids=[loc.id], visit_reasons=["fever", "ear infection"],
            conditions=["asthma"], bio="Line one,\nline two", min_age=0, max_age=18, telehealth=True,
            plans=[{"plan_id": plans["Acme PPO"], "accepting_new": True},
                   {"plan_id": plans["State Medicaid"], "accepting_new": False}],
        )  # fmt: skip
        make.provider(s, a, first_name="Bo", last_name="Inactive", active=False)
    locations_csv = admin.get("/api/v1/locations/export.csv", params={"tenant_id": a})
    providers_csv = admin.get("/api/v1/providers/export.csv", params={"tenant_id": a})
    assert providers_csv.headers["content-type"].startswith("text/csv")
    assert _upload(admin, "locations", b, locations_csv.text).json() == {
        "created": 1, "updated": 0, "unchanged": 0, "errors": []
    }  # fmt: skip
    assert _upload(admin, "providers", b, providers_csv.text).json()["created"] == 2
    again_l = admin.get("/api/v1/locations/export.csv", params={"tenant_id": b}).text
    again_p = admin.get("/api/v1/providers/export.csv", params={"tenant_id": b}).text
    assert again_l == locations_csv.text
    assert again_p == providers_csv.text
    rows = list(csv.DictReader(io.StringIO(again_p)))
    assert rows[0]["plans_not_accepting_new"] == "State Medicaid" and rows[1]["active"] == "no"


def test_csv_service_counts_unchanged_rows_on_reimport(sessions, world) -> None:
    with transaction(sessions) as s:
        make.location(s, world.tenant_a.id, name="North Clinic")
        exported = csvio.export_locations(s, world.tenant_a.id)
        result = csvio.import_locations(s, tenant_id=world.tenant_a.id, data=exported.encode())
    assert (result.created, result.updated, result.unchanged, result.errors) == (0, 0, 1, [])
