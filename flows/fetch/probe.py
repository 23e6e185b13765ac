"""Ask a source's entry points "changed since?" before starting a crawl at all.

A rerun over an unchanged site needs only its entry points' answers (304 Not Modified), but a
crawl child costs seconds to start (Scrapy's imports and reactor). So the flow first sends the
same conditional GETs the crawl would send, from validators kept in Postgres, obeying robots.txt
and the source's delay; only when every entry point answers 304 is the crawl skipped, and the
run's summary counts them as skipped `not_modified`. Anything else (a 200, a redirect, an
error, an entry point without validators, a source that refreshes known URLs) means: crawl. A
changed entry point's 200 answer is kept (`ProbeOutcome.prefetched`) so that the fleet's crawl
starts from it instead of asking the server for it a second time.

Every request has a deadline for its whole answer, not only for each read (a server dripping a
byte a second defeats a per-read timeout), and the probe as a whole has one: a slow site costs
its own source a bounded time and never holds up the sources after it. Headers, validators,
delays and skip keys come from flows.fetch.polite, as the crawler's do.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from protego import Protego

from flows.config.sources import Source
from flows.fetch import history
from flows.fetch.polite import (
    NOT_MODIFIED,
    conditional_headers,
    request_delay,
    skipped_stat,
)
from flows.fetch.urls import on_site, origin
from flows.records import CrawlResult, Validator
from flows.store.db import Connection

# The largest changed entry page kept for the crawl, as the crawler's DOWNLOAD_MAXSIZE default.
PREFETCH_MAX_BYTES = 5 * 1024 * 1024
# The probe's whole budget, in multiples of the source's download timeout.
PROBE_DEADLINE_TIMEOUTS = 3.0
MAX_CRAWL_DELAY = 60.0  # as the crawler's NEWSWATCH_MAX_CRAWL_DELAY default


class ProbeDeadline(TimeoutError):
    """A request (or the probe as a whole) ran out of time."""


@dataclass(frozen=True)
class Prefetched:
    """A changed entry point's answer, as the probe got it (no redirect followed)."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class ProbeOutcome:
    """Whether the crawl can be skipped; `reason` says why not, for the log."""

    unchanged: bool
    reason: str = ""
    requests: int = 0
    not_modified: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    # robots.txt answers fetched by this probe: origin -> (status, body, headers), to keep.
    robots_fetched: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    prefetched: Prefetched | None = None

    def crawl_result(self, source: Source) -> CrawlResult:
        """What the skipped crawl would have reported: entry pages fetched, all unchanged."""
        stats: dict[str, object] = {
            "response_received_count": self.requests,
            skipped_stat(NOT_MODIFIED): self.not_modified,
            "newswatch/entry_probe": "every entry point unchanged: crawl skipped",
        }
        for status, count in self.statuses.items():
            stats[f"downloader/response_status_count/{status}"] = count
        return CrawlResult(
            source=source.name, stats=stats, skipped={NOT_MODIFIED: self.not_modified}
        )


class _Probe:
    """One probe's requests: robots.txt read once per origin, the delay kept per origin, each
    answer and the whole probe within a deadline."""

    def __init__(
        self,
        source: Source,
        user_agent: str,
        delay: float,
        deadline: float,
        max_crawl_delay: float = MAX_CRAWL_DELAY,
        robots_kept: Callable[[str], bytes | None] | None = None,
    ) -> None:
        self.robots_kept = robots_kept
        self.source = source
        self.user_agent = user_agent
        self.delay = delay
        self.deadline = deadline
        self.max_crawl_delay = max_crawl_delay
        self.outcome = ProbeOutcome(unchanged=False)
        self._robots: dict[str, tuple[Protego | None, str]] = {}
        self._last_request: dict[str, float] = {}
        self.last_headers: dict[str, str] = {}
        self.last_header_pairs: list[tuple[str, str]] = []
        self.last_truncated = False

    def _remaining(self, url: str) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ProbeDeadline(f"the probe ran out of time before {url}")
        return remaining

    def get(
        self,
        url: str,
        headers: dict[str, str],
        read_body: bool = False,
        body_limit: int = 512 * 1024,
    ) -> tuple[int, bytes]:
        """Status (and, when asked, up to `body_limit` bytes of a 200's body: `last_truncated`
        says whether there was more) of one GET; no redirects."""
        parts = urlsplit(url)
        site = origin(url)
        wait = self._last_request.get(site, -1e9) + self._delay_for(site) - time.monotonic()
        if wait > 0:
            if wait >= self._remaining(url):
                raise ProbeDeadline(f"waiting {wait:.0f} s for {url} would pass the deadline")
            time.sleep(wait)
        limit = min(self.source.download_timeout, self._remaining(url))
        connection_class = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(parts.netloc, timeout=limit)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        # The socket timeout bounds each read; this bounds the whole answer.
        expired = threading.Event()
        watchdog = threading.Timer(limit, _cut, (connection, expired))
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request("GET", path, headers={"User-Agent": self.user_agent, **headers})
            response = connection.getresponse()
            body = response.read(body_limit + 1) if read_body and response.status == 200 else b""
            self.last_truncated = len(body) > body_limit
            body = body[:body_limit]
            status = response.status
            self.last_header_pairs = response.getheaders()
            self.last_headers = dict(self.last_header_pairs)
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
                raise ProbeDeadline(f"{url} gave no complete answer within {limit:.0f} s") from exc
            raise
        finally:
            watchdog.cancel()
            connection.close()
            self._last_request[site] = time.monotonic()
        if expired.is_set():  # the answer ended because the watchdog cut it
            raise ProbeDeadline(f"{url} gave no complete answer within {limit:.0f} s")
        self.outcome.requests += 1
        self.outcome.statuses[status] = self.outcome.statuses.get(status, 0) + 1
        return status, body

    def _delay_for(self, site: str) -> float:
        robots = self._robots.get(site)
        crawl_delay = robots[0].crawl_delay(self.user_agent) if robots and robots[0] else None
        return request_delay(self.delay, crawl_delay, self.max_crawl_delay)

    def robots(self, site: str) -> tuple[Protego | None, str]:
        """The origin's parsed robots.txt (None: no rules) and its text; raises on 5xx."""
        if site not in self._robots:
            kept = self.robots_kept(site) if self.robots_kept is not None else None
            if kept is not None:
                text = kept.decode("utf-8", "replace")
                self._robots[site] = (Protego.parse(text) if text else None, text)
                return self._robots[site]
            status, body = self.get(site + "/robots.txt", {}, read_body=True)
            if status >= 500:
                raise OSError(f"robots.txt answered {status}")
            self.outcome.robots_fetched[site] = (status, body, self.last_headers)
            text = body.decode("utf-8", "replace") if 200 <= status < 300 else ""
            self._robots[site] = (Protego.parse(text) if text else None, text)
        return self._robots[site]


def _cut(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    """Shut the socket down under a blocked read, which then returns at once."""
    expired.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def probe_entry_points(
    source: Source,
    connection: Connection,
    user_agent: str,
    scrapy_settings: dict[str, str] | None = None,
    deadline_seconds: float | None = None,
) -> ProbeOutcome:
    """Whether every entry point of `source` answers 304 to its stored validators.

    Gives up (and says: crawl) after `deadline_seconds`, by default a few download timeouts.
    """
    return probe_source(
        source,
        lambda url: history.load_validator(connection, url),
        user_agent,
        scrapy_settings,
        deadline_seconds,
    )


def probe_source(
    source: Source,
    validator_of: Callable[[str], Validator | None],
    user_agent: str,
    scrapy_settings: dict[str, str] | None = None,
    deadline_seconds: float | None = None,
    robots_kept: Callable[[str], bytes | None] | None = None,
    keep_changed: bool = False,
) -> ProbeOutcome:
    """`probe_entry_points` with validators (and kept robots.txt bodies) from the caller, so
    probes can run in threads without a database connection each; `keep_changed` reads a
    changed entry point's body into `prefetched` (a crawl that will start from it)."""
    overrides = scrapy_settings or {}
    if str(overrides.get("NEWSWATCH_INCREMENTAL", "true")).lower() in ("0", "false", "no"):
        return ProbeOutcome(unchanged=False, reason="incremental crawling is off")
    if source.refresh_known:
        return ProbeOutcome(unchanged=False, reason="the source refreshes known pages")
    agent = overrides.get("USER_AGENT") or user_agent
    delay = float(overrides.get("DOWNLOAD_DELAY", source.download_delay))
    max_crawl_delay = float(overrides.get("NEWSWATCH_MAX_CRAWL_DELAY", MAX_CRAWL_DELAY))
    budget = (
        deadline_seconds
        if deadline_seconds is not None
        else PROBE_DEADLINE_TIMEOUTS * source.download_timeout
    )
    probe = _Probe(source, agent, delay, time.monotonic() + budget, max_crawl_delay, robots_kept)
    try:
        entry_urls = source.entry_urls()
        if source.sitemaps_from_robots:
            from spiders.discovery import robots_sitemaps  # lxml only, no Scrapy

            domains = [domain.lower() for domain in source.domains()]
            for site in source.robots_origins():
                text = probe.robots(site)[1]
                entry_urls += [u for u in robots_sitemaps(text) if on_site(u, domains)]
        for url in dict.fromkeys(entry_urls):
            validator = validator_of(url)
            if validator is None:
                return _changed(probe, f"no validators kept for {url}")
            rules, _ = probe.robots(origin(url))
            if rules is not None and not rules.can_fetch(url, probe.user_agent):
                return _changed(probe, f"robots.txt forbids {url}")
            status, body = probe.get(
                url,
                conditional_headers(validator),
                read_body=keep_changed,
                body_limit=PREFETCH_MAX_BYTES,
            )
            if status != 304:
                if keep_changed and status == 200 and not probe.last_truncated:
                    probe.outcome.prefetched = Prefetched(
                        url, status, probe.last_header_pairs, body
                    )
                return _changed(probe, f"{url} answered {status}")
            probe.outcome.not_modified += 1
    except (OSError, http.client.HTTPException) as exc:
        return _changed(probe, f"probe failed: {type(exc).__name__}: {exc}")
    probe.outcome.unchanged = probe.outcome.not_modified > 0
    if not probe.outcome.unchanged:
        probe.outcome.reason = "no entry point to probe"
    return probe.outcome


def _changed(probe: _Probe, reason: str) -> ProbeOutcome:
    probe.outcome.unchanged = False
    probe.outcome.reason = reason
    return probe.outcome
