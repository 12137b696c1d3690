"""Demo patients: reproducible per seed, spread like the issue asks, and found by the lookups."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import select

from careline.db import transaction
from careline.demo.seed import seed_demo
from careline.kit import geo
from careline.models import metadata
from careline.patients import service
from careline.patients.models import Patient, PatientPhone
from careline.tenants.models import Tenant
from tests.patients.helpers import ACTOR

SMALL = {"patients": 150, "providers": 30}
DEMO_PHONE = re.compile(r"\+1(312|773|872|708|847|630)55501\d\d")


def _fingerprint(db) -> list[tuple]:
    db.rollback()
    patients = db.execute(
        select(
            Tenant.slug, Patient.mrn, Patient.first_name, Patient.last_name, Patient.preferred_name,
            Patient.dob, Patient.sex, Patient.preferred_language, Patient.zip, Patient.work_zip,
            Patient.member_id, Patient.referral_source, Patient.referral_note, Patient.email,
        )
        .join(Tenant, Tenant.id == Patient.tenant_id)
        .order_by(Tenant.slug, Patient.mrn)
    ).all()  # fmt: skip
    phones = db.execute(
        select(Patient.mrn, PatientPhone.e164, PatientPhone.kind, PatientPhone.is_primary)
        .join(Patient, Patient.id == PatientPhone.patient_id)
        .order_by(Patient.mrn, PatientPhone.e164)
    ).all()
    return [tuple(r) for r in patients] + [tuple(r) for r in phones]


def _empty(engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


def test_the_same_seed_builds_the_same_patients_and_another_seed_does_not(sessions, engine, db) -> None:
    seed_demo(sessions, seed=3, cheap_hash=True, **SMALL)
    first = _fingerprint(db)
    db.rollback()
    _empty(engine)
    seed_demo(sessions, seed=3, cheap_hash=True, **SMALL)
    assert _fingerprint(db) == first
    db.rollback()
    _empty(engine)
    seed_demo(sessions, seed=4, cheap_hash=True, **SMALL)
    assert _fingerprint(db) != first


def test_the_demo_patients_look_like_the_issue_asks(sessions, db) -> None:
    result = seed_demo(sessions, seed=7, cheap_hash=True, **SMALL)
    assert result.counts["patients"] == 150
    db.rollback()
    patients = list(db.scalars(select(Patient)))
    by_tenant = Counter(db.get(Tenant, p.tenant_id).slug for p in patients)
    assert by_tenant.most_common(1)[0][0] == "lakeshore" and by_tenant["lakeshore"] >= 90
    assert len(by_tenant) == 3
    assert all(p.zip and geo.zip_info(p.zip) and p.home_lat for p in patients)
    assert all(geo.zip_info(p.work_zip) for p in patients if p.work_zip)
    languages = Counter(p.preferred_language for p in patients)
    assert languages.most_common(1)[0][0] == "en" and "es" in languages
    assert {p.referral_source for p in patients} >= {"friend_family", "physician_referral", "web_search"}
    phones = list(db.scalars(select(PatientPhone.e164)))
    assert phones and all(DEMO_PHONE.fullmatch(e) for e in phones)
    assert all(p.last_name_key == service.name_columns(p.last_name)["last_name_key"] for p in patients)


def test_the_demo_links_plans_and_pcps_of_the_patients_own_tenant(sessions, db) -> None:
    from careline.directory.models import InsurancePlan, Provider

    seed_demo(sessions, seed=7, cheap_hash=True, **SMALL)
    db.rollback()
    for p in db.scalars(select(Patient).where(Patient.insurance_plan_id.is_not(None))):
        assert db.get(InsurancePlan, p.insurance_plan_id).tenant_id == p.tenant_id
    pcp_ids = set()
    for p in db.scalars(select(Patient).where(Patient.pcp_provider_id.is_not(None))):
        assert db.get(Provider, p.pcp_provider_id).tenant_id == p.tenant_id
        pcp_ids.add(p.pcp_provider_id)
    with transaction(sessions) as s:
        primary_care = {pr.id for pr in service.primary_care_providers(s)}
    assert pcp_ids <= primary_care
    if primary_care:  # the directory's demo made PCPs: most patients name one
        assert len(pcp_ids) > 1
    if db.query(InsurancePlan).count():
        assert db.query(Patient).filter(Patient.insurance_plan_id.is_not(None)).count() > 100


def test_demo_patients_are_found_by_phone_and_name_and_new_mrns_follow_on(sessions, db) -> None:
    seed_demo(sessions, seed=7, cheap_hash=True, **SMALL)
    db.rollback()
    patient = db.scalars(select(Patient).order_by(Patient.id)).first()
    e164 = db.scalars(select(PatientPhone.e164).where(PatientPhone.patient_id == patient.id)).first()
    typed_dob = f"{patient.dob.month}/{patient.dob.day}/{patient.dob.year}"
    with transaction(sessions) as s:
        for typed in (f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}", f"{e164[2:5]}.{e164[5:8]}.{e164[8:]}"):
            assert patient.id in [c.patient.id for c in service.lookup_by_phone(s, typed, actor=ACTOR)]
        found = service.lookup_by_name_dob(
            s, f"{patient.first_name} {patient.last_name}", typed_dob, actor=ACTOR
        )
        assert found[0].patient.id == patient.id
        tenant = s.get(Tenant, patient.tenant_id)
        count = db.query(Patient).filter(Patient.tenant_id == tenant.id).count()
        new = service.create_patient(
            s, tenant_id=tenant.id, actor=ACTOR, first_name="Zed", last_name="Newcomer", dob="2001-02-03"
        )
        assert new.mrn == f"{patient.mrn.split('-')[0]}-{count + 1:06d}"
