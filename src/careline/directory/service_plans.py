"""Insurance plans a tenant's providers may accept."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from careline.db import get_scoped
from careline.directory import validate
from careline.directory.common import page, require_tenant
from careline.directory.models import InsurancePlan
from careline.errors import Conflict

PLAN_TYPES = (
    "HMO",
    "PPO",
    "EPO",
    "POS",
    "HDHP",
    "Medicare",
    "Medicare Advantage",
    "Medicaid",
    "Marketplace",
    "Other",
)


def _clean(session: Session, tenant_id: int, data: dict[str, Any], current: InsurancePlan | None) -> dict:
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = validate.text(data["name"], "name", max_len=200, required=True)
        clash = session.scalar(
            select(InsurancePlan.id).where(
                InsurancePlan.tenant_id == tenant_id, InsurancePlan.name == out["name"]
            )
        )
        if clash is not None and (current is None or clash != current.id):
            raise Conflict(f"this client already has a plan named '{out['name']}'", field="name")
    if "payer" in data:
        out["payer"] = validate.text(data["payer"], "payer", max_len=200)
    if "plan_type" in data:
        out["plan_type"] = validate.text(data["plan_type"], "plan_type", max_len=40)
    if data.get("active") is not None:
        out["active"] = validate.boolean(data["active"], "active")
    return out


def create_plan(
    session: Session, *, tenant_id: int, name: str, payer: str = "", plan_type: str = "", active: bool = True
) -> InsurancePlan:
    """Add an insurance plan; names are unique per tenant."""
    require_tenant(session, tenant_id)
    values = _clean(
        session, tenant_id, {"name": name, "payer": payer, "plan_type": plan_type, "active": active}, None
    )
    plan = InsurancePlan(tenant_id=tenant_id, **values)
    session.add(plan)
    session.flush()
    return plan


def update_plan(session: Session, plan_id: int, changes: dict[str, Any]) -> InsurancePlan:
    """Rename, retype or deactivate a plan."""
    plan = get_plan(session, plan_id)
    changes = {k: v for k, v in changes.items() if k != "tenant_id"}
    for key, value in _clean(session, plan.tenant_id, changes, plan).items():
        setattr(plan, key, value)
    session.flush()
    return plan


def get_plan(session: Session, plan_id: int) -> InsurancePlan:
    """One plan in scope, or NotFound."""
    return get_scoped(session, InsurancePlan, plan_id, what="plan")


def list_plans(
    session: Session,
    *,
    tenant_id: int | None = None,
    q: str | None = None,
    active: bool | None = True,
    limit: int = 200,
    offset: int = 0,
) -> tuple[list[InsurancePlan], int]:
    """Plans by name, with the total."""
    limit, offset = page(limit, offset)
    stmt = select(InsurancePlan)
    if tenant_id is not None:
        stmt = stmt.where(InsurancePlan.tenant_id == tenant_id)
    if active is not None:
        stmt = stmt.where(InsurancePlan.active.is_(active))
    if q and q.strip():
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(func.lower(InsurancePlan.name).like(like), func.lower(InsurancePlan.payer).like(like))
        )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(InsurancePlan.name, InsurancePlan.id).limit(limit).offset(offset))
    return list(rows), total
