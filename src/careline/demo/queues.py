"""Demo queues: each client's standard queues, and the demo staff given the skills to take their calls."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.accounts.models import User, UserTenant
from careline.queues import service as queues
from careline.tenants.models import Tenant

# Which queues each demo role works (nurses and supervisors also take general calls when it is busy).
ROLE_SKILLS = {
    "agent": {"general", "scheduling", "referrals", "billing", "spanish"},
    "nurse": {"nurse", "general"},
    "supervisor": {"general", "scheduling", "referrals", "billing", "spanish", "nurse"},
}


def seed_queues(db: Session, options: object) -> dict[str, int]:
    """Standard queues per tenant (plus the directory's department queues) and demo staff skills."""
    made = 0
    skills_by_tenant: dict[int, set[str]] = {}
    for tenant in db.scalars(select(Tenant)):
        tenant_queues = queues.ensure_default_queues(db, tenant.id)
        made += len(tenant_queues)
        skills_by_tenant[tenant.id] = {q.skill for q in tenant_queues}
    for user in db.scalars(select(User).where(User.role.in_(list(ROLE_SKILLS)))):
        tenant_ids = db.scalars(select(UserTenant.tenant_id).where(UserTenant.user_id == user.id)).all()
        available = set().union(*(skills_by_tenant.get(t, set()) for t in tenant_ids))
        wanted = ROLE_SKILLS[str(user.role)]
        # Department queues (e.g. "records") are worked by agents too.
        extra = available - {"nurse"} if str(user.role) == "agent" else set()
        queues.set_skills(db, user.id, sorted((wanted & available) | extra))
    return {"queues": made}
