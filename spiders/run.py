"""Run crawls in this (child) process: one source, or a fleet of sources in one Scrapy process.

  python -m spiders.run --source-json JSON --spool DIR      one source, the spool is its own
  python -m spiders.run --fleet-stream --spool DIR          each source read from stdin, at once

A Twisted reactor cannot restart, so every crawl gets a fresh process; the flow reads the spool
(flows.fetch.spool). In a fleet, each source is its own Scrapy crawler (its own settings, limits,
robots.txt, stats and middlewares, so one source's Crawl-delay, back-off or budget never touches
another's), all in one reactor, each started as the parent sends it; at most
NEWSWATCH_FLEET_CONCURRENCY of them run at once, so memory and open connections stay bounded
however many sources are due. A source's crawl that fails is reported on its own line and the
others go on.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from flows.config.sources import Source
from flows.fetch.spool import part_dir, write_stats

# A line the parent reads for each finished source of a fleet crawl.
FLEET_MARKER = "newswatch-fleet "
# In a source's spool part: the body of an entry point the parent's probe already fetched.
PREFETCHED_FILE = "prefetched.bin"
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
    which.add_argument(
        "--fleet-stream",
        action="store_true",
        help="crawl the sources read from stdin (JSON lines: source, part) until it closes",
    )
    parser.add_argument("--spool", required=True, type=Path, help="folder for pages and stats")
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "spiders.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    settings.set("NEWSWATCH_SPOOL_DIR", str(args.spool), priority="cmdline")
    if args.fleet_stream:
        for name, value in FLEET_SETTINGS.items():
            settings.set(name, value, priority="cmdline")
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        settings.set(name, value, priority="cmdline")
    args.spool.mkdir(parents=True, exist_ok=True)
    if args.fleet_stream:
        return crawl_stream(args.spool, settings, sys.stdin)
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


def crawl_stream(spool: Path, settings: Any, lines: IO[str]) -> int:
    """Crawl each source read from `lines` (one JSON object a line: the source and its spool
    part) as soon as it comes, each in its own crawler, all in one reactor; end once the input
    is closed and every crawl has finished.

    The parent keeps this process for a whole tick and hands it sources as they fall due: one
    process start and one reactor for hundreds of polls, instead of one a pass.
    """
    import threading

    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.reactor import install_reactor
    from twisted.internet.defer import Deferred, DeferredSemaphore

    from spiders.source_spider import SourceSpider

    reactor_path = settings.get("TWISTED_REACTOR")
    if reactor_path:
        install_reactor(reactor_path, settings.get("ASYNCIO_EVENT_LOOP"))
    from twisted.internet import reactor

    running: Any = reactor
    process = CrawlerProcess(settings)
    limit = DeferredSemaphore(max(settings.getint("NEWSWATCH_FLEET_CONCURRENCY", 64), 1))
    state = {"active": 0, "input_open": True}

    def stop_when_done() -> None:
        if not state["input_open"] and state["active"] == 0:
            running.callLater(0, running.stop)

    def crawl(source: Source, part: str, prefetched: list[dict[str, Any]]) -> Deferred[Any]:
        crawler = process.create_crawler(SourceSpider.for_source(source))
        crawler.settings.set("NEWSWATCH_SPOOL_PART", part, priority="cmdline")
        crawler.settings.set("NEWSWATCH_PREFETCHED", prefetched, priority="cmdline")
        done: Deferred[Any] = process.crawl(crawler)

        def finished(outcome: Any) -> None:
            failed = getattr(outcome, "getErrorMessage", None)
            stats = crawler.stats.get_stats() if crawler.stats is not None else {}
            write_stats(part_dir(spool, part), stats or {})
            report_line(source, part, stats or {}, failed() if failed is not None else None)

        done.addBoth(finished)
        return done

    def begin(line: str) -> None:
        try:
            request = json.loads(line)
            source = Source.model_validate(request["source"])
            part = str(request["part"])
            prefetched = list(request.get("prefetched") or [])
        except (ValueError, KeyError, TypeError) as exc:
            sys.stdout.write(f"fleet crawl: unreadable request line ({exc})\n")
            return
        state["active"] += 1

        def end(_: object) -> None:
            state["active"] -= 1
            stop_when_done()

        limit.run(crawl, source, part, prefetched).addBoth(end)

    def close_input() -> None:
        state["input_open"] = False
        stop_when_done()

    def read_input() -> None:
        for line in lines:
            if line.strip():
                running.callFromThread(begin, line)
        running.callFromThread(close_input)

    running.callWhenRunning(
        lambda: threading.Thread(target=read_input, name="fleet-input", daemon=True).start()
    )
    process.start(stop_after_crawl=False)
    return 0


def report_line(source: Source, part: str, stats: dict[str, Any], error: str | None) -> None:
    """The line the parent waits for: this source's crawl is over and its pages are spooled."""
    line = {
        "source": source.name,
        "part": part,
        "pages": int(stats.get("response_received_count", 0) or 0),
        "items": int(stats.get("item_scraped_count", 0) or 0),
        "finish_reason": str(stats.get("finish_reason", "")),
        "error": error,
    }
    sys.stdout.write(FLEET_MARKER + json.dumps(line) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
