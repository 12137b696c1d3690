"""The navigation bar: each entry shows only to roles whose permission covers it."""

from __future__ import annotations

from dataclasses import dataclass

from careline.accounts.models import Role
from careline.accounts.permissions import Permission, has_permission


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str
    permission: Permission


NAV: list[NavItem] = [
    NavItem("Home", "/", Permission.SIGNED_IN),
    NavItem("Agent console", "/console", Permission.CONTACT_HANDLE),
    NavItem("Nurse console", "/nurse", Permission.ESCALATION_HANDLE),
    NavItem("Wallboard", "/wallboard", Permission.QUEUE_MANAGE),
    NavItem("Patients", "/patients", Permission.PATIENT_READ),
    NavItem("Directory", "/directory", Permission.DIRECTORY_READ),
    NavItem("Find a doctor", "/match", Permission.MATCH),
    NavItem("Scheduling", "/scheduling", Permission.SCHEDULE_READ),
    NavItem("Queues", "/queues", Permission.QUEUE_READ),
    NavItem("Reports", "/reports", Permission.REPORT_READ),
    NavItem("Staffing", "/staffing", Permission.REPORT_READ),
    NavItem("Clients", "/admin/clients", Permission.TENANT_MANAGE),
    NavItem("Users", "/admin/users", Permission.USER_MANAGE),
    NavItem("Audit log", "/admin/audit", Permission.AUDIT_READ),
    NavItem("My account", "/account", Permission.SIGNED_IN),
]


def nav_for(role: Role) -> list[NavItem]:
    """The entries this role may open."""
    return [item for item in NAV if has_permission(role, item.permission)]


def register(item: NavItem, *, before: str | None = "My account") -> None:
    """Add a domain's page to the bar (called when its router is included)."""
    if item in NAV:
        return
    labels = [n.label for n in NAV]
    NAV.insert(labels.index(before) if before in labels else len(NAV), item)
