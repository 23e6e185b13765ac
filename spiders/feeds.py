"""Entry links of a feed, read by feedparser.

Real feeds are messy (unescaped `&` in links, `xml:base`, Atom 0.3, RSS items linked only by a
`<guid>` or an `atom:link`, junk before `<?xml`, a charset that only the HTTP header gives):
feedparser has handled those for two decades, so it does the reading and this module only feeds it
the response's bytes, headers and URL and keeps the web links.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit

import feedparser

from spiders.discovery import FeedError

_WEB_SCHEMES = ("http", "https")


def feed_links(body: bytes, url: str = "", headers: Mapping[str, str] | None = None) -> list[str]:
    """Absolute http(s) entry links of an RSS, RDF or Atom feed, in feed order (feedparser's `link`).

    `headers` are the response's (Content-Type gives the charset, Content-Location the base); `url`
    is where the feed was fetched, the base of relative links when nothing else sets one.
    """
    response_headers = {name.lower(): value for name, value in (headers or {}).items()}
    location = response_headers.get("content-location")
    response_headers["content-location"] = urljoin(url, location) if location else url
    # A stream, never a string: feedparser opens a string that looks like a URL or a path.
    parsed = feedparser.parse(
        io.BytesIO(body), response_headers=response_headers, sanitize_html=False
    )
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        detail = f": {reason}" if reason else ""
        raise FeedError(f"not an RSS or Atom feed{detail}")
    links: list[str] = []
    for entry in parsed.entries:
        link = (entry.get("link") or "").strip()
        if not link:
            continue
        absolute = urljoin(url, link)
        if urlsplit(absolute).scheme in _WEB_SCHEMES:
            links.append(absolute)
    return links
