"""Discrete-event simulation of one call queue (simpy), to check Erlang C and model abandonment."""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import simpy

HandleTimeSampler = Callable[[random.Random], float]

_WAITING, _ANSWERED, _ABANDONED = 0, 1, 2


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """What happened to the calls offered during the simulated intervals.

    service_level = answered within target_s / (offered - abandoned before target_s): callers who
    hang up before the target are left out (they were never "late"), those who hang up after it
    count as missed. With infinite patience this is plain answered-within-target / offered, the
    quantity Erlang C predicts.
    """

    offered: int
    answered: int
    abandoned: int
    answered_within_target: int
    abandoned_before_target: int
    service_level: float
    asa_s: float  # mean wait of answered calls
    occupancy: float  # agent busy time / agent time, over the arrival window
    abandonment_rate: float  # abandoned / offered


class _Call:
    """A caller: when they arrived, how long they will talk and how long they will wait."""

    __slots__ = ("arrived", "handle_s", "patience_s", "state")

    def __init__(self, arrived: float, handle_s: float, patience_s: float) -> None:
        self.arrived = arrived
        self.handle_s = handle_s
        self.patience_s = patience_s
        self.state = _WAITING


class _Queue:
    """Agents, a FIFO of waiting callers and the running tallies, driven by simpy events."""

    def __init__(self, env: simpy.Environment, agents: int, target_s: float, horizon_s: float) -> None:
        self.env = env
        self.free_agents = agents
        self.target_s = target_s
        self.horizon_s = horizon_s
        # Abandoned callers stay in the deque and are skipped when reached: cheaper than removal.
        self.waiting: deque[_Call] = deque()
        self.offered = self.answered = self.abandoned = 0
        self.answered_within_target = self.abandoned_before_target = 0
        self.total_wait_s = 0.0
        self.busy_s = 0.0

    def arrive(self, call: _Call) -> None:
        """Answer at once if an agent is free, else queue and start the caller's patience clock."""
        self.offered += 1
        if self.free_agents:
            self.free_agents -= 1
            self._answer(call)
            return
        self.waiting.append(call)
        if math.isfinite(call.patience_s):
            self.env.timeout(call.patience_s).callbacks.append(lambda _event: self._give_up(call))

    def _answer(self, call: _Call) -> None:
        """Connect the call to an agent who has just been marked busy."""
        now = self.env.now
        wait = now - call.arrived
        call.state = _ANSWERED
        self.answered += 1
        self.total_wait_s += wait
        if wait <= self.target_s:
            self.answered_within_target += 1
        # Only work inside the arrival window counts, so the drain afterwards cannot inflate occupancy.
        self.busy_s += max(0.0, min(now + call.handle_s, self.horizon_s) - min(now, self.horizon_s))
        self.env.timeout(call.handle_s).callbacks.append(self._hang_up)

    def _hang_up(self, _event: simpy.Event) -> None:
        """An agent finishes a call and takes the longest-waiting caller still on the line."""
        while self.waiting:
            call = self.waiting.popleft()
            if call.state == _WAITING:
                self._answer(call)
                return
        self.free_agents += 1

    def _give_up(self, call: _Call) -> None:
        """The caller's patience ran out; nothing happens if an agent got there first."""
        if call.state != _WAITING:
            return
        call.state = _ABANDONED
        self.abandoned += 1
        if call.patience_s < self.target_s:
            self.abandoned_before_target += 1


def simulate_queue(
    calls_per_interval: float,
    interval_s: float,
    aht_s: float,
    agents: int,
    *,
    intervals: int = 1,
    target_s: float = 30,
    patience_s: float | None = None,
    seed: int = 0,
    handle_time: HandleTimeSampler | None = None,
) -> SimulationResult:
    """Simulate `intervals` back-to-back intervals of Poisson arrivals served by `agents` agents.

    Handle times are exponential with mean aht_s unless `handle_time` draws them; patience is
    exponential with mean patience_s, or infinite when None. Calls still queued when arrivals
    stop are played out, so every offered call ends answered or abandoned. The same seed gives
    the same result, and arrivals, handle times and patience come from separate random streams
    so that runs differing only in `agents` see the very same callers.
    """
    _validate(calls_per_interval, interval_s, aht_s, agents, intervals, target_s, patience_s)
    horizon_s = interval_s * intervals
    env = simpy.Environment()
    queue = _Queue(env, agents, target_s, horizon_s)
    env.process(_arrivals(env, queue, calls_per_interval / interval_s, aht_s, patience_s, seed, handle_time))
    env.run()
    return _result(queue, agents, horizon_s)


def _arrivals(
    env: simpy.Environment,
    queue: _Queue,
    rate_per_s: float,
    aht_s: float,
    patience_s: float | None,
    seed: int,
    handle_time: HandleTimeSampler | None,
) -> simpy.events.ProcessGenerator:
    """Poisson arrivals until the horizon, each caller drawn with their handle time and patience."""
    if rate_per_s == 0:
        return
    arrivals = random.Random(f"{seed}:arrivals")
    handling = random.Random(f"{seed}:handling")
    patience = random.Random(f"{seed}:patience")
    draw_handle = handle_time or (lambda rng: rng.expovariate(1 / aht_s))
    while True:
        yield env.timeout(arrivals.expovariate(rate_per_s))
        if env.now >= queue.horizon_s:
            return
        give_up_after = math.inf if patience_s is None else patience.expovariate(1 / patience_s)
        queue.arrive(_Call(env.now, draw_handle(handling), give_up_after))


def _result(queue: _Queue, agents: int, horizon_s: float) -> SimulationResult:
    """Turn the queue's tallies into rates."""
    eligible = queue.offered - queue.abandoned_before_target
    return SimulationResult(
        offered=queue.offered,
        answered=queue.answered,
        abandoned=queue.abandoned,
        answered_within_target=queue.answered_within_target,
        abandoned_before_target=queue.abandoned_before_target,
        service_level=queue.answered_within_target / eligible if eligible else 1.0,
        asa_s=queue.total_wait_s / queue.answered if queue.answered else 0.0,
        occupancy=queue.busy_s / (agents * horizon_s),
        abandonment_rate=queue.abandoned / queue.offered if queue.offered else 0.0,
    )


def _validate(
    calls_per_interval: float,
    interval_s: float,
    aht_s: float,
    agents: int,
    intervals: int,
    target_s: float,
    patience_s: float | None,
) -> None:
    """Reject inputs that would hang the simulation or make its rates meaningless."""
    if not math.isfinite(calls_per_interval) or calls_per_interval < 0:
        raise ValueError(f"calls_per_interval must be a finite number >= 0, got {calls_per_interval!r}")
    for name, value in (("interval_s", interval_s), ("aht_s", aht_s)):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 1:
        raise ValueError(f"agents must be a whole number >= 1, got {agents!r}")
    if isinstance(intervals, bool) or not isinstance(intervals, int) or intervals < 1:
        raise ValueError(f"intervals must be a whole number >= 1, got {intervals!r}")
    if not math.isfinite(target_s) or target_s < 0:
        raise ValueError(f"target_s must be a finite number of seconds >= 0, got {target_s!r}")
    if patience_s is not None and (not math.isfinite(patience_s) or patience_s <= 0):
        raise ValueError(f"patience_s must be a finite number of seconds > 0 or None, got {patience_s!r}")
