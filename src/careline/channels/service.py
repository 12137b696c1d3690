"""Queue messages for the channels to send; written in the caller's transaction (sent only if it commits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.channels.models import MessageChannel, MessageStatus, OutboxMessage


def queue_message(
    session: Session,
    *,
    tenant_id: int,
    channel: MessageChannel | str,
    to: str | None,
    body: str,
    subject: str = "",
    related_type: str | None = None,
    related_id: int | None = None,
    patient_id: int | None = None,
    attachments: Sequence[dict[str, Any]] = (),
    flush: bool = True,
) -> OutboxMessage:
    """Add a message to the outbox; with no address it is kept as `no_address` so staff can follow up.

    flush=False leaves the row to be written with the transaction's other changes (no id until then)."""
    message = OutboxMessage(
        tenant_id=tenant_id,
        channel=MessageChannel(channel),
        to=to or None,
        subject=subject[:200],
        body=body,
        attachments=list(attachments),
        status=MessageStatus.QUEUED if to else MessageStatus.NO_ADDRESS,
        related_type=related_type,
        related_id=related_id,
        patient_id=patient_id,
    )
    session.add(message)
    if flush:
        session.flush()
    return message


def messages_for(session: Session, related_type: str, related_id: int) -> list[OutboxMessage]:
    """The messages queued about one object, oldest first."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.related_type == related_type, OutboxMessage.related_id == related_id)
        .order_by(OutboxMessage.id)
    )
    return list(session.scalars(stmt))
