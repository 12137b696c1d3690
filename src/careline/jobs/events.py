"""Publishing and reading live events.

An event row is written in the same transaction as the change it describes, so a screen never
hears of something that was rolled back. On PostgreSQL the row's insert trigger also sends NOTIFY (delivered
at commit) to wake listeners at once; on SQLite listeners poll briefly.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Sequence
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
    exclude: Collection[int] = (),
) -> Sequence[Event]:
    """Events after `after_id` on these channels, limited to the listener's tenants (but those
    whose ids are in `exclude`)."""
    stmt = select(Event).where(Event.id > after_id, Event.channel.in_(list(channels)))
    if exclude:
        stmt = stmt.where(Event.id.not_in(list(exclude)))
    if tenant_ids is not None:
        stmt = stmt.where(Event.tenant_id.in_(tenant_ids) | Event.tenant_id.is_(None))
    return list(session.scalars(stmt.order_by(Event.id).limit(limit)))


LATE_SECONDS = 30.0


class Cursor:
    """Where one listener is in the events, such that an event committed late is still heard.

    Ids are handed out at insert, and transactions commit in any order: on PostgreSQL a reader can
    see event 12 committed while event 11 is still in a transaction that commits a moment later.
    Reading on from "after the last id seen" would skip 11 for good. So the cursor reads on from a
    floor (every id at or below it is settled) and leaves out, by id, the events it already gave;
    the floor rises to an event's id once that event was given `late_seconds` ago, so an event
    whose transaction commits within that time of a later one is still given, once. (SQLite runs one
    writer at a time: there ids commit in order and this costs nothing.)
    """

    def __init__(
        self,
        after: int,
        *,
        late_seconds: float = LATE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.floor = after
        self.late_seconds = late_seconds
        self._clock = clock
        self._given: deque[tuple[float, int]] = deque()  # (when, id) of events above the floor

    def read(
        self, session: Session, channels: Iterable[str], tenant_ids: frozenset[int] | None
    ) -> Sequence[Event]:
        """The events not given yet, oldest id first; they count as given from now."""
        now = self._clock()
        while self._given and now - self._given[0][0] >= self.late_seconds:
            self.floor = max(self.floor, self._given.popleft()[1])
        given = {i for _, i in self._given if i > self.floor}
        rows = read_since(session, self.floor, channels, tenant_ids, exclude=given)
        self._given.extend((now, e.id) for e in rows)
        return rows
