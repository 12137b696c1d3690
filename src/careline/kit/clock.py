"""The one place that reads the wall clock, so tests can move time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return _now()


class FrozenClock:
    """A clock for tests: install() it, move it with advance()."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self.now = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        """Move the clock forward by a timedelta's keyword arguments."""
        self.now += timedelta(**kwargs)
        return self.now

    def install(self) -> None:
        """Make utcnow() read this clock."""
        global _now
        _now = self

    @staticmethod
    def uninstall() -> None:
        """Restore the real clock."""
        global _now
        _now = lambda: datetime.now(UTC)  # noqa: E731
