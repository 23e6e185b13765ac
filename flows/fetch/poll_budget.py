"""A request budget for the whole fleet, shared out by the square-root rule.

Polling each entry point a fixed number of times per expected story (flows.fetch.polling's rule
without a budget) spends almost nothing on quiet publishers, so their stories wait out the
ceiling, and spends most requests on busy ones that would be caught soon anyway. What a watcher
feels is the delay from publication to the next poll: an entry point polled every I seconds
that gets a story at rate r costs its stories r * I / 2 of waiting on average and costs 1 / I
polls a second. Minimising the fleet's total waiting for a given number of polls a second B
gives I = scale / sqrt(r) (the square-root rule: four times the news, half the interval), with
`scale` set so the intervals, each kept between its source's floor and ceiling, spend B.

B comes from the operator's budget of requests per source-hour, less what the budget pays
apart from polls: one robots.txt a cache lifetime, and per expected new story its page (and
the entry page once more when a probe saw the change first).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from flows.config.sources import Source
from flows.fetch.polling import (
    RATE_WHEN_NONE,
    EntryHistory,
    hour_weight,
    interval_for,
    story_rate,
)
from flows.store.db import Connection


@dataclass(frozen=True)
class Demand:
    """One entry point as the budget sees it."""

    rate: float  # expected new stories a second
    floor: float
    ceiling: float


def polls_per_second(demands: Sequence[Demand], scale: float) -> float:
    return sum(1.0 / interval_for(d.rate, scale, d.floor, d.ceiling) for d in demands)


def fit_scale(demands: Sequence[Demand], budget_polls_per_second: float) -> float:
    """The scale whose intervals spend `budget_polls_per_second` (all at their floor when the
    budget is larger than that, all at their ceiling when it is smaller)."""
    low, high = 1e-6, 1e9  # spends more than anything / less than anything
    if not demands or polls_per_second(demands, low) <= budget_polls_per_second:
        return low
    if polls_per_second(demands, high) >= budget_polls_per_second:
        return high
    for _ in range(80):  # bisection in log space: spending falls as the scale grows
        middle = math.sqrt(low * high)
        if polls_per_second(demands, middle) > budget_polls_per_second:
            low = middle
        else:
            high = middle
        if high / low < 1.001:
            break
    return high


def demand_of(history: EntryHistory, source: Source, now: float) -> Demand:
    from datetime import UTC, datetime

    rate = story_rate(history, now)
    hour = datetime.fromtimestamp(now, UTC).hour
    expected = (rate if rate is not None else RATE_WHEN_NONE) * hour_weight(history, hour)
    return Demand(expected, source.poll_min_seconds, source.poll_max_seconds)


def fleet_scale(
    connection: Connection,
    sources: Sequence[Source],
    requests_per_source_hour: float,
    robots_seconds: float,
    now: float,
    requests_per_story: float = 1.0,
) -> float:
    """The scale that spends the budget over `sources`' entry points, from their histories;
    each expected story costs `requests_per_story` (its page, and the entry page fetched again
    when a probe found the change)."""
    by_name = {source.name: source for source in sources}
    rows = connection.execute(
        """SELECT source, recent_published, news_by_hour FROM entry_polls
           WHERE source = ANY(%s)""",
        (list(by_name),),
    ).fetchall()
    demands = [
        demand_of(
            EntryHistory(list(row["recent_published"]), list(row["news_by_hour"])),
            by_name[row["source"]],
            now,
        )
        for row in rows
    ]
    stories = sum(d.rate for d in demands) * requests_per_story
    budget = len(by_name) * (requests_per_source_hour / 3600.0 - 1.0 / robots_seconds) - stories
    # Never below one poll per entry point per ceiling: the budget is then simply too small.
    floor_budget = sum(1.0 / d.ceiling for d in demands)
    return fit_scale(demands, max(budget, floor_budget))
