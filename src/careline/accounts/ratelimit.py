"""Fixed-window rate limits kept in the database, so every app process counts together."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from careline.accounts.models import RateCounter
from careline.kit.clock import utcnow


def _insert_for(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def hit(
    session: Session, key: str, *, window: timedelta, now: datetime | None = None
) -> tuple[int, datetime]:
    """Count one event for `key` in the current window; returns (count so far, window start)."""
    now = now or utcnow()
    cutoff = now - window
    insert = _insert_for(session)
    stmt = insert(RateCounter).values(key=key, window_start=now, count=1)
    table = RateCounter.__table__
    fresh = table.c.window_start <= cutoff
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((fresh, 1), else_=table.c.count + 1),
            "window_start": case((fresh, now), else_=table.c.window_start),
        },
    ).returning(table.c.count, table.c.window_start)
    count, start = session.execute(stmt).one()
    if start.tzinfo is None:  # SQLite hands back naive values from RETURNING
        from datetime import UTC

        start = start.replace(tzinfo=UTC)
    return count, start


def peek(session: Session, key: str, *, window: timedelta, now: datetime | None = None) -> int:
    """The count in the current window without adding to it."""
    now = now or utcnow()
    row = session.query(RateCounter).filter(RateCounter.key == key).one_or_none()
    if row is None or row.window_start <= now - window:
        return 0
    return row.count


def reset(session: Session, key: str) -> None:
    """Forget a key's count (a successful login clears the account's failures)."""
    session.execute(delete(RateCounter).where(RateCounter.key == key))


def retry_after(start: datetime, window: timedelta, now: datetime | None = None) -> int:
    """Seconds until the window that began at `start` ends (at least 1)."""
    now = now or utcnow()
    return max(1, int((start + window - now).total_seconds()) + 1)
