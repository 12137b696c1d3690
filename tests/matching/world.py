"""A small hand-made directory around Chicago for the matching tests.

ZIP centroids (miles): 60614 Lincoln Park - 60601 Loop 3.0, 60657 Lakeview 1.2, 60625 Lincoln Square
4.4, 60201 Evanston 9.4, 60302 Oak Park 7.6; 60601 Loop - Evanston 12.3, Oak Park 8.8, Lakeview 4.1.
Each location sits on its ZIP's centroid, so a patient in the same ZIP is 0.0 mi away.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from careline.db import transaction
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
