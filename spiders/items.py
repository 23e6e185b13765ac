"""What a spider yields: raw pages and fetch errors, nothing parsed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PageItem:
    """An article page as fetched: bytes, decoded later by the extractor (servers lie about charsets)."""

    source: str
    url: str
    status: int
    fetched_at: str
    body: bytes
    content_type: str | None = None
    # The entry point (listing, feed, sitemap) whose links led here; adaptive polling counts
    # what each entry point brought.
    entry: str | None = None


@dataclass
class FetchErrorItem:
    source: str
    url: str
    reason: str
