"""Plain functions that run one stage over one source; the Prefect flow only calls these."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import forkserver, get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path

from flows.config.sources import Source
from flows.fetch.crawl import read_spool, run_crawl_process, skip_unchanged
from flows.fetch.spool import ManifestTail, PageRecord, fetched_page
from flows.records import Article, CrawlResult, FetchedPage, FetchError, SeenCopy

# How often the manifest is polled for new pages while the crawl runs.
_POLL_SECONDS = 0.05


@dataclass
class ExtractionResult:
    articles: list[Article] = field(default_factory=list)
    errors: list[FetchError] = field(default_factory=list)
    duplicates_in_batch: int = 0
    duplicates_by_source: dict[str, int] = field(default_factory=dict)


def extract_one(page: FetchedPage, source: Source) -> Article | FetchError:
    """One page's article, or the reason it has none; never raises."""
    # Imported here: trafilatura costs the flow process (which never extracts) ~40 MB.
    from flows.extract.article import ExtractionError, extract_article

    try:
        return extract_article(page, source)
    except ExtractionError as exc:
        return FetchError(page.source, page.url, str(exc))
    except Exception as exc:  # an extractor bug on one page must not stop the run
        return FetchError(page.source, page.url, f"extraction failed: {type(exc).__name__}: {exc}")


class _Collector:
    """Outcomes in fetch order; copies within the batch (same canonical URL or same text) are
    dropped here, before the database sees them."""

    def __init__(self) -> None:
        self.result = ExtractionResult()
        self._seen_urls: set[str] = set()
        self._seen_hashes: set[str] = set()
        self._copies: list[SeenCopy] = []

    def add(self, outcome: Article | FetchError) -> Article | None:
        """The article if it is new to this batch, else None (recorded as an error or a copy)."""
        if isinstance(outcome, FetchError):
            self.result.errors.append(outcome)
            return None
        if outcome.canonical_url in self._seen_urls or outcome.content_hash in self._seen_hashes:
            self.result.duplicates_in_batch += 1
            by_source = self.result.duplicates_by_source
            by_source[outcome.source] = by_source.get(outcome.source, 0) + 1
            self._copies.append(
                SeenCopy(
                    outcome.url, outcome.canonical_url, outcome.content_hash, outcome.fetched_at
                )
            )
            return None
        self._seen_urls.add(outcome.canonical_url)
        self._seen_hashes.add(outcome.content_hash)
        self.result.articles.append(outcome)
        return outcome

    def take_copies(self) -> list[SeenCopy]:
        """The copies met since the last call (their articles were handed on before them)."""
        copies, self._copies = self._copies, []
        return copies


def collect(outcomes: Iterable[Article | FetchError]) -> ExtractionResult:
    """Gather outcomes in fetch order, dropping copies within the batch."""
    collector = _Collector()
    for outcome in outcomes:
        collector.add(outcome)
    return collector.result


def extract_pages(pages: Iterable[FetchedPage], source: Source) -> ExtractionResult:
    """Extract every page in this process; a page that fails is recorded and the rest go on."""
    return collect(extract_one(page, source) for page in pages)


# -- crawl and extract at once, on every core -------------------------------------------------

_worker_sources: dict[str, Source] = {}


def _init_worker(sources_json: str) -> None:
    """Each worker knows every source of the crawl: one pool serves a whole fleet."""
    _worker_sources.clear()
    for raw in json.loads(sources_json):
        source = Source.model_validate(raw)
        _worker_sources[source.name] = source


def _extract_spooled(spool_dir: str, record: PageRecord) -> Article | FetchError:
    source = _worker_sources.get(record.source)
    if source is None:
        return FetchError(record.source, record.url, "extraction worker: unknown source")
    try:
        page = fetched_page(record, Path(spool_dir))
    except OSError as exc:
        return FetchError(record.source, record.url, f"spooled page unreadable: {exc}")
    return extract_one(page, source)


def worker_context(start_method: str = "forkserver") -> BaseContext:
    """Workers forked from a server that has imported trafilatura once (a second or so of CPU
    saved per worker), or spawned (each imports it; no process beside the workers). Never
    plain fork: the flow process has threads."""
    if start_method == "forkserver" and "forkserver" in get_all_start_methods():
        context = get_context("forkserver")
        context.set_forkserver_preload(["flows.extract.pool", "flows.extract.article", "numpy"])
        return context
    return get_context("spawn")


def resolve_workers(workers: int) -> int:
    """0 means one extraction process per core this process may use."""
    if workers > 0:
        return workers
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def crawl_and_extract(
    source: Source,
    spool_dir: Path,
    workers: int = 0,
    log_line: Callable[[str], None] = print,
    scrapy_settings: dict[str, str] | None = None,
    timeout_seconds: float | None = None,
    database_url: str | None = None,
    on_articles: Callable[[list[Article]], None] | None = None,
    start_method: str = "forkserver",
    on_copies: Callable[[list[SeenCopy]], None] | None = None,
) -> tuple[CrawlResult, ExtractionResult]:
    """Crawl one source and extract its pages while the crawl still runs, on `workers` processes.

    Extraction is the costly part of a run; feeding a process pool from the spool as pages land
    keeps every core busy instead of extracting after the crawl on one. `on_articles` gets the
    new articles in fetch order, in batches, as soon as they are extracted (the flow stores them
    while the rest are still being extracted); `on_copies` then gets the pages whose article an
    earlier page of the crawl gave, so their addresses are remembered. Raises CrawlFailed like
    `crawl_source`; page bodies stay on disk, so memory does not grow with the crawl.
    """
    skipped = skip_unchanged(source, database_url, scrapy_settings, log_line)
    if skipped is not None:
        return skipped, ExtractionResult()

    def crawl(on_start: Callable[[int], None]) -> None:
        run_crawl_process(
            source,
            spool_dir,
            log_line,
            scrapy_settings,
            timeout_seconds,
            on_start=on_start,
            database_url=database_url,
        )

    extracted = extract_while_crawling(
        crawl,
        [source],
        spool_dir,
        workers,
        on_articles,
        start_method,
        f"crawl-{source.name}",
        on_copies,
    )
    return read_spool(source.name, spool_dir, with_pages=False), extracted


def extract_while_crawling(
    crawl: Callable[[Callable[[int], None]], None],
    sources: list[Source],
    spool_dir: Path,
    workers: int = 0,
    on_articles: Callable[[list[Article]], None] | None = None,
    start_method: str = "forkserver",
    name: str = "crawl",
    on_copies: Callable[[list[SeenCopy]], None] | None = None,
) -> ExtractionResult:
    """Run `crawl` (given a callback for the child's pid) in a thread and extract the pages it
    spools, in one process pool for all of `sources`, while it runs; raises what `crawl` raised.
    """
    failures: list[BaseException] = []
    child_pids: list[int] = []

    def run() -> None:
        try:
            crawl(child_pids.append)
        except BaseException as exc:
            failures.append(exc)

    spool_dir.mkdir(parents=True, exist_ok=True)
    crawler = threading.Thread(target=run, name=name, daemon=True)
    tail = ManifestTail(spool_dir)
    pending: deque[tuple[PageRecord, Future[Article | FetchError]]] = deque()
    # Started at the first page: a crawl that finds nothing new pays for no worker processes
    # (only for the fork server's start).
    pool: ProcessPoolExecutor | None = None
    collector = _Collector()

    def deliver(wait: bool) -> None:
        """Collect finished outcomes in fetch order, releasing their futures (bodies) as we go."""
        batch: list[Article] = []
        while pending and (wait or pending[0][1].done()):
            article = collector.add(_outcome(*pending.popleft()))
            if article is not None:
                batch.append(article)
        if batch and on_articles is not None:
            on_articles(batch)
        copies = collector.take_copies()
        if copies and on_copies is not None:
            on_copies(copies)

    context = worker_context(start_method)
    if context.get_start_method() == "forkserver":
        # The server imports trafilatura and the language model (about a second of CPU) while
        # the crawl child starts and fetches its entry points, not after the first page. The
        # probe has already said this source changed, so pages are the likely outcome.
        forkserver.ensure_running()
    crawler.start()
    try:
        while True:
            crawl_over = not crawler.is_alive()
            for record in tail.read_new():
                if not isinstance(record, PageRecord):  # errors are read with the stats later
                    continue
                if pool is None:
                    pool = ProcessPoolExecutor(
                        resolve_workers(workers),
                        mp_context=context,
                        initializer=_init_worker,
                        initargs=(json.dumps([s.model_dump(mode="json") for s in sources]),),
                    )
                pending.append((record, pool.submit(_extract_spooled, str(spool_dir), record)))
            deliver(wait=False)
            if crawl_over:
                break
            crawler.join(_POLL_SECONDS)
        deliver(wait=True)
    finally:
        tail.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if crawler.is_alive():  # left early (storing failed): the crawl must not run on alone
            for pid in child_pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            crawler.join(30)
    if failures:
        raise failures[0]
    return collector.result


def _outcome(record: PageRecord, future: Future[Article | FetchError]) -> Article | FetchError:
    try:
        return future.result()
    except (
        Exception
    ) as exc:  # a worker died (killed, out of memory): that page is lost, not the run
        reason = f"extraction worker failed: {type(exc).__name__}: {exc}"
        return FetchError(record.source, record.url, reason)
