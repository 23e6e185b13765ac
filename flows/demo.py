"""`newswatch demo`: the whole pipeline once against the bundled Daily8-shaped test site."""

from __future__ import annotations

from dataclasses import dataclass

from flows.config.settings import Settings
from flows.match.watches import add_watch, list_watches
from flows.store import db

DEMO_SOURCE = "daily8"
# The shipped Daily8 source is polite to a real server; the local test site needs no delays.
DEMO_SCRAPY_SETTINGS = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
}


@dataclass(frozen=True)
class DemoWatch:
    name: str
    query: str
    email: str


DEMO_WATCHES = (
    DemoWatch("demo-kursk", "Kursk", "analyst@example.com"),
    DemoWatch("demo-north-korea", '"north korea" -sport', "analyst@example.com"),
    DemoWatch("demo-solar", "solar OR photovoltaic", "energy-desk@example.com"),
    DemoWatch("demo-water-ar", "المياه", "arabic-desk@example.com"),
)


def ensure_demo_watches(settings: Settings) -> list[str]:
    """Create the demo watches that do not exist yet; return the names created."""
    created = []
    with db.connect(db.prepare(settings)) as connection:
        existing = {watch.name for watch in list_watches(connection)}
        for watch in DEMO_WATCHES:
            if watch.name not in existing:
                add_watch(connection, watch.name, watch.query, watch.email)
                created.append(watch.name)
    return created
