"""Tests for Erlang C staffing math."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careline.reports.erlang import (
    StaffingResult,
    average_speed_of_answer,
    erlang_b,
    erlang_c,
    occupancy,
    required_agents,
    service_level,
    traffic_erlangs,
)


def test_textbook_example() -> None:
    # 100 calls in 30 minutes, 180 s AHT, 80% in 20 s: 10 Erlangs, 14 agents, SL 88.8%.
    result = required_agents(100, 1800, 180, target_sl=0.8, target_s=20, max_occupancy=1.0, shrinkage=0.0)
    assert result.traffic_erlangs == pytest.approx(10.0)
    assert result.agents == 14
    assert result.service_level == pytest.approx(0.888, abs=0.001)
    assert result.waiting_probability == pytest.approx(0.1741, abs=0.0001)
    assert result.asa_s == pytest.approx(7.8, abs=0.05)
    assert result.occupancy == pytest.approx(10 / 14)


def test_textbook_service_level_by_agent_count() -> None:
    # 13 agents fall just short of 80%, which is why the answer is 14.
    assert service_level(100, 1800, 180, 13, 20) == pytest.approx(0.7956, abs=0.0001)
    assert service_level(100, 1800, 180, 14, 20) == pytest.approx(0.8884, abs=0.0001)
    assert average_speed_of_answer(100, 1800, 180, 14) == pytest.approx(7.836, abs=0.001)


# Oracle table produced by pyworkforce 0.5.1 (queuing.ErlangC.required_positions), run once in a
# throwaway venv; its aht/asa/interval arguments are minutes, so aht=aht_s/60, asa=target_s/60.
# Columns: calls, interval_min, aht_s, target_s, target_sl, max_occupancy, shrinkage,
#          raw agents, scheduled agents, service level, occupancy, waiting probability.
PYWORKFORCE_0_5_1 = [
    (100, 30, 180, 20, 0.8, 1.0, 0.0, 14, 14, 0.8883500191794669, 0.7142857142857143, 0.1741319335950498),
    (100, 30, 180, 20, 0.8, 0.85, 0.3, 14, 20, 0.8883500191794669, 0.7142857142857143, 0.1741319335950498),
    (20, 30, 300, 60, 0.8, 1.0, 0.0, 6, 6, 0.913049258396469, 0.5555555555555555, 0.14821665718080057),
    (3, 30, 240, 30, 0.8, 0.85, 0.3, 2, 3, 0.9454179497948012, 0.2, 0.06666666666666668),
    (60, 15, 420, 45, 0.7, 0.85, 0.35, 33, 51, 0.8411961552735028, 0.8484848484848485, 0.27134309283265023),
    (350, 60, 240, 20, 0.9, 0.9, 0.25, 30, 40, 0.9241195723078878, 0.7777777777777778, 0.1322526802447379),
    (250, 30, 360, 120, 0.8, 0.8, 0.3, 63, 90, 0.9993349850449313, 0.7936507936507936, 0.05067271416520534),
    (1200, 30, 300, 15, 0.95, 1.0, 0.2, 219, 274, 0.9515205622886809, 0.91324200913242, 0.1253537503683588),
    (
        5000,
        30,
        180,
        30,
        0.8,
        0.85,
        0.3,
        589,
        842,
        0.9999999999780157,
        0.8488964346349746,
        6.083418074729726e-05,
    ),
    (
        5000,
        30,
        180,
        10,
        0.99,
        1.0,
        0.0,
        536,
        536,
        0.9903549099330079,
        0.9328358208955224,
        0.07126811158424355,
    ),
    (
        30000,
        30,
        300,
        20,
        0.9,
        1.0,
        0.1,
        5027,
        5586,
        0.9006649705802098,
        0.9946290033817387,
        0.6009419088568192,
    ),
    # pyworkforce says 31 scheduled here: it computes ceil(21 / 0.7) = ceil(30.000000000000004).
    # 30 is right, so this row keeps 30 on purpose.
    (164, 30, 180, 20, 0.8, 0.85, 0.3, 21, 30, 0.8765113552739631, 0.7809523809523808, 0.20587317367366711),
]


@pytest.mark.parametrize(
    (
        "calls",
        "interval_min",
        "aht_s",
        "target_s",
        "target_sl",
        "max_occ",
        "shrinkage",
        "raw",
        "scheduled",
        "sl",
        "occ",
        "pw",
    ),
    PYWORKFORCE_0_5_1,
)
def test_matches_pyworkforce(
    calls: int,
    interval_min: int,
    aht_s: int,
    target_s: int,
    target_sl: float,
    max_occ: float,
    shrinkage: float,
    raw: int,
    scheduled: int,
    sl: float,
    occ: float,
    pw: float,
) -> None:
    result = required_agents(
        calls,
        interval_min * 60,
        aht_s,
        target_sl=target_sl,
        target_s=target_s,
        max_occupancy=max_occ,
        shrinkage=shrinkage,
    )
    assert (result.agents, result.scheduled_agents) == (raw, scheduled)
    assert result.service_level == pytest.approx(sl, rel=1e-9)
    assert result.occupancy == pytest.approx(occ, rel=1e-9)
    assert result.waiting_probability == pytest.approx(pw, rel=1e-9)


def test_shrinkage_rounding_is_not_fooled_by_float_error() -> None:
    assert 21 / (1 - 0.3) > 30
    assert required_agents(164, 1800, 180, target_s=20, shrinkage=0.3).scheduled_agents == 30


def test_occupancy_cap_binds() -> None:
    loose = required_agents(5000, 1800, 180, target_s=30, max_occupancy=1.0, shrinkage=0)
    capped = required_agents(5000, 1800, 180, target_s=30, max_occupancy=0.85, shrinkage=0)
    assert capped.agents > loose.agents
    assert capped.agents == math.ceil(500 / 0.85)
    assert capped.occupancy <= 0.85


def test_zero_calls_need_no_agents() -> None:
    assert required_agents(0, 1800, 180) == StaffingResult(0.0, 0, 0, 1.0, 0.0, 0.0, 0.0)
    assert service_level(0, 1800, 180, 0, 20) == 1.0
    assert average_speed_of_answer(0, 1800, 180, 3) == 0.0
    assert occupancy(0, 1800, 180, 3) == 0.0
    assert erlang_c(0, 0) == 0.0


def test_understaffed_queue() -> None:
    assert erlang_c(10, 10) == 1.0
    assert erlang_c(10, 3) == 1.0
    assert service_level(100, 1800, 180, 10, 20) == 0.0
    assert average_speed_of_answer(100, 1800, 180, 9) == math.inf
    assert occupancy(100, 1800, 180, 9) == 1.0


def test_erlang_b_small_cases() -> None:
    assert erlang_b(1, 0) == 1.0
    assert erlang_b(1, 1) == pytest.approx(0.5)
    assert erlang_b(2, 2) == pytest.approx(0.4)  # (2^2/2!) / (1 + 2 + 2)


def test_erlang_c_closed_form_for_small_n() -> None:
    # Direct formula is fine at this size: C = (A^N/N! * N/(N-A)) / (sum_{k<N} A^k/k! + A^N/N! * N/(N-A)).
    traffic, agents = 7.5, 10
    top = traffic**agents / math.factorial(agents) * agents / (agents - traffic)
    bottom = sum(traffic**k / math.factorial(k) for k in range(agents)) + top
    assert erlang_c(traffic, agents) == pytest.approx(top / bottom, rel=1e-12)


def test_large_traffic_is_stable() -> None:
    result = required_agents(600_000, 1800, 300, max_occupancy=1.0)  # 100,000 Erlangs
    assert 100_000 < result.agents < 105_000
    assert 0.8 <= result.service_level < 1
    assert 0 < erlang_c(1000.0, 1050) < 1
    assert 0 < erlang_c(99_000.0, 100_000) < 1


@given(
    traffic=st.floats(min_value=0.01, max_value=2000),
    extra=st.integers(min_value=1, max_value=200),
)
def test_probabilities_stay_in_range(traffic: float, extra: int) -> None:
    agents = math.ceil(traffic) + extra
    waiting = erlang_c(traffic, agents)
    assert 0 <= erlang_b(traffic, agents) <= waiting <= 1
    assert erlang_c(traffic, agents + 1) <= waiting


@given(
    calls=st.floats(min_value=0.5, max_value=3000),
    aht_s=st.floats(min_value=30, max_value=900),
    target_sl=st.floats(min_value=0.5, max_value=0.95),
)
def test_required_agents_is_minimal(calls: float, aht_s: float, target_sl: float) -> None:
    result = required_agents(calls, 1800, aht_s, target_sl=target_sl, target_s=20, max_occupancy=1.0)
    assert result.service_level >= target_sl
    fewer = result.agents - 1
    assert fewer == 0 or service_level(calls, 1800, aht_s, fewer, 20) < target_sl


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"calls": -1}, "calls"),
        ({"calls": math.nan}, "calls"),
        ({"interval_s": 0}, "interval_s"),
        ({"interval_s": -1800}, "interval_s"),
        ({"aht_s": 0}, "aht_s"),
        ({"target_sl": 1.0}, "target_sl"),
        ({"target_sl": -0.1}, "target_sl"),
        ({"target_s": -5}, "target_s"),
        ({"max_occupancy": 0}, "max_occupancy"),
        ({"max_occupancy": 1.2}, "max_occupancy"),
        ({"shrinkage": 1.0}, "shrinkage"),
        ({"shrinkage": -0.1}, "shrinkage"),
    ],
)
def test_required_agents_validates(kwargs: dict[str, float], message: str) -> None:
    args = {"calls": 100.0, "interval_s": 1800.0, "aht_s": 180.0} | kwargs
    calls, interval_s, aht_s = args.pop("calls"), args.pop("interval_s"), args.pop("aht_s")
    with pytest.raises(ValueError, match=message):
        required_agents(calls, interval_s, aht_s, **args)


@pytest.mark.parametrize("agents", [-1, 2.5, True])
def test_agents_must_be_a_whole_number(agents: int) -> None:
    with pytest.raises(ValueError, match="agents"):
        erlang_c(5, agents)


def test_traffic() -> None:
    assert traffic_erlangs(100, 1800, 180) == 10
    with pytest.raises(ValueError, match="interval_s"):
        traffic_erlangs(100, 0, 180)
