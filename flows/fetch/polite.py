"""Politeness and "changed since?" rules, written once for the crawler and the entry probe.

Plain functions without Scrapy or Twisted: `spiders/` (the crawl child's middlewares) and
`flows/fetch/probe.py` (the flow's conditional GETs before a crawl) both import them, so the two
send the same headers, keep the same validators, wait the same delays and count skipped
requests under the same keys.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from flows.records import Validator

# Why a request was not made (or its answer not used); the keys of every `skipped` count.
NOT_MODIFIED = "not_modified"  # an entry page answered 304 to its validators
KNOWN_URL = "known_url"  # an article URL already stored
ROBOTS = "robots"  # robots.txt forbids it
OFFSITE = "offsite"  # a link off the source's domains
DUPLICATE = "duplicate"  # the same request twice in one crawl (Scrapy's duplicate filter)
PAGE_BUDGET = "page_budget"  # the source's page limit was reached
SKIP_REASONS = (NOT_MODIFIED, KNOWN_URL, ROBOTS, OFFSITE, DUPLICATE, PAGE_BUDGET)

SKIPPED_STAT_PREFIX = "newswatch/skipped/"
# Scrapy's own stats for requests its components dropped, under our reasons.
_SCRAPY_SKIP_STATS = {
    "robotstxt/forbidden": ROBOTS,
    "offsite/filtered": OFFSITE,
    "dupefilter/filtered": DUPLICATE,
}


def skipped_stat(reason: str) -> str:
    """The crawl stat our components increment for a request skipped for `reason`."""
    return SKIPPED_STAT_PREFIX + reason


def skipped_from_stats(stats: Mapping[str, object]) -> dict[str, int]:
    """Requests not made, by reason, from a crawl's stats (ours and Scrapy's), zeros left out."""
    skipped: dict[str, int] = {}
    for key, value in stats.items():
        if key.startswith(SKIPPED_STAT_PREFIX):
            reason = key.removeprefix(SKIPPED_STAT_PREFIX)
        elif key in _SCRAPY_SKIP_STATS:
            reason = _SCRAPY_SKIP_STATS[key]
        else:
            continue
        count = stat_int(value)
        if count:
            skipped[reason] = skipped.get(reason, 0) + count
    return dict(sorted(skipped.items()))


def stat_int(value: object) -> int:
    """A Scrapy stat as an int (the spool's stats.json may hold strings); 0 if not a number."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return 0


def conditional_headers(validator: Validator | None) -> dict[str, str]:
    """If-None-Match / If-Modified-Since for a page whose validators were kept."""
    headers: dict[str, str] = {}
    if validator is None:
        return headers
    if validator.etag:
        headers["If-None-Match"] = validator.etag
    if validator.last_modified:
        headers["If-Modified-Since"] = validator.last_modified
    return headers


def validator_from_headers(
    url: str, etag: bytes | str | None, last_modified: bytes | str | None
) -> Validator | None:
    """What a 200 said identifies its version; None when it said nothing usable."""

    def text(value: bytes | str | None) -> str | None:
        if value is None:
            return None
        decoded = value.decode("latin-1") if isinstance(value, bytes) else value
        return decoded.strip() or None

    tag, modified = text(etag), text(last_modified)
    if tag is None and modified is None:
        return None
    return Validator(url, tag, modified)


def request_delay(
    download_delay: float, robots_crawl_delay: float | None, max_crawl_delay: float
) -> float:
    """Seconds between two requests to one site: the source's delay, raised to robots.txt's
    Crawl-delay, which is capped (a site asking for an hour would stop the crawl)."""
    asked = min(float(robots_crawl_delay or 0.0), max_crawl_delay)
    return max(float(download_delay), asked)


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date; None if unreadable."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))
