"""Server-sent events: live screens hear of new events without refreshing.

The stream sends small JSON notices ("escalation.raised", id); pages react by fetching the partial
they need through the normal, permission-checked routes. Across processes the events travel through
the database: PostgreSQL LISTEN/NOTIFY wakes the stream at once, SQLite is polled briefly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from careline.accounts.permissions import Permission, has_permission
from careline.db import Scope, open_session
from careline.errors import PermissionDenied, ValidationFailed
from careline.jobs import events
from careline.web.context import RequestContext, require
from careline.web.routing import router

pages = router(include_in_schema=False)
log = logging.getLogger("careline.live")

# Which permission each channel (by prefix before ':') needs.
CHANNEL_PERMISSIONS: dict[str, Permission] = {
    "escalations": Permission.ESCALATION_RAISE,
    "nurses": Permission.ESCALATION_HANDLE,
    "queue": Permission.QUEUE_READ,
    "wallboard": Permission.QUEUE_READ,
    "contact": Permission.CONTACT_HANDLE,
    "user": Permission.SIGNED_IN,
}


def allowed_channels(ctx: RequestContext, requested: list[str]) -> list[str]:
    """The requested channels, refusing any the user's role may not hear (or another user's channel)."""
    out = []
    for channel in requested:
        prefix, _, rest = channel.partition(":")
        permission = CHANNEL_PERMISSIONS.get(prefix)
        if permission is None:
            raise ValidationFailed(f"unknown channel '{channel}'", field="channels")
        if not has_permission(ctx.user.role, permission) or (prefix == "user" and rest != str(ctx.user.id)):
            raise PermissionDenied(f"you may not listen to '{channel}'")
        out.append(channel)
    return out


def _read(app: Any, cursor: events.Cursor, channels: list[str], tenant_ids: frozenset[int]) -> list[dict]:
    session = open_session(app.state.sessions, Scope(tenant_ids))
    try:
        rows = cursor.read(session, channels, tenant_ids)
        return [{"id": e.id, "kind": e.kind, "channel": e.channel, "payload": e.payload} for e in rows]
    finally:
        session.close()


class Notifier:
    """One LISTEN connection per serving process, shared by all its streams (PostgreSQL).

    A stream that has read everything waits here for the next NOTIFY or its poll interval. One
    connection for the process, not one per waiting stream: a call center's worth of open screens
    would otherwise open a connection each, every poll interval, and could use up PostgreSQL's
    `max_connections`. Started on the first wait, in the running event loop; when the connection
    fails it reconnects after a second, and meanwhile the streams simply poll. On SQLite there is
    nothing to listen to: a wait is the poll interval.
    """

    RETRY_SECONDS = 1.0

    def __init__(self, database_url: str) -> None:
        self.listens = database_url.startswith("postgresql")
        self.conninfo = database_url.replace("postgresql+psycopg://", "postgresql://")
        self.generation = 0  # notices so far (and reconnections, after which anything may be new)
        self._event: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def wait(self, seconds: float, since: int) -> None:
        """Until a notice after generation `since` (at once if one came already), or `seconds`."""
        if not self.listens:
            await asyncio.sleep(seconds)
            return
        event = self._running()
        if self.generation != since:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    def _running(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._loop is not loop:
            self._loop, self._event = loop, asyncio.Event()
            self._task = loop.create_task(self._listen(), name="careline-events-listener")
        assert self._event is not None
        return self._event

    def _wake(self) -> None:
        self.generation += 1
        event, self._event = self._event, asyncio.Event()
        if event is not None:
            event.set()

    async def _listen(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {events.NOTIFY_CHANNEL}")
                    self._wake()  # what committed while nobody listened: let the streams read again
                    async for _ in conn.notifies():
                        self._wake()
            except Exception:
                log.warning("the live events listener lost its connection; retrying", exc_info=True)
                await asyncio.sleep(self.RETRY_SECONDS)

    async def close(self) -> None:
        """Stop listening (the serving process is stopping)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await self._task
        self._task = None


def notifier(app: Any) -> Notifier:
    """The process's notifier (made on first use)."""
    found = getattr(app.state, "notifier", None)
    if found is None:
        found = app.state.notifier = Notifier(app.state.settings.database_url)
    return found


async def stream(
    request: Request, channels: list[str], tenant_ids: frozenset[int], after: int, max_seconds: float | None
) -> AsyncIterator[dict]:
    """Yield events as they arrive until the browser goes away (or max_seconds, for tests)."""
    app = request.app
    started = time.monotonic()
    poll = app.state.settings.event_poll_seconds
    cursor = events.Cursor(after)  # hears an event whose transaction committed after a later one's
    wake = notifier(app)
    while True:
        seen = wake.generation  # a notice from now on ends the wait below at once
        batch = await run_in_threadpool(_read, app, cursor, channels, tenant_ids)
        for e in batch:
            after = max(after, e["id"])  # the browser's Last-Event-ID: where a reconnection starts
            yield {"event": e["kind"], "id": str(after), "data": json.dumps(e)}
        if await request.is_disconnected():
            return
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            return
        if not batch:
            await wake.wait(poll, seen)


Listener = Annotated[RequestContext, Depends(require(Permission.SIGNED_IN))]


@pages.get("/events/stream")
def event_stream(
    request: Request,
    ctx: Listener,
    channels: Annotated[str, Query(min_length=1, description="comma-separated channel names")],
    after: Annotated[int | None, Query(ge=0)] = None,
) -> EventSourceResponse:
    """A live stream of events on the given channels, limited to the user's tenants."""
    wanted = allowed_channels(ctx, [c.strip() for c in channels.split(",") if c.strip()])
    last_event = request.headers.get("last-event-id")
    start = after if after is not None else int(last_event) if (last_event or "").isdigit() else None
    if start is None:
        start = events.latest_id(ctx.db)
    limit = 3.0 if ctx.settings.environment == "test" else None
    return EventSourceResponse(stream(request, wanted, ctx.tenant_ids, start, limit), ping=15)
