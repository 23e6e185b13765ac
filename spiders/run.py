"""Run crawls in this (child) process: one source, or a fleet of sources in one Scrapy process.

  python -m spiders.run --source-json JSON --spool DIR      one source, the spool is its own
  python -m spiders.run --fleet-file FILE --spool DIR       every source of a JSON list at once

A Twisted reactor cannot restart, so every crawl gets a fresh process; the flow reads the spool
(flows.fetch.spool). In a fleet, each source is its own Scrapy crawler (its own settings, limits,
robots.txt, stats and middlewares, so one source's Crawl-delay, back-off or budget never touches
another's), all in one reactor; at most NEWSWATCH_FLEET_CONCURRENCY of them run at once, so memory
and open connections stay bounded however many sources are due. A source's crawl that fails is
reported on its own line and the others go on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from flows.config.sources import Source
from flows.fetch.spool import part_dir, write_stats

# A line the parent reads for each finished source of a fleet crawl.
FLEET_MARKER = "newswatch-fleet "
# Scrapy settings a fleet crawl changes: a thousand crawlers must not each log their
# configuration, dump their stats or print progress lines (the parent gets one line a source).
FLEET_SETTINGS: dict[str, Any] = {
    "LOG_LEVEL": "ERROR",
    "STATS_DUMP": False,
    "LOGSTATS_INTERVAL": 0,
    "NEWSWATCH_PROGRESS_INTERVAL": 0,
    # Only the spool: no per-crawler "disabled" notices for components a fleet never uses.
    "ITEM_PIPELINES": {"spiders.pipelines.SpoolPipeline": 100},
    "EXTENSIONS": {},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--source-json", help="the Source, as JSON")
    which.add_argument("--fleet-file", type=Path, help="a JSON list of Sources to crawl at once")
    parser.add_argument("--spool", required=True, type=Path, help="folder for pages and stats")
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "spiders.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    settings.set("NEWSWATCH_SPOOL_DIR", str(args.spool), priority="cmdline")
    if args.fleet_file is not None:
        for name, value in FLEET_SETTINGS.items():
            settings.set(name, value, priority="cmdline")
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        settings.set(name, value, priority="cmdline")
    args.spool.mkdir(parents=True, exist_ok=True)
    if args.fleet_file is not None:
        raw = json.loads(args.fleet_file.read_text(encoding="utf-8"))
        return crawl_fleet([Source.model_validate(entry) for entry in raw], args.spool, settings)
    return crawl_one(Source.model_validate_json(args.source_json), args.spool, settings)


def crawl_one(source: Source, spool: Path, settings: Any) -> int:
    from scrapy.crawler import CrawlerProcess

    from spiders.source_spider import SourceSpider

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SourceSpider.for_source(source))
    process.crawl(crawler)
    process.start()
    write_stats(spool, crawler.stats.get_stats() or {})
    return 0


def crawl_fleet(sources: list[Source], spool: Path, settings: Any) -> int:
    """Every source at once in one reactor, each in its own crawler, its spool part its name."""
    from scrapy.crawler import CrawlerProcess
    from twisted.internet.defer import Deferred, DeferredList, DeferredSemaphore

    from spiders.source_spider import SourceSpider

    process = CrawlerProcess(settings)
    limit = DeferredSemaphore(max(settings.getint("NEWSWATCH_FLEET_CONCURRENCY", 64), 1))

    def start(source: Source) -> Deferred[Any]:
        crawler = process.create_crawler(SourceSpider.for_source(source))
        crawler.settings.set("NEWSWATCH_SPOOL_PART", source.name, priority="cmdline")
        done: Deferred[Any] = process.crawl(crawler)

        def finished(outcome: Any) -> None:
            failed = getattr(outcome, "getErrorMessage", None)
            stats = crawler.stats.get_stats() if crawler.stats is not None else {}
            write_stats(part_dir(spool, source.name), stats or {})
            line = {
                "source": source.name,
                "pages": int(stats.get("response_received_count", 0) or 0) if stats else 0,
                "items": int(stats.get("item_scraped_count", 0) or 0) if stats else 0,
                "finish_reason": str(stats.get("finish_reason", "")) if stats else "",
                "error": failed() if failed is not None else None,
            }
            sys.stdout.write(FLEET_MARKER + json.dumps(line) + "\n")
            sys.stdout.flush()

        done.addBoth(finished)
        return done

    crawls = [limit.run(start, source) for source in sources]
    everything: Deferred[Any] = DeferredList(crawls, consumeErrors=True)

    def stop(_: object) -> None:
        from twisted.internet import reactor  # imported once running: the one Scrapy installed

        running: Any = reactor
        running.callLater(0, running.stop)

    everything.addBoth(stop)
    process.start(stop_after_crawl=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
