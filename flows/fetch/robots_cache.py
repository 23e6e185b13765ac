"""robots.txt kept between crawls, for as long as its HTTP caching headers allow (RFC 9309).

Scrapy reads robots.txt once per crawler, and a fleet starts a crawler per poll: a feed polled
every minute or two would cost a robots.txt request at every poll. RFC 9309 (2.4) lets crawlers
cache it under standard HTTP caching (RFC 9111) and asks them not to keep it past 24 hours; with
no caching headers at all it is kept DEFAULT_SECONDS. Only answers that say something final are
kept: 2xx (the rules) and 4xx (no rules); a 5xx or a network error is asked again next time.

Plain functions over one connection; the crawl child calls them through spiders.database.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from flows.store.db import Connection

DEFAULT_SECONDS = 3600.0
MAX_SECONDS = 86400.0


def cache_lifetime(
    status: int, headers: dict[str, str], default: float = DEFAULT_SECONDS
) -> float | None:
    """Seconds this robots.txt answer may be reused; None: not to be kept at all."""
    if not (200 <= status < 300 or 400 <= status < 500):
        return None
    lowered = {name.lower(): value for name, value in headers.items()}
    directives = _cache_control(lowered.get("cache-control", ""))
    if "no-store" in directives or "no-cache" in directives:
        return None
    for name in ("s-maxage", "max-age"):
        value = directives.get(name)
        if value is not None:
            try:
                seconds = float(value)
            except ValueError:
                continue
            return min(max(seconds, 0.0), MAX_SECONDS) or None
    if "expires" in lowered:
        try:
            expires = parsedate_to_datetime(lowered["expires"]).timestamp()
            date = parsedate_to_datetime(lowered["date"]).timestamp() if "date" in lowered else None
        except (TypeError, ValueError, IndexError):
            return None  # an invalid Expires means already expired (RFC 9111 5.3)
        if date is not None:
            return min(max(expires - date, 0.0), MAX_SECONDS) or None
    return min(default, MAX_SECONDS) or None


def _cache_control(header: str) -> dict[str, str | None]:
    directives: dict[str, str | None] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name:
            directives[name.lower()] = value.strip('"') if value else None
    return directives


def load_robots(connection: Connection, origin: str) -> tuple[int, bytes] | None:
    """The origin's kept robots.txt (status, body) if it has not expired."""
    row = connection.execute(
        "SELECT status, body FROM robots_cache WHERE origin = %s AND expires_at > now()",
        (origin,),
    ).fetchone()
    return (int(row["status"]), bytes(row["body"])) if row else None


def save_robots(
    connection: Connection, origin: str, status: int, body: bytes, lifetime: float
) -> None:
    connection.execute(
        """INSERT INTO robots_cache (origin, status, body, fetched_at, expires_at)
           VALUES (%s, %s, %s, now(), now() + %s * interval '1 second')
           ON CONFLICT (origin) DO UPDATE SET status = EXCLUDED.status, body = EXCLUDED.body,
               fetched_at = EXCLUDED.fetched_at, expires_at = EXCLUDED.expires_at""",
        (origin, status, body, lifetime),
    )
