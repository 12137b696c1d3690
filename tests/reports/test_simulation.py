"""Tests for the simpy queue simulation, checked against Erlang C."""

from __future__ import annotations

import random
import time

import pytest

from careline.reports.erlang import occupancy, service_level
from careline.reports.simulation import SimulationResult, simulate_queue

# Each case runs about 80,000 calls. Over seeds 0-11 the simulated service level stayed within
# 1.3 points of Erlang C for these cases (it wanders further, up to 4 points, at 90%+ occupancy,
# where queues stay correlated for long stretches), so 2 points is a safe, still meaningful bound.
SL_TOLERANCE = 0.02


@pytest.mark.parametrize(
    ("calls", "aht_s", "agents", "target_s", "intervals"),
    [
        (100, 180, 14, 20, 800),  # the textbook case: Erlang C says 88.8%
        (20, 300, 6, 60, 4000),  # small team, light load
        (300, 240, 50, 20, 270),  # 40 Erlangs
    ],
)
def test_agrees_with_erlang_c_when_nobody_hangs_up(
    calls: int, aht_s: int, agents: int, target_s: int, intervals: int
) -> None:
    result = simulate_queue(calls, 1800, aht_s, agents, intervals=intervals, target_s=target_s, seed=1)
    assert result.offered > 75_000
    assert result.abandoned == 0 and result.answered == result.offered
    assert result.service_level == pytest.approx(
        service_level(calls, 1800, aht_s, agents, target_s), abs=SL_TOLERANCE
    )
    assert result.occupancy == pytest.approx(occupancy(calls, 1800, aht_s, agents), abs=0.01)


def test_eighty_thousand_calls_are_quick() -> None:
    started = time.perf_counter()
    result = simulate_queue(100, 1800, 180, 14, intervals=800, target_s=20, patience_s=90, seed=3)
    assert result.offered > 75_000
    assert time.perf_counter() - started < 3


def test_abandonment_rises_as_agents_fall() -> None:
    rates = [
        simulate_queue(
            100, 1800, 180, agents, intervals=100, target_s=20, patience_s=60, seed=5
        ).abandonment_rate
        for agents in (15, 13, 11, 9)
    ]
    assert rates == sorted(rates)
    assert rates[0] < rates[-1]
    assert rates[-1] > 0.1


def test_every_call_ends_answered_or_abandoned() -> None:
    result = simulate_queue(100, 1800, 180, 9, intervals=50, target_s=20, patience_s=45, seed=2)
    assert result.answered + result.abandoned == result.offered
    assert result.abandoned_before_target <= result.abandoned
    assert result.abandonment_rate == pytest.approx(result.abandoned / result.offered)
    eligible = result.offered - result.abandoned_before_target
    assert result.service_level == pytest.approx(result.answered_within_target / eligible)


def test_same_seed_same_result() -> None:
    def run(seed: int) -> SimulationResult:
        return simulate_queue(100, 1800, 180, 12, intervals=20, target_s=20, patience_s=60, seed=seed)

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_custom_handle_time() -> None:
    # Constant 180 s calls: the load is the same as exponential, and waits are shorter (M/D/N < M/M/N).
    result = simulate_queue(
        100, 1800, 180, 12, intervals=200, target_s=20, seed=4, handle_time=lambda _rng: 180.0
    )
    assert result.occupancy == pytest.approx(10 / 12, abs=0.02)
    assert result.service_level > service_level(100, 1800, 180, 12, 20)


def test_handle_time_sampler_gets_a_random_generator() -> None:
    seen: list[random.Random] = []

    def sampler(rng: random.Random) -> float:
        seen.append(rng)
        return rng.uniform(60, 300)

    result = simulate_queue(10, 1800, 180, 2, intervals=5, seed=0, handle_time=sampler)
    assert len(seen) == result.offered > 0
    assert all(isinstance(rng, random.Random) for rng in seen)


def test_no_calls() -> None:
    result = simulate_queue(0, 1800, 180, 3)
    assert result == SimulationResult(0, 0, 0, 0, 0, 1.0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calls_per_interval": -1}, "calls_per_interval"),
        ({"interval_s": 0}, "interval_s"),
        ({"aht_s": -3}, "aht_s"),
        ({"agents": 0}, "agents"),
        ({"intervals": 0}, "intervals"),
        ({"target_s": -1}, "target_s"),
        ({"patience_s": 0}, "patience_s"),
    ],
)
def test_validates_inputs(kwargs: dict[str, float], message: str) -> None:
    args: dict[str, float] = {
        "calls_per_interval": 100,
        "interval_s": 1800,
        "aht_s": 180,
        "agents": 14,
    } | kwargs
    with pytest.raises(ValueError, match=message):
        simulate_queue(**args)  # type: ignore[arg-type]
