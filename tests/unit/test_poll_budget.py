"""The fleet's request budget shared out by the square-root rule; robots.txt cache lifetimes."""

from __future__ import annotations

import math
import random

import pytest

from flows.fetch.poll_budget import Demand, fit_scale, interval_for, polls_per_second
from flows.fetch.polling import JITTER, EntryHistory, budgeted_interval
from flows.fetch.robots_cache import DEFAULT_SECONDS, MAX_SECONDS, cache_lifetime

NOW = 1_800_000_000.0


def test_the_scale_spends_the_budget_and_busier_entry_points_poll_more() -> None:
    busy = Demand(rate=30 / 3600, floor=10, ceiling=3600)  # thirty stories an hour
    quiet = Demand(rate=4 / 86400, floor=10, ceiling=3600)  # four a day
    demands = [busy] + [quiet] * 9
    budget = 20 * 10 / 3600  # twenty polls an hour each, on average
    scale = fit_scale(demands, budget)
    assert polls_per_second(demands, scale) == pytest.approx(budget, rel=0.01)
    fast = interval_for(busy.rate, scale, busy.floor, busy.ceiling)
    slow = interval_for(quiet.rate, scale, quiet.floor, quiet.ceiling)
    # The square-root rule: the interval goes with one over the root of the rate.
    assert slow / fast == pytest.approx(math.sqrt(busy.rate / quiet.rate), rel=0.01)


def test_bounds_hold_whatever_the_budget() -> None:
    demands = [Demand(1 / 60, 60, 1800), Demand(1 / 86400, 60, 1800)]
    rich = fit_scale(demands, 100.0)  # more than polling everything at its floor
    assert [interval_for(d.rate, rich, d.floor, d.ceiling) for d in demands] == [60, 60]
    poor = fit_scale(demands, 1e-6)  # less than polling everything at its ceiling
    assert [interval_for(d.rate, poor, d.floor, d.ceiling) for d in demands] == [1800, 1800]
    # In between, the clamped ones are kept at their bound and the rest share what is left.
    scale = fit_scale(demands, 1 / 60 + 1 / 600)
    assert interval_for(demands[0].rate, scale, 60, 1800) == 60
    assert interval_for(demands[1].rate, scale, 60, 1800) == pytest.approx(600, rel=0.01)


def test_budgeted_interval_is_jittered_within_bounds_and_slows_with_silence() -> None:
    history = EntryHistory([NOW - 3600 * k for k in range(1, 5)])  # one an hour
    scale = 60 * math.sqrt(1 / 3600)  # one an hour -> a minute
    intervals = [
        budgeted_interval(history, 30, 3600, NOW, scale, random.Random(seed)) for seed in range(40)
    ]
    assert all(60 * (1 - JITTER) <= i <= 60 * (1 + JITTER) for i in intervals)
    assert len({round(i) for i in intervals}) > 5
    later = budgeted_interval(history, 30, 3600, NOW + 8 * 3600, scale, random.Random(1))
    assert later > 60 * 1.5  # four stories over twelve hours instead of four
    never = budgeted_interval(EntryHistory(), 30, 3600, NOW, scale, random.Random(1))
    assert never > later  # an entry point that never brought news is polled least


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (200, {}, DEFAULT_SECONDS),
        (200, {"Cache-Control": "public, max-age=600"}, 600),
        (200, {"cache-control": "max-age=999999"}, MAX_SECONDS),  # a day at most (RFC 9309)
        (200, {"Cache-Control": "no-store"}, None),
        (200, {"Cache-Control": "no-cache"}, None),
        (200, {"Cache-Control": "max-age=0"}, None),
        (
            200,
            {"Expires": "Thu, 01 Jan 2026 01:00:00 GMT", "Date": "Thu, 01 Jan 2026 00:00:00 GMT"},
            3600,
        ),
        (200, {"Expires": "not a date"}, None),
        (404, {}, DEFAULT_SECONDS),  # no robots.txt: no rules, final
        (503, {}, None),  # a server error says nothing: ask again next time
        (301, {}, None),
    ],
)
def test_robots_txt_cache_lifetime_follows_http_caching(
    status: int, headers: dict[str, str], expected: float | None
) -> None:
    assert cache_lifetime(status, headers) == expected
