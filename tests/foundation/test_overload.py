"""A burst of more requests than a process has threads must not starve the requests holding its
database connections: they wait for a permit on the event loop (web.context.admit), not in a thread."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx2 as httpx

from careline.accounts import service as accounts
from careline.accounts.models import User
from careline.db import transaction
from tests.live import LiveServer

BURST = 70  # more than the 40 threads a process serves blocking work with


def test_a_burst_beyond_the_threads_and_connections_is_served_not_deadlocked(
    database_url, world, sessions
) -> None:
    """Two connections, seventy requests at once. Without the permits, forty requests took every
    thread and waited for a connection while the two holding one waited for a thread to commit
    in: nothing moved until the pool's 60 s timeout failed them."""
    with transaction(sessions) as db:
        _token, secret = accounts.create_token(db, db.get(User, world.agent_a.id), "burst")
    server = LiveServer(database_url, db_pool_size="2", db_max_overflow="0")
    try:
        with (
            httpx.Client(
                base_url=server.url,
                headers={"Authorization": f"Bearer {secret}"},
                timeout=20,
                limits=httpx.Limits(max_connections=BURST),
            ) as client,
            ThreadPoolExecutor(BURST) as pool,
        ):
            answers = list(pool.map(lambda _: client.get("/api/v1/me").status_code, range(BURST)))
    finally:
        server.stop()
    assert Counter(answers) == {200: BURST}
