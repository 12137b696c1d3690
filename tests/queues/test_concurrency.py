"""Claiming is safe across app processes: 50 agents on two servers race for 40 waiting callers; every
caller is answered exactly once and none is lost (run on SQLite and, with CARELINE_TEST_DB=postgresql,
on PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx
import pytest
from sqlalchemy import select

from careline.accounts import service as accounts
from careline.accounts.models import User
from careline.contacts.models import Contact, ContactStatus
from careline.db import transaction
from careline.queues.models import AgentPresence, EntryState, PresenceState, QueueEntry
from tests.live import LiveServer
from tests.queues import helpers as h

AGENTS, CALLERS = 50, 40
# Requests in flight per app process at once: below its connection pool (10 + 20 overflow), so the two
# processes stay within PostgreSQL's connection limit even when other suites share the server.
IN_FLIGHT = 20


class _Limited:
    """An HTTP client whose requests wait their turn on a shared semaphore (one per app process)."""

    def __init__(self, client: httpx.Client, gate: threading.Semaphore) -> None:
        self.client, self.gate = client, gate

    def __getattr__(self, method: str):
        def call(*args, **kwargs):
            with self.gate:
                return getattr(self.client, method)(*args, **kwargs)

        return call


def _claim(url: str, token: str, gate: threading.Semaphore) -> tuple[int | None, list[int]]:
    """One agent: go available, then ask for offers and accept one; stop when nobody is waiting."""
    statuses: list[int] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as raw:
        client = _Limited(raw, gate)
        response = client.put("/api/v1/presence", json={"state": "available"})
        statuses.append(response.status_code)
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            response = client.post("/api/v1/queue/offer")
            statuses.append(response.status_code)
            offer = response.json().get("offer") if response.status_code == 200 else None
            if offer:
                accepted = client.post(f"/api/v1/queue/offers/{offer['contact_id']}/accept")
                statuses.append(accepted.status_code)
                if accepted.status_code == 200:
                    return offer["contact_id"], statuses
                continue
            stats = client.get("/api/v1/queue/stats")
            statuses.append(stats.status_code)
            if stats.status_code == 200 and sum(s["waiting"] for s in stats.json()) == 0:
                return None, statuses
            time.sleep(0.05)
    return None, [*statuses, -1]


@pytest.mark.slow
def test_fifty_agents_on_two_processes_answer_every_caller_exactly_once(
    database_url, sessions, world, db
) -> None:
    with transaction(sessions) as s:
        queue = h.queue(s, world.tenant_a.id)
        callers = [h.waiting(s, world.tenant_a.id, queue.id).id for _ in range(CALLERS)]
        tokens = []
        for _ in range(AGENTS):
            agent = h.agent(s, ["scheduling"], available=False)
            tokens.append(accounts.create_token(s, s.get(User, agent.id), "race")[1])
    with ThreadPoolExecutor(max_workers=2) as starting:  # two app processes on the same database
        servers = list(starting.map(lambda _: LiveServer(database_url), range(2)))
    try:
        urls = [server.url for server in servers]
        gates = [threading.Semaphore(IN_FLIGHT), threading.Semaphore(IN_FLIGHT)]
        with ThreadPoolExecutor(max_workers=AGENTS) as pool:
            results = list(pool.map(lambda i: _claim(urls[i % 2], tokens[i], gates[i % 2]), range(AGENTS)))
    finally:
        for server in servers:
            server.stop()

    codes = Counter(code for _, statuses in results for code in statuses)
    assert set(codes) <= {200, 409}, codes  # no server error, no timeout (-1)
    claimed = [contact_id for contact_id, _ in results if contact_id is not None]
    assert len(claimed) == len(set(claimed)) == CALLERS  # nobody answered twice
    assert set(claimed) == set(callers)  # nobody lost

    rows = db.execute(
        select(Contact.id, Contact.status, Contact.agent_user_id).where(Contact.id.in_(callers))
    )
    owner = {contact_id: agent for contact_id, status, agent in rows if status is ContactStatus.ACTIVE}
    assert len(owner) == CALLERS and len(set(owner.values())) == CALLERS
    entries = db.execute(
        select(QueueEntry.contact_id, QueueEntry.state, QueueEntry.answered_by_user_id)
    ).all()
    assert Counter(state for _, state, _ in entries) == {EntryState.ANSWERED: CALLERS}
    assert {c: a for c, _, a in entries} == owner
    states = Counter(db.scalars(select(AgentPresence.state)))
    assert states == {PresenceState.ON_CONTACT: CALLERS, PresenceState.AVAILABLE: AGENTS - CALLERS}
