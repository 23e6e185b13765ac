"""Many sources, one crawl: one Scrapy process and one extraction pool for a whole tick.

A crawl child per source costs seconds of start-up (imports, the reactor) even when nothing
changed, and so does a child per batch of due sources when batches come every few seconds. Here
one child (spiders.run --fleet-stream) lives as long as the tick and is handed each source as
it falls due; it runs every source as its own Scrapy crawler in one reactor, so each keeps its
own limits, robots.txt, Crawl-delay, Retry-After back-off, page budget and hostile-page handling,
and Scrapy's per-host download slots keep politeness per publisher. Entry points are asked
"changed since?" by the crawl itself (validators from Postgres); a 304 ends that source's crawl
at its first request. Pages go to one shared spool, one process pool (started at the first page
and kept for the tick) extracts them as they land, and each source's poll is handed back as
soon as its crawler has finished and its pages are extracted, not when the slowest source of
a batch is done.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import subprocess
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from flows.config.sources import Source
from flows.extract.pool import (
    _Collector,
    _extract_spooled,
    _init_worker,
    _outcome,
    resolve_workers,
    worker_context,
)
from flows.fetch.crawl import child_command
from flows.fetch.polite import skipped_from_stats
from flows.fetch.probe import Prefetched
from flows.fetch.spool import (
    ErrorRecord,
    ManifestTail,
    PageRecord,
    part_dir,
    read_stats,
    read_validators,
)
from flows.records import Article, CrawlResult, FetchError, SeenCopy
from spiders.run import FLEET_MARKER, PREFETCHED_FILE


@dataclass
class SourceOutcome:
    """One source's poll in a fleet crawl."""

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
    seconds: float = 0.0  # from hand-over to the child to the last page extracted

    @property
    def crawl_ok(self) -> bool:
        return self.crawled is not None and self.crawler_error is None


@dataclass
class _Poll:
    outcome: SourceOutcome
    part: str
    handed_at: float
    report: dict[str, Any] | None = None
    pending: int = 0  # pages handed to the pool whose outcome is not collected yet
    crawl_errors: list[FetchError] = field(default_factory=list)


class FleetCrawl:
    """The tick's crawl child and extraction pool; `submit` sources, `step` for finished polls.

    `sources` are all the sources the tick may poll (the extraction workers are told them once);
    `on_articles` gets new articles in batches as they are extracted, so they are stored while
    the crawl goes on, and `on_copies` the pages whose article an earlier page gave. A source
    whose crawler fails is that source's outcome; the child dying fails only the polls it had
    not finished.
    """

    def __init__(
        self,
        sources: list[Source],
        spool_dir: Path,
        database_url: str | None,
        workers: int = 0,
        log_line: Callable[[str], None] = print,
        scrapy_settings: dict[str, str] | None = None,
        on_articles: Callable[[list[Article]], None] | None = None,
        start_method: str = "forkserver",
        on_copies: Callable[[list[SeenCopy]], None] | None = None,
    ) -> None:
        self.sources = sources
        self.spool_dir = spool_dir
        self.database_url = database_url
        self.workers = workers
        self.log_line = log_line
        self.scrapy_settings = scrapy_settings
        self.on_articles = on_articles
        self.on_copies = on_copies
        self.start_method = start_method
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._reports: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._output_over = False
        self._polls: dict[str, _Poll] = {}
        self._pending: deque[tuple[_Poll, PageRecord, Future[Article | FetchError]]] = deque()
        self._pool: ProcessPoolExecutor | None = None
        self._collector = _Collector()
        self._tail = ManifestTail(spool_dir)
        self._handed = 0
        self._stopped: str | None = None  # why the child was stopped, when it was
        self.child_pid: int | None = None

    # -- life cycle -------------------------------------------------------------------------------

    def start(self) -> FleetCrawl:
        command, environment = child_command(
            ["--fleet-stream"], self.spool_dir, self.scrapy_settings, self.database_url
        )
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=environment,
        )
        self.child_pid = self._process.pid
        self._reader = threading.Thread(target=self._read_output, name="fleet-crawl", daemon=True)
        self._reader.start()
        return self

    def __enter__(self) -> FleetCrawl:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._shut_down()

    def _read_output(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        for line in process.stdout:
            text = line.rstrip()
            if text.startswith(FLEET_MARKER):
                with contextlib.suppress(ValueError):
                    self._reports.put(json.loads(text.removeprefix(FLEET_MARKER)))
                continue
            if text:
                self.log_line(text)
        process.wait()
        self._reports.put(None)

    # -- polls ------------------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._polls)

    def polling(self, name: str) -> bool:
        return name in self._polls

    def submit(self, source: Source, prefetched: Prefetched | None = None) -> None:
        """Hand `source` to the child now; its outcome comes from a later `step`. `prefetched`:
        an entry point's answer the probe already got, which the crawl starts from instead of
        asking for it again (spiders/prefetched.py)."""
        if source.name in self._polls:
            raise ValueError(f"{source.name} is already being polled")
        self._handed += 1
        part = f"{source.name}.{self._handed}"
        poll = _Poll(SourceOutcome(source, None), part, time.monotonic())
        self._polls[source.name] = poll
        process = self._process
        if process is None or process.stdin is None or self._output_over:
            return  # failed by the next step: the child is gone
        request: dict[str, Any] = {"source": source.model_dump(mode="json"), "part": part}
        if prefetched is not None:
            directory = part_dir(self.spool_dir, part)
            directory.mkdir(parents=True, exist_ok=True)
            body_file = directory / PREFETCHED_FILE
            body_file.write_bytes(prefetched.body)
            request["prefetched"] = [
                {
                    "url": prefetched.url,
                    "status": prefetched.status,
                    "headers": prefetched.headers,
                    "body_file": str(body_file),
                }
            ]
        try:
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
        except OSError:  # the child is gone: the next step fails this poll with the others
            pass

    def step(self, wait: float = 0.05) -> list[SourceOutcome]:
        """Take in what the child and the pool did (waiting up to `wait` for the child to say
        something); the polls that are over."""
        reports: list[dict[str, Any] | None] = []
        with contextlib.suppress(queue.Empty):
            reports.append(
                self._reports.get(timeout=wait) if wait > 0 else self._reports.get_nowait()
            )
            while True:
                reports.append(self._reports.get_nowait())
        # After the reports: a crawler's pages are in the manifest before its report is written.
        self._take_records()
        for report in reports:
            if report is None:
                self._output_over = True
                continue
            poll = self._polls.get(str(report.get("source")))
            if poll is not None and poll.part == report.get("part"):
                poll.report = report
        self._deliver(wait=False)
        return self._finished()

    def close(self, drain_seconds: float) -> list[SourceOutcome]:
        """No more sources: let the ones handed over finish for up to `drain_seconds`, then
        stop the child; every poll not finished by then fails. The remaining outcomes."""
        process = self._process
        if process is not None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        outcomes: list[SourceOutcome] = []
        deadline = time.monotonic() + drain_seconds
        while self._polls and not self._output_over and time.monotonic() < deadline:
            outcomes += self.step(0.1)
        ended = "the tick ended before this source's crawl finished"
        if process is not None and process.poll() is None and self._polls:
            self._stopped = ended
            process.kill()
        if self._reader is not None:
            self._reader.join(30)
        outcomes += self.step(0)
        self._deliver(wait=True)
        outcomes += self._finished(reason=ended)
        self._shut_down()
        return outcomes

    def _take_records(self) -> None:
        for record in self._tail.read_new():
            poll = self._polls.get(record.source)
            if poll is None:
                continue
            if isinstance(record, ErrorRecord):
                poll.crawl_errors.append(FetchError(record.source, record.url, record.reason))
                continue
            if record.entry:
                poll.outcome.pages_by_entry[record.entry] += 1
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    resolve_workers(self.workers),
                    mp_context=worker_context(self.start_method),
                    initializer=_init_worker,
                    initargs=(json.dumps([s.model_dump(mode="json") for s in self.sources]),),
                )
            future = self._pool.submit(_extract_spooled, str(self.spool_dir), record)
            self._pending.append((poll, record, future))
            poll.pending += 1

    def _deliver(self, wait: bool) -> None:
        """Collect extracted pages in fetch order, handing new articles on in one batch."""
        batch: list[Article] = []
        while self._pending and (wait or self._pending[0][2].done()):
            poll, record, future = self._pending.popleft()
            poll.pending -= 1
            outcome = _outcome(record, future)
            before = self._collector.result.duplicates_in_batch
            article = self._collector.add(outcome)
            if isinstance(outcome, FetchError):
                poll.outcome.errors.append(outcome)
            elif article is None:
                poll.outcome.duplicates_in_batch += (
                    self._collector.result.duplicates_in_batch - before
                )
            else:
                poll.outcome.articles.append(article)
                if record.entry:
                    stated = article.published_at or article.fetched_at
                    poll.outcome.published_by_entry.setdefault(record.entry, []).append(
                        stated.timestamp()
                    )
                batch.append(article)
        if batch and self.on_articles is not None:
            self.on_articles(batch)
        copies = self._collector.take_copies()
        if copies and self.on_copies is not None:
            self.on_copies(copies)

    def _finished(self, reason: str | None = None) -> list[SourceOutcome]:
        """Polls whose crawler reported and whose pages are all extracted; with `reason`, also
        every other poll whose pages are extracted (failed with that reason)."""
        if self._output_over and reason is None:
            reason = self._stopped or "the crawl child exited before this source's crawl finished"
        done = []
        for name, poll in list(self._polls.items()):
            if poll.pending:
                continue
            if poll.report is None and reason is None:
                continue
            del self._polls[name]
            done.append(self._outcome_of(poll, reason))
        return done

    def _outcome_of(self, poll: _Poll, reason: str | None) -> SourceOutcome:
        outcome = poll.outcome
        outcome.seconds = time.monotonic() - poll.handed_at
        directory = part_dir(self.spool_dir, poll.part)
        if poll.report is not None:
            stats = read_stats(directory)
            outcome.crawled = CrawlResult(
                source=outcome.source.name,
                errors=list(poll.crawl_errors),
                stats=stats,
                skipped=skipped_from_stats(stats),
                validators=read_validators(directory),
            )
            outcome.finish_reason = str(poll.report.get("finish_reason") or "")
            error = poll.report.get("error")
            outcome.crawler_error = str(error) if error else None
        else:
            outcome.crawler_error = reason
        outcome.errors = poll.crawl_errors + outcome.errors
        shutil.rmtree(directory, ignore_errors=True)  # its bodies are extracted: free the disk
        return outcome

    def _shut_down(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        if self._reader is not None:
            self._reader.join(10)  # the child is gone: its output ends
        if process is not None:
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError, ValueError):
                        stream.close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._tail.close()
