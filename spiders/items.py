"""What a spider yields: raw pages and fetch errors, nothing parsed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PageItem:
    source: str
    url: str
    status: int
    fetched_at: str
    html: str
    content_type: str | None = None


@dataclass
class FetchErrorItem:
    source: str
    url: str
    reason: str
