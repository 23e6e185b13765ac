"""Shards and leases: workers on any number of machines share the fleet, no source twice at once.

Each source belongs to one shard (a stable hash of its host, so that the sources of one publisher's
host are polled by one tick at a time, which polls them one after another), and each shard gets its own
deployment with a concurrency limit of one, so Prefect runs at most one tick per shard at a
time, on whichever worker of the pool is free. Underneath, every tick claims the due sources it
crawls with a lease in Postgres (`FOR UPDATE SKIP LOCKED`, then `lease_until`): two ticks that
overlap anyway (a manual run, a second deployment, a clock skew) take disjoint sources. A tick
that is stopped gives its leases back (fleet_tick); one killed outright leaves its sources to be
claimed again once their leases run out.
"""

from __future__ import annotations

import os
import socket
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flows.config.sources import Source
from flows.store.db import Connection


def shard_of(key: str, shards: int) -> int:
    """Stable across processes and machines (unlike hash())."""
    return zlib.crc32(key.encode("utf-8")) % max(shards, 1)


def source_hosts(source: Source) -> frozenset[str]:
    """The hosts a poll of `source` asks: its entry points' and its allowed domains."""
    hosts = {urlsplit(url).hostname or "" for url in source.entry_urls()}
    return frozenset(host.lower() for host in hosts | set(source.domains()) if host)


def shard_key(source: Source) -> str:
    """What a source's shard is a hash of: its first host (its name when it names none)."""
    hosts = source_hosts(source)
    return min(hosts) if hosts else source.name


def lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def sync_sources(connection: Connection, sources: Iterable[Source], shards: int) -> None:
    """A source_polls row for each source (new ones due now), its shard kept up to date.

    Existing rows are left unlocked unless their shard changes: every tick runs this at its
    start, and an upsert over the whole fleet would lock each row, deadlocking with another
    tick that is recording its polls."""
    rows = [(source.name, shard_of(shard_key(source), shards)) for source in sources]
    if not rows:
        return
    names = [name for name, _ in rows]
    numbers = [shard for _, shard in rows]
    connection.execute(
        """INSERT INTO source_polls (source, shard)
           SELECT * FROM unnest(%s::text[], %s::int[]) ORDER BY 1
           ON CONFLICT (source) DO NOTHING""",
        (names, numbers),
    )
    connection.execute(
        """UPDATE source_polls p SET shard = v.shard
           FROM unnest(%s::text[], %s::int[]) AS v(source, shard)
           WHERE p.source = v.source AND p.shard <> v.shard""",
        (names, numbers),
    )


def claim_due(
    connection: Connection,
    names: list[str],
    shards: list[int] | None,
    owner: str,
    lease_seconds: float,
    limit: int,
) -> list[str]:
    """Lease up to `limit` due sources among `names` (of `shards`, all when None), most
    overdue first; sources another tick holds or is claiming are skipped, not waited for."""
    rows = connection.execute(
        """WITH due AS (
               SELECT source FROM source_polls
               WHERE source = ANY(%(names)s)
                 AND (%(shards)s::int[] IS NULL OR shard = ANY(%(shards)s::int[]))
                 AND next_poll_at <= now()
                 AND (not_before IS NULL OR not_before <= now())
                 AND (lease_until IS NULL OR lease_until < now())
               ORDER BY next_poll_at
               LIMIT %(limit)s
               FOR UPDATE SKIP LOCKED)
           UPDATE source_polls p
           SET lease_owner = %(owner)s,
               lease_until = now() + %(lease)s * interval '1 second'
           FROM due WHERE p.source = due.source
           RETURNING p.source""",
        {"names": names, "shards": shards, "owner": owner, "lease": lease_seconds, "limit": limit},
    ).fetchall()
    connection.commit()
    return sorted(row["source"] for row in rows)


def next_due_in(connection: Connection, names: list[str], shards: list[int] | None) -> float | None:
    """Seconds until the next of `names` falls due (0 when one is due now), None if none is."""
    row = connection.execute(
        """SELECT extract(epoch FROM min(greatest(next_poll_at, coalesce(not_before, next_poll_at)))
                  - now()) AS wait
           FROM source_polls
           WHERE source = ANY(%(names)s)
             AND (%(shards)s::int[] IS NULL OR shard = ANY(%(shards)s::int[]))
             AND (lease_until IS NULL OR lease_until < now())""",
        {"names": names, "shards": shards},
    ).fetchone()
    if row is None or row["wait"] is None:
        return None
    return max(float(row["wait"]), 0.0)


@dataclass(frozen=True)
class PollResult:
    """How one claimed source's poll went, for its row in source_polls."""

    source: str
    next_poll_at: float | None  # epoch seconds; None: keep the entry points' earliest
    had_news: bool
    error: str | None = None  # the source could not be polled (crawl failed, all errors)
    not_before: float | None = None  # a server asked us to wait (Retry-After)


def renew(connection: Connection, owner: str, names: list[str], lease_seconds: float) -> list[str]:
    """Extend the leases of `names` still held by `owner`; the ones still held (a lease that ran
    out may have been claimed by another tick since: that one is not this tick's to poll)."""
    if not names:
        return []
    rows = connection.execute(
        """UPDATE source_polls SET lease_until = now() + %s * interval '1 second'
           WHERE source = ANY(%s) AND lease_owner = %s RETURNING source""",
        (lease_seconds, names, owner),
    ).fetchall()
    connection.commit()
    held = {row["source"] for row in rows}
    return [name for name in names if name in held]


def unclaim(connection: Connection, owner: str, names: Iterable[str] | None = None) -> None:
    """Give back leases of sources that were claimed but not polled (the tick ended first);
    every lease `owner` holds when `names` is None (the tick was stopped)."""
    connection.execute(
        """UPDATE source_polls SET lease_owner = NULL, lease_until = NULL
           WHERE (%(names)s::text[] IS NULL OR source = ANY(%(names)s::text[]))
             AND lease_owner = %(owner)s""",
        {"names": None if names is None else sorted(names), "owner": owner},
    )


def release(connection: Connection, owner: str, results: Iterable[PollResult]) -> None:
    """Record each poll and give the lease back."""
    for result in results:
        connection.execute(
            """UPDATE source_polls SET
                   next_poll_at = coalesce(to_timestamp(%(next)s), now() + interval '5 minutes'),
                   not_before = to_timestamp(%(not_before)s),
                   last_polled_at = now(),
                   last_news_at = CASE WHEN %(news)s THEN now() ELSE last_news_at END,
                   error_streak = CASE WHEN %(error)s::text IS NULL THEN 0
                                       ELSE error_streak + 1 END,
                   last_error = %(error)s,
                   polls = polls + 1,
                   lease_owner = NULL, lease_until = NULL
               WHERE source = %(source)s AND lease_owner = %(owner)s""",
            {
                "next": result.next_poll_at,
                "not_before": result.not_before,
                "news": result.had_news,
                "error": result.error,
                "source": result.source,
                "owner": owner,
            },
        )
