"""Adaptive polling: each entry point's next poll time comes from its own history of news.

The rate is estimated from the stated publication times of the stories an entry point brought
(a feed's or sitemap's dates, the page's own, else when it was fetched): the K newest of them
span some time, and K stories over (now - oldest) is the rate, which falls by itself while
nothing new comes. One story's first sighting is what matters for a watcher, so an entry point
is polled POLLS_PER_STORY times per expected story, weighted by hour of day once it has enough
history (a publisher busy mornings is polled more then), between the source's floor and ceiling,
with jitter so a fleet does not poll in lock step. An entry point with no history starts at its
floor: its first crawl brings its recent stories, and their dates set the pace at once.

State lives in Postgres (entry_polls), so it survives restarts and every worker shares it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from flows.config.sources import Source
from flows.store.db import Connection

POLLS_PER_STORY = 2.0
RECENT_KEPT = 10  # newest stated publication times kept per entry point
HOURLY_HISTORY_MIN = 48  # stories counted by hour before hour of day weighs in
JITTER = 0.1  # +- share of the interval
RATE_WHEN_NONE = 1.0 / 86400  # stories a second assumed of an entry point that never brought one


@dataclass(frozen=True)
class EntryHistory:
    """What an entry point's next interval is computed from."""

    recent_published: Sequence[float] = ()  # epoch seconds, any order
    news_by_hour: Sequence[int] = (0,) * 24


def story_rate(history: EntryHistory, now: float) -> float | None:
    """Stories per second, from the newest stated publication times; None without history."""
    times = sorted(t for t in history.recent_published if t <= now)
    if not times:
        return None
    span = max(now - times[0], 60.0)
    return len(times) / span


def hour_weight(history: EntryHistory, hour: int) -> float:
    """How much busier than its average the entry point is at `hour` (0.5 to 2), 1 when unsure."""
    counts = list(history.news_by_hour)
    total = sum(counts)
    if total < HOURLY_HISTORY_MIN or len(counts) != 24:
        return 1.0
    mean = total / 24
    return min(max(counts[hour] / mean, 0.5), 2.0)


def next_interval(
    history: EntryHistory,
    floor: float,
    ceiling: float,
    now: float,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the entry point's next poll, jittered, within [floor, ceiling]."""
    rate = story_rate(history, now)
    if rate is None:
        base = floor if not history.recent_published else ceiling
    else:
        hour = datetime.fromtimestamp(now, UTC).hour
        base = 1.0 / (POLLS_PER_STORY * rate * hour_weight(history, hour))
    return _jittered(base, floor, ceiling, rng)


def interval_for(rate: float, scale: float, floor: float, ceiling: float) -> float:
    """The square-root rule (flows.fetch.poll_budget): an interval of `scale` / sqrt(rate)."""
    return min(max(scale / math.sqrt(max(rate, 1e-12)), floor), ceiling)


def budgeted_interval(
    history: EntryHistory,
    floor: float,
    ceiling: float,
    now: float,
    scale: float,
    rng: random.Random | None = None,
) -> float:
    """The square-root rule's interval (flows.fetch.poll_budget), jittered, within bounds."""
    rate = story_rate(history, now)
    hour = datetime.fromtimestamp(now, UTC).hour
    expected = (rate if rate is not None else RATE_WHEN_NONE) * hour_weight(history, hour)
    return _jittered(interval_for(expected, scale, floor, ceiling), floor, ceiling, rng)


def _jittered(base: float, floor: float, ceiling: float, rng: random.Random | None) -> float:
    jitter = 1.0 + (rng or random).uniform(-JITTER, JITTER)
    return min(max(base * jitter, floor), ceiling)


def fixed_interval(seconds: float, rng: random.Random | None = None) -> float:
    """The comparison policy: the same interval for every entry point, jittered alike."""
    return seconds * (1.0 + (rng or random).uniform(-JITTER, JITTER))


# -- state in Postgres ------------------------------------------------------------------------


def ensure_entries(connection: Connection, sources: Iterable[Source]) -> None:
    """An entry_polls row for every entry point, new ones due now at the floor interval.

    Existing rows are not touched (so not locked) unless their source changed: every tick runs
    this, and locking the fleet's rows would deadlock with another tick recording polls."""
    rows = [
        (url, source.name, source.poll_min_seconds)
        for source in sources
        for url in source.entry_urls()
    ]
    if not rows:
        return
    urls, names, floors = ([row[i] for row in rows] for i in range(3))
    connection.execute(
        """INSERT INTO entry_polls (url, source, interval_seconds)
           SELECT * FROM unnest(%s::text[], %s::text[], %s::float8[]) ORDER BY 1
           ON CONFLICT (url) DO NOTHING""",
        (urls, names, floors),
    )
    connection.execute(
        """UPDATE entry_polls e SET source = v.source
           FROM unnest(%s::text[], %s::text[]) AS v(url, source)
           WHERE e.url = v.url AND e.source <> v.source""",
        (urls, names),
    )


def due_entries(connection: Connection, sources: list[str], slack_seconds: float) -> set[str]:
    """Entry point URLs of `sources` due within `slack_seconds` (polled with the due ones)."""
    rows = connection.execute(
        """SELECT url FROM entry_polls
           WHERE source = ANY(%s) AND next_poll_at <= now() + %s * interval '1 second'""",
        (sources, slack_seconds),
    ).fetchall()
    return {row["url"] for row in rows}


def restricted(source: Source, due: set[str]) -> Source:
    """The source with only its due entry points (all of them if none is known to be due)."""
    entry_urls = source.entry_urls()
    if not any(url in due for url in entry_urls):
        return source
    return source.model_copy(
        update={
            "start_urls": [u for u in source.start_urls if u in due],
            "feeds": [u for u in source.feeds if u in due],
            "sitemaps": [u for u in source.sitemaps if u in due],
        }
    )


@dataclass(frozen=True)
class EntryPoll:
    """One entry point's poll: the stated publication times of the new stories it brought."""

    url: str
    published: Sequence[float] = ()


def record_entry_polls(
    connection: Connection,
    source: Source,
    polls: Iterable[EntryPoll],
    now: float,
    fixed_seconds: float | None = None,
    scale: float | None = None,
) -> float | None:
    """Store each poll and schedule its entry point; return the source's earliest next poll
    (epoch seconds), or None when nothing was polled."""
    earliest: float | None = None
    for poll in polls:
        row = connection.execute(
            "SELECT recent_published, news_by_hour FROM entry_polls WHERE url = %s",
            (poll.url,),
        ).fetchone()
        recent = list(row["recent_published"]) if row else []
        by_hour = list(row["news_by_hour"]) if row else [0] * 24
        for moment in poll.published:
            by_hour[datetime.fromtimestamp(moment, UTC).hour] += 1
        recent = sorted(set(recent) | set(poll.published))[-RECENT_KEPT:]
        history = EntryHistory(recent, by_hour)
        floor, ceiling = source.poll_min_seconds, source.poll_max_seconds
        if fixed_seconds:
            interval = fixed_interval(fixed_seconds)
        elif scale is not None:
            interval = budgeted_interval(history, floor, ceiling, now, scale)
        else:
            interval = next_interval(history, floor, ceiling, now)
        news = bool(poll.published)
        connection.execute(
            """INSERT INTO entry_polls AS e (url, source, interval_seconds, next_poll_at,
                   last_polled_at, last_news_at, polls, news_polls, recent_published,
                   news_by_hour)
               VALUES (%(url)s, %(source)s, %(interval)s, to_timestamp(%(next)s),
                   to_timestamp(%(now)s), CASE WHEN %(news)s THEN to_timestamp(%(now)s) END,
                   1, %(news)s::int, %(recent)s, %(by_hour)s)
               ON CONFLICT (url) DO UPDATE SET interval_seconds = EXCLUDED.interval_seconds,
                   next_poll_at = EXCLUDED.next_poll_at, last_polled_at = EXCLUDED.last_polled_at,
                   last_news_at = coalesce(EXCLUDED.last_news_at, e.last_news_at),
                   polls = e.polls + 1, news_polls = e.news_polls + EXCLUDED.news_polls,
                   recent_published = EXCLUDED.recent_published,
                   news_by_hour = EXCLUDED.news_by_hour""",
            {
                "url": poll.url,
                "source": source.name,
                "interval": interval,
                "next": now + interval,
                "now": now,
                "news": news,
                "recent": recent,
                "by_hour": by_hour,
            },
        )
        earliest = now + interval if earliest is None else min(earliest, now + interval)
    return earliest


def next_entry_poll(connection: Connection, source: str) -> float | None:
    row = connection.execute(
        "SELECT extract(epoch FROM min(next_poll_at)) AS at FROM entry_polls WHERE source = %s",
        (source,),
    ).fetchone()
    return float(row["at"]) if row and row["at"] is not None else None
