"""`newswatch bench incremental`: first run vs rerun over an unchanged test site.

Both runs do what the flow does per source (crawl in a child process, extract, store, record),
against a fresh database, and report seconds, responses and article pages fetched. The rerun
should fetch only entry points: it is timed to show that incremental crawling pays off.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from flows.bench.source_run import SourceRun, run_source
from flows.bench.support import scratch_database
from flows.config.settings import REPO_ROOT, Settings
from flows.config.sources import Source, load_sources
from flows.store import db

NO_DELAYS = {"DOWNLOAD_DELAY": "0", "AUTOTHROTTLE_ENABLED": "False"}


def register(commands: Any, bench: Any) -> None:
    parser = bench.add_parser(
        "incremental", help="first run vs rerun over an unchanged test site (seconds, fetches)"
    )
    parser.add_argument(
        "--site", choices=("daily8", "ledger"), default="daily8", help="which test site"
    )
    parser.add_argument(
        "--polite",
        action="store_true",
        help="keep the source's configured delays (default: none, as in the demo)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the numbers here")
    parser.set_defaults(handler=_command)


def _command(args: argparse.Namespace, settings: Settings) -> int:
    numbers = measure(args.site, polite=args.polite, settings=settings)
    for key, value in numbers.items():
        print(f"{key:28} {value}")
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2), encoding="utf-8")
    return 0


def measure(site_name: str, polite: bool, settings: Settings) -> dict[str, object]:
    """Two runs of one source into a scratch database on the configured server."""
    with scratch_database(db.database_url(settings)) as url:
        db.migrate(url)
        return _two_runs(site_name, polite, url)


def _two_runs(site_name: str, polite: bool, url: str) -> dict[str, object]:
    from flows.testsite import TestSite
    from flows.testsite.publisher import PublisherSite

    overrides = {} if polite else NO_DELAYS
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-") as tmp:
        if site_name == "daily8":
            with TestSite() as d8:
                source = load_sources(REPO_ROOT / "sources.toml", ["daily8"])[0]
                source = source.rebased(d8.base_url)
                first, first_s, first_articles = _timed(source, Path(tmp, "1"), url, overrides, d8)
                d8.hits.clear()
                again, again_s, again_articles = _timed(source, Path(tmp, "2"), url, overrides, d8)
        else:
            with PublisherSite(crawl_delay=0.2 if polite else 0) as ledger:
                path = REPO_ROOT / "flows" / "testsite" / "sources.toml"
                source = load_sources(path, ["ledger"])[0].rebased(ledger.base_url)
                first, first_s, first_articles = _timed(
                    source, Path(tmp, "1"), url, overrides, ledger
                )
                ledger.reset_hits()
                again, again_s, again_articles = _timed(
                    source, Path(tmp, "2"), url, overrides, ledger
                )
    return {
        "site": site_name,
        "polite_delays": polite,
        "first_seconds": round(first_s, 2),
        "first_responses": first.summary.pages_fetched,
        "first_article_pages": first_articles,
        "first_articles_new": first.summary.articles_new,
        "rerun_seconds": round(again_s, 2),
        "rerun_responses": again.summary.pages_fetched,
        "rerun_article_pages": again_articles,
        "rerun_articles_new": again.summary.articles_new,
        "rerun_skipped": again.summary.skipped,
        "speedup": round(first_s / again_s, 1) if again_s else None,
    }


def _timed(
    source: Source, spool: Path, url: str, overrides: dict[str, str], site: Any
) -> tuple[SourceRun, float, int]:
    started = time.perf_counter()
    run = run_source(source, spool, url, overrides)
    elapsed = time.perf_counter() - started
    paths = _paths(site)
    articles = sum(1 for path in paths if source.is_article(path.split("?")[0]))
    return run, elapsed, articles


def _paths(site: Any) -> list[str]:
    if hasattr(site, "paths"):
        return list(site.paths())
    return [path for path, count in site.hits_snapshot().items() for _ in range(count)]
