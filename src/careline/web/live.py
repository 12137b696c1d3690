"""Server-sent events: live screens hear of new events without refreshing.

The stream sends small JSON notices ("escalation.raised", id); pages react by fetching the partial
they need through the normal, permission-checked routes. Across processes the events travel through
the database: PostgreSQL LISTEN/NOTIFY wakes the stream at once, SQLite is polled briefly.
"""

from __future__ import annotations

import asyncio
import json
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


async def _wait_for_notify(app: Any, seconds: float) -> None:
    url = app.state.settings.database_url
    if not url.startswith("postgresql"):
        await asyncio.sleep(seconds)
        return
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            await conn.execute(f"LISTEN {events.NOTIFY_CHANNEL}")
            # Run the generator to its end (one notice, or the timeout): it holds the connection's
            # lock while it is suspended, and leaving it with `break` left it so, which made closing
            # the connection wait for that lock for ever: each stream froze at its first notice.
            async for _ in conn.notifies(timeout=seconds, stop_after=1):
                pass
    except Exception:
        await asyncio.sleep(seconds)


async def stream(
    request: Request, channels: list[str], tenant_ids: frozenset[int], after: int, max_seconds: float | None
) -> AsyncIterator[dict]:
    """Yield events as they arrive until the browser goes away (or max_seconds, for tests)."""
    app = request.app
    started = time.monotonic()
    poll = app.state.settings.event_poll_seconds
    cursor = events.Cursor(after)  # hears an event whose transaction committed after a later one's
    while True:
        batch = await run_in_threadpool(_read, app, cursor, channels, tenant_ids)
        for e in batch:
            after = max(after, e["id"])  # the browser's Last-Event-ID: where a reconnection starts
            yield {"event": e["kind"], "id": str(after), "data": json.dumps(e)}
        if await request.is_disconnected():
            return
        if max_seconds is not None and time.monotonic() - started >= max_seconds:
            return
        if not batch:
            await _wait_for_notify(app, poll)


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
