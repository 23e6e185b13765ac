"""The fleet's cheap first question: has any due entry point changed since the last poll?

Most polls of a fleet find nothing new, and a Scrapy crawler costs some 30-40 ms of CPU to
build and tear down even for one request that answers 304 (its settings, middlewares, engine,
downloader, stats): at thousands of sources that is most of the machine. So a quiet entry
point is first asked with the probe's plain conditional GET (flows.fetch.probe), in a few
threads; only a source whose entry point changed, failed or has no validators goes to the
crawl. An entry point that has news at most of its polls skips the probe: the crawl would
fetch it again anyway, one request more for nothing.

Validators and kept robots.txt bodies are read in the calling thread (one query each for a
batch of sources), so the probe threads need no database connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from flows.config.sources import Source
from flows.fetch import robots_cache
from flows.fetch.probe import ProbeOutcome, probe_source
from flows.fetch.urls import origin
from flows.records import Validator
from flows.store.db import Connection

NEWS_SHARE_TO_CRAWL = 0.5  # an entry point with news at this share of its polls is crawled


@dataclass(frozen=True)
class Probed:
    source: Source
    outcome: ProbeOutcome


class FleetProber:
    """Probes in `threads` threads; `submit` sources, `finished` for their outcomes."""

    def __init__(self, threads: int, user_agent: str, scrapy_settings: dict[str, str] | None):
        self.user_agent = user_agent
        self.scrapy_settings = scrapy_settings
        self._pool = ThreadPoolExecutor(max(threads, 1), thread_name_prefix="fleet-probe")
        self._running: list[tuple[Source, Future[ProbeOutcome]]] = []

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def submit(self, connection: Connection, sources: list[Source]) -> None:
        if not sources:
            return
        urls = [url for source in sources for url in source.entry_urls()]
        validators = _validators(connection, urls)
        robots = _kept_robots(connection, {origin(url) for url in urls})
        for source in sources:
            future = self._pool.submit(
                probe_source,
                source,
                validators.get,
                self.user_agent,
                self.scrapy_settings,
                None,
                robots.get,
                keep_changed=True,
            )
            self._running.append((source, future))

    def finished(self, connection: Connection) -> list[Probed]:
        """Probes that are over (a probe that raised counts as changed: crawl it)."""
        done, running = [], []
        for source, future in self._running:
            if not future.done():
                running.append((source, future))
                continue
            try:
                outcome = future.result()
            except Exception as exc:  # a probe bug must not lose the poll: the crawl decides
                outcome = ProbeOutcome(unchanged=False, reason=f"probe failed: {exc}")
            _keep_robots(connection, outcome)
            done.append(Probed(source, outcome))
        self._running = running
        return done

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


def worth_probing(connection: Connection, sources: Iterable[Source]) -> set[str]:
    """Names of the sources none of whose entry points has news at most polls (counted with
    two polls more, without news: a first crawl always has news, its backlog)."""
    names = [source.name for source in sources]
    rows = connection.execute(
        """SELECT source FROM entry_polls WHERE source = ANY(%s)
           GROUP BY source
           HAVING max(news_polls::float / (polls + 2)) < %s AND min(polls) > 0""",
        (names, NEWS_SHARE_TO_CRAWL),
    ).fetchall()
    return {row["source"] for row in rows}


def _validators(connection: Connection, urls: list[str]) -> dict[str, Validator]:
    rows = connection.execute(
        "SELECT url, etag, last_modified FROM http_validators WHERE url = ANY(%s)",
        (sorted(set(urls)),),
    ).fetchall()
    return {row["url"]: Validator(row["url"], row["etag"], row["last_modified"]) for row in rows}


def _kept_robots(connection: Connection, origins: set[str]) -> dict[str, bytes]:
    rows = connection.execute(
        "SELECT origin, body FROM robots_cache WHERE origin = ANY(%s) AND expires_at > now()",
        (sorted(origins),),
    ).fetchall()
    return {row["origin"]: bytes(row["body"]) for row in rows}


def _keep_robots(connection: Connection, outcome: ProbeOutcome) -> None:
    for site, (status, body, headers) in outcome.robots_fetched.items():
        lifetime = robots_cache.cache_lifetime(status, headers)
        if lifetime is not None:
            kept = body if 200 <= status < 300 else b""
            robots_cache.save_robots(connection, site, status, kept, lifetime)
