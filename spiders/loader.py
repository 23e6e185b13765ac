"""Spiders come from the sources file, not from modules: one per configured source."""

from __future__ import annotations

import builtins
from pathlib import Path

from scrapy import Request, Spider
from scrapy.settings import BaseSettings

from flows.config.sources import Source, load_sources
from spiders.source_spider import SourceSpider


class SourceSpiderLoader:
    """Scrapy's SPIDER_LOADER_CLASS: `scrapy list` shows the sources, `scrapy crawl NAME` runs one.

    `-s NEWSWATCH_SOURCES_FILE=...` picks another sources file, `-s NEWSWATCH_ORIGIN=URL` serves
    every source from another origin (like `newswatch run --origin`).
    """

    def __init__(self, settings: BaseSettings) -> None:
        path = Path(settings.get("NEWSWATCH_SOURCES_FILE"))
        origin = settings.get("NEWSWATCH_ORIGIN")
        sources = load_sources(path)
        if origin:
            sources = [source.rebased(origin) for source in sources]
        self._sources: dict[str, Source] = {s.name: s for s in sources}

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> SourceSpiderLoader:
        return cls(settings)

    def load(self, spider_name: str) -> type[Spider]:
        try:
            return SourceSpider.for_source(self._sources[spider_name])
        except KeyError:
            raise KeyError(f"Spider not found: {spider_name}") from None

    def list(self) -> list[str]:
        return list(self._sources)

    def find_by_request(self, request: Request) -> builtins.list[str]:
        return [name for name in self._sources if self.load(name).handles_request(request)]
