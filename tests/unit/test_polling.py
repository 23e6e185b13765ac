"""Adaptive polling intervals and shard assignment: plain functions."""

from __future__ import annotations

import random

import pytest

from flows.config.sources import Source
from flows.fetch.polling import (
    HOURLY_HISTORY_MIN,
    JITTER,
    EntryHistory,
    hour_weight,
    next_interval,
    restricted,
    story_rate,
)
from flows.orchestration.shards import shard_key, shard_of, source_hosts

NOW = 1_800_000_000.0  # a fixed moment, 2027-01-15 08:00 UTC
FLOOR, CEILING = 60.0, 3600.0


def _interval(history: EntryHistory) -> float:
    return next_interval(history, FLOOR, CEILING, NOW, random.Random(1))


def test_busy_entry_points_are_polled_at_the_floor_and_quiet_ones_at_the_ceiling() -> None:
    busy = EntryHistory([NOW - 120 * k for k in range(1, 11)])  # a story every two minutes
    quiet = EntryHistory([NOW - 6 * 3600 * k for k in range(1, 5)])  # four a day
    assert _interval(busy) == FLOOR
    assert _interval(quiet) == CEILING


def test_interval_follows_the_rate_between_the_bounds() -> None:
    # Ten stories over the last 10,000 s: a rate of one per 1,000 s, two polls per story.
    history = EntryHistory([NOW - 1000 * k for k in range(1, 11)])
    assert story_rate(history, NOW) == pytest.approx(10 / 10000)
    assert _interval(history) == pytest.approx(500, rel=JITTER)


def test_silence_slows_polling_by_itself() -> None:
    history = EntryHistory([NOW - 1000 * k for k in range(1, 11)])
    later = next_interval(history, FLOOR, CEILING, NOW + 20000, random.Random(1))
    assert later > _interval(history) * 2


def test_new_entry_points_start_at_the_floor() -> None:
    assert FLOOR <= _interval(EntryHistory()) <= FLOOR * (1 + JITTER)


def test_hour_of_day_weighs_in_only_with_enough_history() -> None:
    mornings = [0] * 24
    mornings[8] = HOURLY_HISTORY_MIN  # all its stories come at 08:00 UTC
    assert hour_weight(EntryHistory((), mornings), 8) == 2.0
    assert hour_weight(EntryHistory((), mornings), 20) == 0.5
    few = [0] * 24
    few[8] = 3
    assert hour_weight(EntryHistory((), few), 20) == 1.0
    history = [NOW - 1000 * k for k in range(1, 11)]
    busy_hour = next_interval(
        EntryHistory(history, mornings), FLOOR, CEILING, NOW, random.Random(1)
    )
    assert busy_hour == pytest.approx(_interval(EntryHistory(history)) / 2)


def test_jitter_spreads_polls_within_bounds() -> None:
    history = EntryHistory([NOW - 1000 * k for k in range(1, 11)])
    intervals = {round(next_interval(history, FLOOR, CEILING, NOW)) for _ in range(50)}
    assert len(intervals) > 10
    assert all(500 * (1 - JITTER) - 1 <= i <= 500 * (1 + JITTER) + 1 for i in intervals)


def test_only_due_entry_points_are_crawled() -> None:
    source = Source(
        name="mixed",
        start_urls=["http://a.test/news/"],
        article_url_patterns=["^/n/"],
        feeds=["http://a.test/feed.xml"],
        sitemaps=["http://a.test/sitemap.xml"],
    )
    only_feed = restricted(source, {"http://a.test/feed.xml"})
    assert only_feed.entry_urls() == ["http://a.test/feed.xml"]
    assert restricted(source, set()).entry_urls() == source.entry_urls()


def test_shards_are_stable_and_spread() -> None:
    names = [f"pub{index:05d}" for index in range(1000)]
    counts = [0] * 4
    for name in names:
        counts[shard_of(name, 4)] += 1
    assert shard_of("pub00001", 4) == shard_of("pub00001", 4)
    assert min(counts) > 200  # roughly a quarter each
    assert {shard_of(name, 1) for name in names} == {0}


def test_sources_of_one_host_share_a_shard() -> None:
    def source(name: str, **entries: list[str]) -> Source:
        return Source.model_validate({"name": name, "article_url_patterns": ["/a/"], **entries})

    world = source("world", start_urls=["http://News.example/world/"])
    sport = source("sport", feeds=["http://news.example/sport.xml"])
    other = source("other", start_urls=["http://elsewhere.example/"])
    assert source_hosts(world) == source_hosts(sport) == {"news.example"}
    assert shard_key(world) == shard_key(sport) == "news.example" != shard_key(other)
