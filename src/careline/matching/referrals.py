"""Referrals from a match: record that the caller was referred to a provider, on the call.

Contacts sit above matching in the layer order (.importlinter), so matching never imports them: the
app factory hands `careline.contacts.service` in through `connect_contacts` (the `ContactsPort`).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.audit.service import Actor, record
from careline.db import scope_of
from careline.directory.models import Provider, ProviderLocation
from careline.errors import NotFound, ValidationFailed


class ContactsPort(Protocol):
    """What matching needs from the contacts domain to record a referral (connected by the app).

    contacts sits above matching in the layer order, so matching never imports it; the app factory
    hands its service module in with `connect_contacts`.
    """

    def get_contact(self, session: Session, contact_id: int) -> Any: ...
    def reasons_of(self, session: Session, contact: Any) -> list[Any]: ...
    def get_reason(self, session: Session, contact: Any, reason_id: int) -> Any: ...
    def add_reason(self, session: Session, contact: Any, by: Any, *, intent: Any, text: str = "") -> Any: ...
    def record_outcome(
        self,
        session: Session,
        contact: Any,
        by: Any,
        reason: Any,
        *,
        outcome: Any,
        detail: dict[str, Any] | None = None,
        disposition_code: str | None = None,
    ) -> Any: ...


_contacts: dict[str, Any] = {}


def connect_contacts(port: Any) -> None:
    """Called by the app factory with careline.contacts.service (see ContactsPort)."""
    _contacts["port"] = port


FIND_DOCTOR = "find_doctor"
REFERRAL_MADE = "referral_made"


def refer(
    session: Session,
    *,
    actor: Actor,
    user_id: int | None,
    provider_id: int,
    contact_id: int | None = None,
    patient_id: int | None = None,
    reason_id: int | None = None,
    location_id: int | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Record that the caller was referred to a provider: REFERRAL_MADE on the contact's find-a-doctor
    reason (added when the contact has none open), and an audit row; returns what booking needs."""
    if contact_id is None and patient_id is None:
        raise ValidationFailed("say which contact or patient was referred", field="contact_id")
    provider = session.get(Provider, provider_id)
    if provider is None or not scope_of(session).allows(provider.tenant_id):
        raise NotFound(f"provider {provider_id} not found")
    patient = None
    if patient_id is not None:
        from careline.patients.service import get_patient

        patient = get_patient(session, patient_id, actor=actor)
        if patient.tenant_id != provider.tenant_id:
            raise ValidationFailed("that patient belongs to another client", field="patient_id")
    if location_id is not None:
        link = session.scalar(
            select(ProviderLocation.id).where(
                ProviderLocation.provider_id == provider.id, ProviderLocation.location_id == location_id
            )
        )
        if link is None:
            raise ValidationFailed("the provider does not practise at that location", field="location_id")
    detail = {
        "provider_id": provider.id,
        "provider": provider.display_name,
        "location_id": location_id,
        "patient_id": patient.id if patient else None,
    }
    if note:
        detail["note"] = note[:500]
    reason_out = None
    if contact_id is not None:
        port = _contacts.get("port")
        if port is None:
            raise ValidationFailed("contacts are not connected in this process", field="contact_id")
        contact = port.get_contact(session, contact_id)
        if contact.tenant_id != provider.tenant_id:
            raise ValidationFailed("the contact belongs to another client", field="contact_id")
        by = _by(port, user_id, actor)
        if reason_id is not None:
            reason = port.get_reason(session, contact, reason_id)
        else:
            open_reasons = [
                x
                for x in port.reasons_of(session, contact)
                if str(x.intent) == FIND_DOCTOR and x.outcome is None
            ]
            reason = (
                open_reasons[0]
                if open_reasons
                else port.add_reason(
                    session, contact, by, intent=_intent(port, FIND_DOCTOR), text="find a doctor"
                )
            )
        port.record_outcome(
            session, contact, by, reason, outcome=_outcome(port, REFERRAL_MADE), detail=detail
        )
        reason_out = reason.id
        if patient is None and contact.patient_id is not None:
            detail["patient_id"] = contact.patient_id
    record(
        session,
        actor,
        "match.referral",
        tenant_id=provider.tenant_id,
        object_type="provider",
        object_id=provider.id,
        detail={
            k: v
            for k, v in {**detail, "contact_id": contact_id, "reason_id": reason_out}.items()
            if k != "note"
        },
    )
    return {
        "tenant_id": provider.tenant_id,
        "provider_id": provider.id,
        "provider": provider.display_name,
        "patient_id": detail["patient_id"],
        "contact_id": contact_id,
        "reason_id": reason_out,
        "outcome": REFERRAL_MADE if reason_out is not None else None,
        "booking": booking_hint(provider.id, detail["patient_id"], location_id, contact_id),
    }


def _by(port: Any, user_id: int | None, actor: Actor) -> Any:
    return port.By(user_id=user_id, actor=actor)


def _intent(port: Any, value: str) -> Any:
    enum = getattr(port, "Intent", None)
    return enum(value) if enum is not None else value


def _outcome(port: Any, value: str) -> Any:
    enum = getattr(port, "Outcome", None)
    return enum(value) if enum is not None else value


def booking_hint(
    provider_id: int, patient_id: int | None, location_id: int | None, contact_id: int | None
) -> dict[str, Any]:
    """What the console calls next to book with this provider: find its open times (scheduling's
    availability with `type_id` a new-patient type, `per_provider=1`), then POST the chosen one."""
    return {
        "provider_id": provider_id,
        "patient_id": patient_id,
        "location_id": location_id,
        "contact_id": contact_id,
        "new_patient": True,
        "availability": f"/api/v1/scheduling/availability?provider_ids={provider_id}&per_provider=1",
        "book": "/api/v1/scheduling/appointments",
    }
