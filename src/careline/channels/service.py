"""Queue messages for the channels to send; written in the caller's transaction (sent only if it commits)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from careline.channels.models import MessageChannel, MessageStatus, OutboxMessage
from careline.db import insert_rows


def message_fields(
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
) -> dict[str, Any]:
    """An outbox row's fields; with no address it is kept as `no_address` so staff can follow up."""
    return {
        "tenant_id": tenant_id,
        "channel": MessageChannel(channel),
        "to": to or None,
        "subject": subject[:200],
        "body": body,
        "attachments": list(attachments),
        "status": MessageStatus.QUEUED if to else MessageStatus.NO_ADDRESS,
        "related_type": related_type,
        "related_id": related_id,
        "patient_id": patient_id,
    }


def queue_message(session: Session, **fields: Any) -> OutboxMessage:
    """Add a message to the outbox (see `message_fields`); flushed, so it has its id."""
    message = OutboxMessage(**message_fields(**fields))
    session.add(message)
    session.flush()
    return message


def queue_messages(session: Session, messages: Sequence[dict[str, Any]]) -> None:
    """Add several messages (`message_fields` each) with one INSERT, as rows rather than objects."""
    insert_rows(session, OutboxMessage, messages)


def messages_for(session: Session, related_type: str, related_id: int) -> list[OutboxMessage]:
    """The messages queued about one object, oldest first."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.related_type == related_type, OutboxMessage.related_id == related_id)
        .order_by(OutboxMessage.id)
    )
    return list(session.scalars(stmt))
