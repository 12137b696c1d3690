"""A small hand-made directory around Chicago for the matching tests.

ZIP centroids (miles): 60614 Lincoln Park - 60601 Loop 3.0, 60657 Lakeview 1.2, 60625 Lincoln Square
4.4, 60201 Evanston 9.4, 60302 Oak Park 7.6; 60601 Loop - Evanston 12.3, Oak Park 8.8, Lakeview 4.1.
Each location sits on its ZIP's centroid, so a patient in the same ZIP is 0.0 mi away.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from careline.db import transaction
from careline.directory.models import Location
from careline.kit import geo
from tests.directory import factories as f
from tests.factories import World

ADULTS = {"sees_pediatric": False, "sees_adult": True, "sees_geriatric": True}
EVERYONE = {"sees_pediatric": True, "sees_adult": True, "sees_geriatric": True}
CHILDREN = {"sees_pediatric": True, "sees_adult": False, "sees_geriatric": False}

FAMILY, INTERNAL, PEDIATRICS = "207Q00000X", "207R00000X", "208000000X"
ORTHO, SPORTS, ALLERGY, DERM, OBGYN = "207X00000X", "207QS0010X", "207K00000X", "207N00000X", "207V00000X"


@dataclass
class Chicago:
    """Ids of what the world made, by short name."""

    loc: dict[str, int] = field(default_factory=dict)
    plan: dict[str, int] = field(default_factory=dict)
    doc: dict[str, int] = field(default_factory=dict)
    other_tenant_doc: int = 0

    def name_of(self, provider_id: int) -> str:
        return next(k for k, v in self.doc.items() if v == provider_id)


def build(sessions: sessionmaker[Session], world: World) -> Chicago:
    """Tenant A's directory (and one tenant-B provider right in Lincoln Park)."""
    out = Chicago()
    a = world.tenant_a.id
    with transaction(sessions) as db:
        for key, name, zip5 in [
            ("lp", "Lincoln Park Clinic", "60614"),
            ("loop", "Loop Medical Pavilion", "60601"),
            ("lv", "Lakeview Office", "60657"),
            ("sq", "Lincoln Square Clinic", "60625"),
            ("ev", "Evanston Center", "60201"),
            ("op", "Oak Park Office", "60302"),
            ("closed", "Old Town Annex", "60614"),
        ]:
            out.loc[key] = f.location(db, a, name=name, zip=zip5).id
        f_closed = out.loc["closed"]
        from careline.directory import service

        service.update_location(db, f_closed, {"active": False})
        out.plan["aetna"] = f.plan(db, a, name="Aetna PPO", payer="Aetna", plan_type="PPO").id
        out.plan["bcbs"] = f.plan(db, a, name="BCBS HMO", payer="Blue Cross", plan_type="HMO").id
        aetna, bcbs = out.plan["aetna"], out.plan["bcbs"]

        def doc(key: str, first: str, last: str, codes: list[str], loc: str, **extra: object) -> None:
            extra.setdefault("plans", [aetna, bcbs])
            extra.setdefault("languages", ["en"])
            out.doc[key] = f.provider(
                db,
                a,
                first_name=first,
                last_name=last,
                specialties=codes,
                location_ids=[out.loc[loc]],
                **extra,
            ).id

        # Orthopedics and sports medicine for knee pain.
        doc(
            "olivia",
            "Olivia",
            "Ortiz",
            [ORTHO],
            "loop",
            gender="female",
            languages=["en", "es"],
            plans=[aetna],
            visit_reasons=["knee pain", "sports injury"],
            **EVERYONE,
        )
        doc("oscar", "Oscar", "Olsen", [ORTHO], "op", gender="male", plans=[bcbs], **EVERYONE)
        doc("sam", "Sam", "Sato", [SPORTS], "ev", gender="male", telehealth=True, **EVERYONE)
        # Primary care in Lincoln Park and Lakeview.
        doc("frank", "Frank", "Fischer", [FAMILY], "lp", gender="male", **EVERYONE)
        doc(
            "fiona",
            "Fiona",
            "Flores",
            [FAMILY],
            "lv",
            gender="female",
            languages=["en", "es"],
            telehealth=True,
            **EVERYONE,
        )
        doc("ian", "Ian", "Ingram", [INTERNAL], "lv", gender="male", **ADULTS)
        doc(
            "kim",
            "Grace",
            "Kim",
            [FAMILY],
            "lp",
            gender="female",
            accepting_new_patients=False,
            languages=["en", "ko"],
            **EVERYONE,
        )
        doc(
            "nora",
            "Nora",
            "Nakamura",
            [FAMILY],
            "lp",
            gender="female",
            plans=[{"plan_id": aetna, "accepting_new": False}, bcbs],
            **EVERYONE,
        )
        doc("gone", "Gina", "Gone", [FAMILY], "lp", active=False, **EVERYONE)
        doc("annex", "Andy", "Annex", [FAMILY], "closed", **EVERYONE)
        # Children and asthma.
        doc(
            "paula", "Paula", "Perez", [PEDIATRICS], "sq", gender="female", languages=["en", "es"], **CHILDREN
        )
        doc("adam", "Adam", "Abbott", [ALLERGY], "lp", gender="male", min_age=18, **ADULTS)
        doc("alice", "Alice", "Allen", [ALLERGY], "op", gender="female", **EVERYONE)
        # Dermatology: English in Lakeview, Spanish-speaking only in Evanston.
        doc("derek", "Derek", "Dunn", [DERM], "lv", gender="male", **EVERYONE)
        doc("diana", "Diana", "Diaz", [DERM], "ev", gender="female", languages=["es", "en"], **EVERYONE)
        # Pregnancy.
        doc("grace", "Greta", "Gomez", [OBGYN], "loop", gender="female", **ADULTS)

        b = world.tenant_b.id
        b_loc = f.location(db, b, name="B Lincoln Park", zip="60614")
        out.other_tenant_doc = f.provider(
            db,
            b,
            first_name="Bob",
            last_name="Kimball",
            specialties=[FAMILY, ORTHO, DERM, PEDIATRICS],
            location_ids=[b_loc.id],
            languages=["en", "es"],
            **EVERYONE,
        ).id
    return out


RANDOM_CODES = [FAMILY, INTERNAL, PEDIATRICS, ORTHO, SPORTS, DERM, OBGYN]


def random_directory(
    sessions: sessionmaker[Session], world: World, rng: random.Random, *, ages: bool = False
) -> tuple[list[str], list[int]]:
    """Tenant A: 600 random providers at 60 places around Chicago (some at one hub), 3 plans; the
    ZIPs and the plan ids. `ages`: also random age groups and limits, and some inactive providers
    and locations."""
    a = world.tenant_a.id
    zips = [z.zip for z in geo.zips_near("60614", 25, standard_only=True)]
    codes = RANDOM_CODES
    with transaction(sessions) as s:
        plans = [f.plan(s, a).id for _ in range(3)]
        locs = [f.location(s, a, zip=rng.choice(zips)).id for _ in range(60)]
        hub = locs[0]
        for _ in range(600):
            code = rng.choice(codes)
            where = [rng.choice(locs)] + (
                [hub] if code in ("207X00000X", "207N00000X") and rng.random() < 0.5 else []
            )
            extra: dict[str, object] = {}
            if ages:
                extra = {
                    "sees_pediatric": rng.random() < 0.4,
                    "sees_adult": rng.random() < 0.8,
                    "sees_geriatric": rng.random() < 0.7,
                    "min_age": rng.choice([None, None, 2, 12]),
                    "max_age": rng.choice([None, None, 17, 70]),
                }
            p = f.provider(
                s,
                a,
                specialties=[code] + ([rng.choice(codes)] if rng.random() < 0.2 else []),
                languages=["en"]
                + (["es"] if rng.random() < 0.3 else [])
                + (["gu"] if rng.random() < 0.05 else []),
                location_ids=list(dict.fromkeys(where)),
                gender=rng.choice(["female", "male"]),
                accepting_new_patients=rng.random() < 0.85,
                plans=[
                    {"plan_id": p, "accepting_new": rng.random() < 0.9} for p in plans if rng.random() < 0.7
                ],
                telehealth=rng.random() < 0.3,
                visit_reasons=rng.choice([[], ["knee pain"], ["annual physical"]]),
                **extra,
            )
            if ages and rng.random() < 0.05:
                p.active = False
        if ages:
            for lid in rng.sample(locs[1:], 3):
                s.get(Location, lid).active = False
    return zips, plans


def random_requests(
    rng: random.Random, zips: list[str], plans: list[int], *, ages: bool = False
) -> list[dict[str, object]]:
    """30 requests over the random directory (with `ages`, also ages and a required gender)."""
    requests: list[dict[str, object]] = []
    for need in ("knee pain", "need a physical", "dermatologist", "pregnant", "my son's asthma"):
        for _ in range(6):
            request: dict[str, object] = dict(
                need=need,
                zip=rng.choice(zips),
                work_zip=rng.choice([None, "60601", rng.choice(zips)]),
                plan_id=rng.choice([None, *plans]),
                language=rng.choice([None, "es", "gu"]),
                language_required=rng.random() < 0.5,
                gender=rng.choice([None, "female"]),
                max_miles=rng.choice([None, 3, 8]),
                telehealth=rng.random() < 0.3,
                accepting_required=rng.random() < 0.8,
                limit=rng.choice([5, 10]),
            )
            if ages:
                request["age"] = rng.choice([None, 1, 8, 15, 40, 72])
                request["gender_required"] = rng.random() < 0.3
            requests.append(request)
    return requests
