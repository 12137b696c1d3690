"""The permission table: the one place that says what each role may do."""

from __future__ import annotations

from enum import StrEnum

from careline.accounts.models import Role


class Permission(StrEnum):
    SIGNED_IN = "signed_in"  # any authenticated user: own profile, own tokens, logout
    TENANT_READ = "tenant.read"
    TENANT_MANAGE = "tenant.manage"
    USER_MANAGE = "user.manage"
    AUDIT_READ = "audit.read"
    PATIENT_READ = "patient.read"
    PATIENT_WRITE = "patient.write"
    DIRECTORY_READ = "directory.read"
    DIRECTORY_WRITE = "directory.write"
    SCHEDULE_READ = "schedule.read"
    SCHEDULE_WRITE = "schedule.write"
    SCHEDULE_CONFIGURE = "schedule.configure"
    MATCH = "match"
    ANALYZE = "analyze"
    CONTACT_HANDLE = "contact.handle"
    ESCALATION_RAISE = "escalation.raise"
    ESCALATION_HANDLE = "escalation.handle"
    QUEUE_READ = "queue.read"
    QUEUE_MANAGE = "queue.manage"
    REPORT_READ = "report.read"
    REPORT_ALL_TENANTS = "report.all_tenants"
    SURVEY_READ = "survey.read"


P = Permission

_FRONT_LINE = {
    P.SIGNED_IN,
    P.TENANT_READ,
    P.PATIENT_READ,
    P.PATIENT_WRITE,
    P.DIRECTORY_READ,
    P.SCHEDULE_READ,
    P.SCHEDULE_WRITE,
    P.MATCH,
    P.ANALYZE,
    P.CONTACT_HANDLE,
    P.ESCALATION_RAISE,
    P.QUEUE_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.AGENT: frozenset(_FRONT_LINE),
    Role.NURSE: frozenset(_FRONT_LINE | {P.ESCALATION_HANDLE}),
    Role.SUPERVISOR: frozenset(
        _FRONT_LINE
        | {P.ESCALATION_HANDLE, P.QUEUE_MANAGE, P.REPORT_READ, P.REPORT_ALL_TENANTS, P.SURVEY_READ}
    ),
    # A client's manager reads what the call center did for their practice; no PHI, no changes.
    Role.PRACTICE_MANAGER: frozenset(
        {P.SIGNED_IN, P.TENANT_READ, P.DIRECTORY_READ, P.REPORT_READ, P.SURVEY_READ}
    ),
    Role.ADMIN: frozenset(Permission),
}


def has_permission(role: Role, permission: Permission) -> bool:
    """True when the role's row in the table grants the permission."""
    return permission in ROLE_PERMISSIONS[role]
