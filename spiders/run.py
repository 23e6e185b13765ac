"""Run one source's crawl in this (child) process: `python -m spiders.run --source-json ... --spool DIR`.

A Twisted reactor cannot restart, so every crawl gets a fresh process; the flow reads the spool.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from flows.config.sources import Source


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source-json", required=True, help="the Source, as JSON")
    parser.add_argument("--spool", required=True, type=Path, help="folder for pages and stats")
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "spiders.settings")
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from spiders.source_spider import SourceSpider

    source = Source.model_validate_json(args.source_json)
    settings = get_project_settings()
    settings.set("NEWSWATCH_SPOOL_DIR", str(args.spool), priority="cmdline")
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        settings.set(name, value, priority="cmdline")
    args.spool.mkdir(parents=True, exist_ok=True)

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SourceSpider.for_source(source))
    process.crawl(crawler)
    process.start()
    stats = {key: _jsonable(value) for key, value in (crawler.stats.get_stats() or {}).items()}
    (args.spool / "stats.json").write_text(json.dumps(stats, indent=1), encoding="utf-8")
    return 0


def _jsonable(value: object) -> object:
    return value if isinstance(value, int | float | str | bool | type(None)) else str(value)


if __name__ == "__main__":
    sys.exit(main())
