"""The poll lower bound is one, and the default schedule meets both wait goals against it.

Pure arithmetic on the virtual clock of :mod:`benchmarks.wait_efficiency` (no Prefect, no
timing), so these run in the fast suite.
"""

from __future__ import annotations

import itertools

import pytest

from anyint import PollSchedule
from benchmarks.wait_efficiency import (
    BOUND_GOAL,
    DURATIONS,
    LAG_FLOOR,
    LAG_GOAL,
    Schedule,
    _from_intervals,
    _worst_lag_ratio,
    lower_bound,
    simulate,
)


def test_lower_bound_meets_the_lag_goal_everywhere() -> None:
    bound = lower_bound()
    for T in DURATIONS:
        assert _worst_lag_ratio(bound, T / 2, 2 * T) <= LAG_GOAL + 1e-9, T


@pytest.mark.parametrize("k", [1, 5, 11, 30, 60])
def test_stretching_any_gap_of_the_bound_breaks_the_lag_goal(k: int) -> None:
    """Fewer polls than the bound means some gap longer than it: then some lag is too long."""
    bound = lower_bound()
    times = list(bound.times)
    stretch = 0.01 * (times[k] - times[k - 1])
    stretched = Schedule("stretched", (*times[:k], *(t + stretch for t in times[k:])))
    end = times[k - 1] + 1e-6  # just after the poll before the longer gap
    assert _worst_lag_ratio(stretched, end, end + 1e-3) > LAG_GOAL


def test_bound_closed_form() -> None:
    """floor / growth seconds of polls floor apart, then geometric growth by 1 + growth."""
    times = lower_bound().times
    floor_polls = round(1 / LAG_GOAL)  # 10 waits of 0.5 s, up to 5 s
    assert times[: floor_polls + 2] == pytest.approx(
        [LAG_FLOOR * n for n in range(floor_polls + 2)]
    )
    geometric = times[floor_polls + 1 :]
    ratios = [b / a for a, b in itertools.pairwise(geometric)]
    assert ratios == pytest.approx([1 + LAG_GOAL] * len(ratios))


def test_default_schedule_is_within_the_goal_of_the_bound_and_the_lag_goal() -> None:
    sim = simulate()
    assert sim["polls_vs_bound_at_T_max"] <= BOUND_GOAL
    assert sim["lag_ratio_worst"] <= LAG_GOAL + 1e-9


def test_a_30_s_cap_misses_the_poll_goal() -> None:
    """What the issue measured before: 104 polls against the bound's 73 at T = 1800 s."""
    capped = _from_intervals("capped", PollSchedule(max_interval=30).interval)
    found, best = capped.detect(1800.0), lower_bound().detect(1800.0)
    assert found is not None and best is not None
    assert (found[0], best[0]) == (104, 73)
    assert found[0] / best[0] > BOUND_GOAL
