"""Publishing and reading live events.

An event row is written in the same transaction as the change it describes, so a screen never
hears of something that was rolled back. On PostgreSQL the row's insert trigger also sends NOTIFY (delivered
at commit) to wake listeners at once; on SQLite listeners poll briefly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from careline.db import insert_rows
from careline.jobs.models import Event

NOTIFY_CHANNEL = "careline_events"


def publish(
    session: Session,
    channel: str,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    tenant_id: int | None = None,
) -> None:
    """Record an event for live screens; it becomes visible when the transaction commits.

    One plain INSERT (`insert_rows`: no object, no flush). On PostgreSQL a trigger on the table
    sends NOTIFY `careline_events` with the channel's name (migration 0013), delivered at commit."""
    row = {"channel": channel, "kind": kind, "payload": payload or {}, "tenant_id": tenant_id}
    insert_rows(session, Event, [row])


def latest_id(session: Session) -> int:
    """The newest event id (a new listener starts after it)."""
    return int(session.scalar(select(func.max(Event.id))) or 0)


def read_since(
    session: Session,
    after_id: int,
    channels: Iterable[str],
    tenant_ids: frozenset[int] | None,
    *,
    limit: int = 200,
) -> Sequence[Event]:
    """Events after `after_id` on these channels, limited to the listener's tenants."""
    stmt = select(Event).where(Event.id > after_id, Event.channel.in_(list(channels)))
    if tenant_ids is not None:
        stmt = stmt.where(Event.tenant_id.in_(tenant_ids) | Event.tenant_id.is_(None))
    return list(session.scalars(stmt.order_by(Event.id).limit(limit)))
