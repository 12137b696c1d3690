"""Live events: written with the change, read per channel and tenant, streamed to permitted listeners."""

from __future__ import annotations

import json

from careline.db import SYSTEM, transaction
from careline.jobs import events
from tests.factories import signed_in


def _publish(sessions, channel: str, tenant_id: int | None, kind: str = "thing.happened"):
    with transaction(sessions) as s:
        events.publish(s, channel, kind, {"n": 1}, tenant_id=tenant_id)
        return events.latest_id(s)


def test_listeners_see_only_their_channels_and_tenants(sessions, db, world) -> None:
    a = _publish(sessions, "nurses", world.tenant_a.id)
    _publish(sessions, "nurses", world.tenant_b.id)
    _publish(sessions, "queue", world.tenant_a.id)
    rows = events.read_since(db, 0, ["nurses"], frozenset({world.tenant_a.id}))
    assert [e.id for e in rows] == [a]


def test_postgresql_listeners_are_woken_at_commit_and_only_then(sessions, database_url) -> None:
    """On PostgreSQL the events table's trigger sends NOTIFY careline_events (payload: the channel),
    delivered when the transaction commits; a rolled-back event wakes nobody. SQLite has no NOTIFY:
    there the event is simply there to read after the commit (listeners poll)."""
    if not database_url.startswith("postgresql"):
        _publish(sessions, "nurses", None)
        with transaction(sessions) as s:
            assert [e.kind for e in events.read_since(s, 0, ["nurses"], None)] == ["thing.happened"]
        return
    import psycopg

    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as listener:
        listener.execute(f"LISTEN {events.NOTIFY_CHANNEL}")
        try:
            with transaction(sessions) as s:
                events.publish(s, "nurses", "escalation.raised")
                assert list(listener.notifies(timeout=0.3, stop_after=1)) == []  # not before commit
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass
        assert list(listener.notifies(timeout=0.3, stop_after=1)) == []  # nor after a rollback
        _publish(sessions, "queue", None)
        heard = list(listener.notifies(timeout=5, stop_after=1))
        assert [(n.channel, n.payload) for n in heard] == [(events.NOTIFY_CHANNEL, "queue")]


def test_a_rolled_back_change_publishes_nothing(sessions, db) -> None:
    try:
        with transaction(sessions) as s:
            events.publish(s, "nurses", "escalation.raised")
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    assert events.read_since(db, 0, ["nurses"], None) == []


def test_the_stream_delivers_events_after_the_given_id(app, world, sessions) -> None:
    first = _publish(sessions, "nurses", world.tenant_a.id, "escalation.raised")
    second = _publish(sessions, "nurses", world.tenant_a.id, "escalation.accepted")
    _publish(sessions, "nurses", world.tenant_b.id, "escalation.raised")
    url = f"/events/stream?channels=nurses&after={first - 1}"
    with signed_in(app, world.nurse_a) as client, client.stream("GET", url) as response:
        assert response.status_code == 200
        body = "".join(response.iter_text())
    data = [json.loads(line[5:]) for line in body.splitlines() if line.startswith("data:")]
    expected = [(first, "escalation.raised"), (second, "escalation.accepted")]
    assert [(d["id"], d["kind"]) for d in data] == expected


def test_an_agent_may_not_listen_to_the_nurse_channel(app, world) -> None:
    with signed_in(app, world.agent_a) as client:
        assert client.get("/events/stream?channels=nurses").status_code == 403
        assert client.get("/events/stream?channels=bogus").status_code == 422
        assert client.get(f"/events/stream?channels=user:{world.nurse_a.id}").status_code == 403


def test_streams_wake_at_each_notice_through_one_connection(sessions, database_url, db) -> None:
    """Between reads a stream waits for the next NOTIFY (PostgreSQL) or its poll interval (SQLite).
    A process listens on one connection for all its streams, and each wait ends at a notice (a
    stream's wait once froze for ever at its first notice, so live screens stopped at one event)."""
    import asyncio
    import time
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import text

    from careline.web import live

    def run_alone(coroutine):  # type: ignore[no-untyped-def]
        """asyncio.run in a thread of its own (the browser tests keep a loop in this one)."""
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, coroutine).result()

    notifier = live.Notifier(database_url)
    if not database_url.startswith("postgresql"):
        started = time.monotonic()
        run_alone(notifier.wait(0.2, notifier.generation))
        assert 0.15 < time.monotonic() - started < 2
        return

    def listeners() -> int:
        sql = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        return int(db.execute(text(sql)).scalar_one())

    async def one_notice_for(streams: int) -> tuple[float, int]:
        seen = notifier.generation
        started = time.monotonic()
        waiting = [asyncio.create_task(notifier.wait(30.0, seen)) for _ in range(streams)]
        connections = 0
        while not all(w.done() for w in waiting) and time.monotonic() - started < 10:
            await asyncio.sleep(0.2)  # until it listens, then some
            connections = max(connections, await asyncio.to_thread(listeners))
            await asyncio.to_thread(_publish, sessions, "nurses", None)
        await asyncio.wait_for(asyncio.gather(*waiting), 5)  # a frozen wait fails here
        return time.monotonic() - started, connections

    async def run() -> list[tuple[float, int]]:
        try:
            rounds = [await one_notice_for(20) for _ in range(3)]
            seen = notifier.generation - 1  # a notice came after this stream's last read:
            started = time.monotonic()
            await notifier.wait(30.0, seen)  # it does not wait for the next one
            assert time.monotonic() - started < 0.1
            return rounds
        finally:
            await notifier.close()

    for seconds, connections in run_alone(run()):
        assert seconds < 10 and connections == 1  # woken, not timed out at 30 s; one LISTEN for all


def test_an_event_committed_after_a_later_one_is_still_heard_once(sessions, db, database_url) -> None:
    """PostgreSQL hands out ids at insert and transactions commit in any order: a listener that
    has read event N+1 must still hear event N when N's transaction commits a moment later."""
    from careline.db import open_session

    now = [100.0]
    cursor = events.Cursor(events.latest_id(db), late_seconds=30, clock=lambda: now[0])
    if database_url.startswith("postgresql"):
        slow = open_session(sessions, SYSTEM)  # inserts first, commits last
        events.publish(slow, "nurses", "first.inserted", tenant_id=None)
        _publish(sessions, "nurses", None, "second.inserted")
        assert [e.kind for e in cursor.read(db, ["nurses"], None)] == ["second.inserted"]
        slow.commit()
        slow.close()
        now[0] += 1
        assert [e.kind for e in cursor.read(db, ["nurses"], None)] == ["first.inserted"]
    else:  # one writer at a time: ids commit in order
        _publish(sessions, "nurses", None, "first.inserted")
        _publish(sessions, "nurses", None, "second.inserted")
        kinds = [e.kind for e in cursor.read(db, ["nurses"], None)]
        assert kinds == ["first.inserted", "second.inserted"]
    now[0] += 1
    assert cursor.read(db, ["nurses"], None) == []  # each once
    _publish(sessions, "nurses", None, "third")
    now[0] += 60  # long after: the floor has risen past what was given, which stays given
    assert [e.kind for e in cursor.read(db, ["nurses"], None)] == ["third"]
    assert cursor.read(db, ["nurses"], None) == []
