"""Many sources, one crawl: every due source in one Scrapy process, one extraction pool for all.

A crawl child per source costs seconds of start-up (imports, the reactor) even when nothing
changed; at a thousand sources that is most of the machine. Here one child runs each source as
its own Scrapy crawler in one reactor (spiders.run --fleet-file), so each source keeps its own
limits, robots.txt, Crawl-delay, Retry-After back-off, page budget and hostile-page handling,
and Scrapy's per-host download slots keep politeness per publisher. Entry points are asked
"changed since?" by the crawl itself (validators from Postgres); a 304 ends that source's crawl
at its first request. Pages go to one shared spool, one process pool extracts them as they land,
and each source's results are read back from its own part of the spool.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flows.config.sources import Source
from flows.extract.pool import ExtractionResult, extract_while_crawling
from flows.fetch.crawl import CrawlFailed, read_spool, run_child
from flows.fetch.spool import ErrorRecord, PageRecord, iter_records
from flows.records import Article, CrawlResult, FetchError
from spiders.run import FLEET_MARKER

FLEET_FILE = "fleet.json"


@dataclass
class SourceOutcome:
    """One source's share of a fleet crawl."""

    source: Source
    crawled: CrawlResult | None  # None: its crawler never reported (the child died first)
    articles: list[Article] = field(default_factory=list)
    errors: list[FetchError] = field(default_factory=list)
    duplicates_in_batch: int = 0
    # Article pages fetched per entry point URL: what each entry point brought this time.
    pages_by_entry: Counter[str] = field(default_factory=Counter)
    # Stated publication times of those pages' articles, per entry point (None: not stated).
    published_by_entry: dict[str, list[float]] = field(default_factory=dict)
    finish_reason: str = ""
    crawler_error: str | None = None

    @property
    def crawl_ok(self) -> bool:
        return self.crawled is not None and self.crawler_error is None


@dataclass
class FleetCrawl:
    outcomes: dict[str, SourceOutcome]
    seconds_in_child: float = 0.0


def crawl_fleet(
    sources: list[Source],
    spool_dir: Path,
    database_url: str | None,
    workers: int = 0,
    log_line: Callable[[str], None] = print,
    scrapy_settings: dict[str, str] | None = None,
    timeout_seconds: float | None = None,
    on_articles: Callable[[list[Article]], None] | None = None,
    start_method: str = "forkserver",
) -> FleetCrawl:
    """Crawl `sources` at once and extract while crawling; each source's outcome on its own.

    A source whose crawler fails is reported as such and the others are not affected; only the
    child itself failing (killed, over the deadline) raises CrawlFailed, and even then what it
    spooled has been extracted and handed to `on_articles`.
    """
    spool_dir.mkdir(parents=True, exist_ok=True)
    fleet_file = spool_dir / FLEET_FILE
    fleet_file.write_text(
        json.dumps([source.model_dump(mode="json") for source in sources]), encoding="utf-8"
    )
    finished: dict[str, dict[str, object]] = {}

    def child_line(line: str) -> None:
        if line.startswith(FLEET_MARKER):
            report = json.loads(line.removeprefix(FLEET_MARKER))
            finished[str(report["source"])] = report
            return
        log_line(line)

    limit = timeout_seconds or max(source.max_seconds for source in sources) + 120

    def crawl(on_start: Callable[[int], None]) -> None:
        run_child(
            ["--fleet-file", str(fleet_file)],
            f"fleet crawl of {len(sources)} sources",
            spool_dir,
            child_line,
            scrapy_settings,
            limit,
            on_start,
            database_url,
        )

    failure: CrawlFailed | None = None
    try:
        extracted = extract_while_crawling(
            crawl, sources, spool_dir, workers, on_articles, start_method, "fleet-crawl"
        )
    except CrawlFailed as exc:
        failure, extracted = exc, ExtractionResult()
    outcomes = _outcomes(sources, spool_dir, finished, extracted)
    if failure is not None:
        for outcome in outcomes.values():
            if outcome.source.name not in finished:
                outcome.crawler_error = str(failure)
    return FleetCrawl(outcomes)


def _outcomes(
    sources: list[Source],
    spool_dir: Path,
    finished: dict[str, dict[str, object]],
    extracted: ExtractionResult,
) -> dict[str, SourceOutcome]:
    outcomes: dict[str, SourceOutcome] = {}
    for source in sources:
        report = finished.get(source.name)
        crawled = (
            read_spool(source.name, spool_dir, with_pages=False, part=source.name)
            if report is not None
            else None
        )
        outcome = SourceOutcome(source, crawled)
        if report is not None:
            outcome.finish_reason = str(report.get("finish_reason") or "")
            error = report.get("error")
            outcome.crawler_error = str(error) if error else None
        outcomes[source.name] = outcome
    entries: dict[str, str] = {}
    for record in iter_records(spool_dir):
        owner = outcomes.get(record.source)
        if owner is None:
            continue
        if isinstance(record, PageRecord) and record.entry:
            owner.pages_by_entry[record.entry] += 1
            entries[record.url] = record.entry
        elif isinstance(record, ErrorRecord) and owner.crawled is None:
            owner.errors.append(FetchError(record.source, record.url, record.reason))
    for outcome in outcomes.values():
        if outcome.crawled is not None:
            outcome.errors += outcome.crawled.errors
    for article in extracted.articles:
        outcome = outcomes[article.source]
        outcome.articles.append(article)
        entry = entries.get(article.url)
        if entry is not None:
            stated = article.published_at or article.fetched_at
            outcome.published_by_entry.setdefault(entry, []).append(stated.timestamp())
    for error in extracted.errors:
        if error.source in outcomes:
            outcomes[error.source].errors.append(error)
    for name, count in extracted.duplicates_by_source.items():
        if name in outcomes:
            outcomes[name].duplicates_in_batch += count
    return outcomes
