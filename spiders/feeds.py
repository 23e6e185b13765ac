"""Entry links of a feed, read by feedparser.

Real feeds are messy (unescaped `&` in links, `xml:base`, Atom 0.3, RSS items linked only by a
`<guid>` or an `atom:link`, junk before `<?xml`, a charset that only the HTTP header gives):
feedparser has handled those for two decades, so it does the reading and this module only feeds it
the response's bytes, headers and URL and keeps the web links.

Some of feedparser's `link` values are not an entry's page, so they are corrected from the entry's
own `links`: feedparser 6.0.14 lets an Atom `<link>` with no `href` (its URL as text) be the entry
link whatever its `rel`, so an image `rel="enclosure"` replaces the `rel="alternate"` page
(feedparser issue 367, closed upstream; 6.0.14 still fails the test feeds that came with it); it
copies an Atom `<id>` into `link` when the entry has no page link, though an Atom id is an
identifier, not a link (RFC 4287, 4.2.6); and a permalink `<guid>` that is also the item's
enclosure URL is a media file. Otherwise an RSS `<guid>` stays a link unless `isPermaLink="false"`,
as RSS 2.0 defines it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from spiders.discovery import FeedError

_WEB_SCHEMES = ("http", "https")
# feedparser's page types for an alternate link (its `html_types`, and the Atom short forms).
_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})


def feed_links(body: bytes, url: str = "", headers: Mapping[str, str] | None = None) -> list[str]:
    """Absolute http(s) entry links of an RSS, RDF or Atom feed, in feed order.

    Each is feedparser's `link`, corrected as the module says.

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
    atom = str(parsed.get("version") or "").startswith("atom")
    links: list[str] = []
    for entry in parsed.entries:
        link = _page_link(entry, atom)
        if not link:
            continue
        absolute = urljoin(url, link)
        if urlsplit(absolute).scheme in _WEB_SCHEMES:
            links.append(absolute)
    return links


def _page_link(entry: Mapping[str, Any], atom: bool) -> str:
    """The entry's page: feedparser's `link` unless it is another relation's URL or an Atom id."""
    link = str(entry.get("link") or "").strip()
    pages: list[str] = []
    others: set[str] = set()
    for item in entry.get("links") or []:
        href = str(item.get("href") or "").strip()
        kind = str(item.get("type") or "text/html").lower()
        if not href:
            continue
        if item.get("rel", "alternate") == "alternate" and kind in _PAGE_TYPES:
            pages.append(href)
        else:
            others.add(href)
    if link in pages:
        return link
    if link in others or atom:
        # Another relation's URL (an enclosure, say) or an Atom id: the page link if there is one.
        return pages[0] if pages else ""
    return link
