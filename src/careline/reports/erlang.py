"""Erlang C staffing math for one inbound queue (M/M/N, callers never hang up)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

# Scheduled-agent rounding tolerance: 21 / (1 - 0.3) is 30.000000000000004 in floating point
# and must not become 31 (pyworkforce 0.5.1 does give 31 there).
_CEIL_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class StaffingResult:
    """Agents needed for one interval and the service the queue would then give."""

    traffic_erlangs: float  # offered load: calls * AHT / interval length
    agents: int  # agents on the phones (no shrinkage)
    scheduled_agents: int  # agents to put on the schedule: ceil(agents / (1 - shrinkage))
    service_level: float  # fraction answered within the target time, 0..1
    asa_s: float  # average speed of answer in seconds, over all calls
    occupancy: float  # fraction of on-phone agent time spent handling calls, 0..1
    waiting_probability: float  # Erlang C: chance a caller has to queue at all


def traffic_erlangs(calls: float, interval_s: float, aht_s: float) -> float:
    """Offered load in Erlangs: the average number of calls in progress."""
    _check_load(calls, interval_s, aht_s)
    return calls * aht_s / interval_s


def erlang_b(traffic_erlangs: float, agents: int) -> float:
    """Erlang B blocking probability, by the overflow-free recursion B(n) = A*B(n-1) / (n + A*B(n-1))."""
    _check_traffic_agents(traffic_erlangs, agents)
    blocking = 1.0
    for servers in range(1, agents + 1):
        blocking = _erlang_b_step(traffic_erlangs, servers, blocking)
    return blocking


def erlang_c(traffic_erlangs: float, agents: int) -> float:
    """Erlang C probability that a caller waits; 1.0 when agents <= traffic (the queue grows forever)."""
    _check_traffic_agents(traffic_erlangs, agents)
    if traffic_erlangs == 0:
        return 0.0
    if agents <= traffic_erlangs:
        return 1.0
    return _c_from_b(traffic_erlangs, agents, erlang_b(traffic_erlangs, agents))


def service_level(calls: float, interval_s: float, aht_s: float, agents: int, target_s: float) -> float:
    """Expected fraction of calls answered within target_s seconds (1.0 with no calls)."""
    _check_target(target_s)
    traffic = traffic_erlangs(calls, interval_s, aht_s)
    return _service_level(traffic, agents, aht_s, target_s, erlang_c(traffic, agents))


def average_speed_of_answer(calls: float, interval_s: float, aht_s: float, agents: int) -> float:
    """Expected wait in seconds over all calls; infinity when agents <= traffic."""
    traffic = traffic_erlangs(calls, interval_s, aht_s)
    return _asa(traffic, agents, aht_s, erlang_c(traffic, agents))


def occupancy(calls: float, interval_s: float, aht_s: float, agents: int) -> float:
    """Expected fraction of agent time spent on calls, capped at 1.0 for an overloaded queue."""
    traffic = traffic_erlangs(calls, interval_s, aht_s)
    _check_traffic_agents(traffic, agents)
    return _occupancy(traffic, agents)


def required_agents(
    calls: float,
    interval_s: float,
    aht_s: float,
    *,
    target_sl: float = 0.8,
    target_s: float = 30,
    max_occupancy: float = 0.85,
    shrinkage: float = 0.3,
) -> StaffingResult:
    """Fewest agents meeting the service-level target without exceeding max_occupancy."""
    traffic = traffic_erlangs(calls, interval_s, aht_s)
    _check_targets(target_sl, target_s, max_occupancy, shrinkage)
    if traffic == 0:
        return StaffingResult(0.0, 0, 0, 1.0, 0.0, 0.0, 0.0)
    # Service level and 1/occupancy both rise with agents, so the first agent count that
    # meets both is the answer; walking the Erlang B recursion keeps the search linear.
    for agents, blocking in enumerate(_erlang_b_series(traffic), start=1):
        if agents <= traffic or traffic / agents > max_occupancy:
            continue
        waiting = _c_from_b(traffic, agents, blocking)
        achieved = _service_level(traffic, agents, aht_s, target_s, waiting)
        if achieved >= target_sl:
            return StaffingResult(
                traffic_erlangs=traffic,
                agents=agents,
                scheduled_agents=math.ceil(agents / (1 - shrinkage) - _CEIL_SLACK),
                service_level=achieved,
                asa_s=_asa(traffic, agents, aht_s, waiting),
                occupancy=_occupancy(traffic, agents),
                waiting_probability=waiting,
            )
    raise AssertionError("unreachable: the Erlang B series is infinite")


def _erlang_b_series(traffic: float) -> Iterator[float]:
    """Erlang B for 1, 2, 3, ... agents without end, each from the one before."""
    blocking = 1.0
    for agents in itertools.count(1):
        blocking = _erlang_b_step(traffic, agents, blocking)
        yield blocking


def _erlang_b_step(traffic: float, agents: int, previous: float) -> float:
    """B(n) from B(n-1); every value stays in (0, 1], so nothing overflows however large n gets."""
    load = traffic * previous
    return load / (agents + load)


def _c_from_b(traffic: float, agents: int, blocking: float) -> float:
    """Erlang C from Erlang B for the same load; requires agents > traffic."""
    return agents * blocking / (agents - traffic * (1 - blocking))


def _service_level(traffic: float, agents: int, aht_s: float, target_s: float, waiting: float) -> float:
    """P(wait <= target): waits beyond zero are exponential with rate (N - A) / AHT."""
    if traffic == 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    return max(0.0, 1.0 - waiting * math.exp(-(agents - traffic) * target_s / aht_s))


def _asa(traffic: float, agents: int, aht_s: float, waiting: float) -> float:
    """Mean wait over all calls, in seconds."""
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return waiting * aht_s / (agents - traffic)


def _occupancy(traffic: float, agents: int) -> float:
    """Carried load per agent; an overloaded queue keeps every agent busy."""
    if traffic == 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    return traffic / agents


def _check_load(calls: float, interval_s: float, aht_s: float) -> None:
    """Reject loads that make no sense before they turn into NaN or a division by zero."""
    if not math.isfinite(calls) or calls < 0:
        raise ValueError(f"calls must be a finite number >= 0, got {calls!r}")
    if not math.isfinite(interval_s) or interval_s <= 0:
        raise ValueError(f"interval_s must be a finite number of seconds > 0, got {interval_s!r}")
    if not math.isfinite(aht_s) or aht_s <= 0:
        raise ValueError(f"aht_s (average handle time) must be a finite number of seconds > 0, got {aht_s!r}")


def _check_traffic_agents(traffic: float, agents: int) -> None:
    """Agents must be a whole, non-negative count and traffic a finite load."""
    if not math.isfinite(traffic) or traffic < 0:
        raise ValueError(f"traffic must be a finite number of Erlangs >= 0, got {traffic!r}")
    if isinstance(agents, bool) or not isinstance(agents, int) or agents < 0:
        raise ValueError(f"agents must be a whole number >= 0, got {agents!r}")


def _check_target(target_s: float) -> None:
    """The answer-time target is a duration, so it cannot be negative."""
    if not math.isfinite(target_s) or target_s < 0:
        raise ValueError(f"target_s must be a finite number of seconds >= 0, got {target_s!r}")


def _check_targets(target_sl: float, target_s: float, max_occupancy: float, shrinkage: float) -> None:
    """Validate required_agents' goals; a 100% service level is unreachable with random arrivals."""
    _check_target(target_s)
    if not 0 <= target_sl < 1:
        raise ValueError(f"target_sl must be in [0, 1), got {target_sl!r}")
    if not 0 < max_occupancy <= 1:
        raise ValueError(f"max_occupancy must be in (0, 1], got {max_occupancy!r}")
    if not 0 <= shrinkage < 1:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
