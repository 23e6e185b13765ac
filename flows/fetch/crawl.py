"""The fetch stage: each source is crawled by Scrapy in a child process, pages land in a spool."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from flows.config.sources import Source
from flows.fetch.crawl_log import CHILD_LOG_FORMAT
from flows.fetch.polite import skipped_from_stats
from flows.fetch.spool import read_crawl
from flows.records import CrawlResult


class CrawlFailed(RuntimeError):
    """The crawl process itself failed (not a page of it); the flow may retry it."""


def crawl_source(
    source: Source,
    spool_dir: Path,
    log_line: Callable[[str], None] = print,
    scrapy_settings: dict[str, str] | None = None,
    timeout_seconds: float | None = None,
    database_url: str | None = None,
) -> CrawlResult:
    """Crawl one source in a fresh process (a Twisted reactor cannot restart) and read the spool.

    Scrapy's log lines are passed to `log_line` as they come, so they show in the flow run's logs.
    With `database_url`, the crawl is incremental: it skips stored article URLs and fetches entry
    pages conditionally (the URL goes to the child in its environment, not on its command line).
    """
    skipped = skip_unchanged(source, database_url, scrapy_settings, log_line)
    if skipped is not None:
        return skipped
    run_crawl_process(
        source, spool_dir, log_line, scrapy_settings, timeout_seconds, database_url=database_url
    )
    return read_spool(source.name, spool_dir)


def skip_unchanged(
    source: Source,
    database_url: str | None,
    scrapy_settings: dict[str, str] | None,
    log_line: Callable[[str], None],
) -> CrawlResult | None:
    """The crawl's result when every entry point answers 304 (no crawl needed), else None.

    Only an incremental crawl (one with a database) probes; see flows.fetch.probe.
    """
    if not database_url:
        return None
    from flows.fetch.probe import probe_entry_points
    from flows.store import db

    overrides = scrapy_settings or {}
    user_agent = overrides.get("USER_AGENT") or _crawler_user_agent()
    with db.connect(database_url) as connection:
        outcome = probe_entry_points(source, connection, user_agent, scrapy_settings)
    if outcome.unchanged:
        log_line(
            f"{source.name}: all {outcome.not_modified} entry points answered 304 Not Modified;"
            " nothing to crawl"
        )
        return outcome.crawl_result(source)
    log_line(f"{source.name}: crawling ({outcome.reason})")
    return None


def _crawler_user_agent() -> str:
    """The User-Agent the crawl child sends unless told otherwise (its Scrapy settings')."""
    from spiders.settings import USER_AGENT

    return USER_AGENT


def run_crawl_process(
    source: Source,
    spool_dir: Path,
    log_line: Callable[[str], None] = print,
    scrapy_settings: dict[str, str] | None = None,
    timeout_seconds: float | None = None,
    on_start: Callable[[int], None] | None = None,
    database_url: str | None = None,
) -> None:
    """Run the crawl child to its end, raising CrawlFailed; `on_start` gets the child's pid."""
    run_child(
        ["--source-json", source.model_dump_json()],
        f"crawl of {source.name}",
        spool_dir,
        log_line,
        scrapy_settings,
        timeout_seconds or source.max_seconds + 120,
        on_start,
        database_url,
    )


def run_child(
    arguments: list[str],
    label: str,
    spool_dir: Path,
    log_line: Callable[[str], None],
    scrapy_settings: dict[str, str] | None,
    limit: float,
    on_start: Callable[[int], None] | None = None,
    database_url: str | None = None,
) -> None:
    """Run `python -m spiders.run ARGUMENTS --spool DIR` to its end, raising CrawlFailed."""
    command, environment = child_command(arguments, spool_dir, scrapy_settings, database_url)
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        env=environment,
    ) as process:
        if on_start is not None:
            on_start(process.pid)
        assert process.stdout is not None
        # Reading the output blocks until the child ends: the limit is kept by a timer.
        overdue = threading.Event()
        watchdog = threading.Timer(limit, _kill_overdue, (process, overdue))
        watchdog.daemon = True
        watchdog.start()
        try:
            for line in process.stdout:
                log_line(line.rstrip())
            returncode = process.wait()
        finally:
            watchdog.cancel()
    if overdue.is_set():
        raise CrawlFailed(f"{label} exceeded {limit:.0f} s")
    if returncode != 0:
        raise CrawlFailed(f"{label} exited with status {returncode}")


def child_command(
    arguments: list[str],
    spool_dir: Path,
    scrapy_settings: dict[str, str] | None,
    database_url: str | None,
) -> tuple[list[str], dict[str, str]]:
    """The crawl child's command line and environment."""
    from flows.config.settings import REPO_ROOT  # here: the extraction workers import this module

    spool_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "spiders.run", *arguments, "--spool", str(spool_dir)]
    command += ["-s", f"LOG_FORMAT={CHILD_LOG_FORMAT}"]
    for name, value in (scrapy_settings or {}).items():
        command += ["-s", f"{name}={value}"]
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    # glibc raises its mmap threshold each time a large block is freed, after which response
    # bodies come from the heap and freed ones stay with the process; pinned, the crawl child
    # keeps only what it holds (docs/benchmarks.md: peak RSS, fourth session).
    environment.setdefault("MALLOC_MMAP_THRESHOLD_", str(128 * 1024))
    environment.pop("DATABASE_URL", None)
    environment.pop("NEWSWATCH_DATABASE_URL", None)
    if database_url:
        environment["DATABASE_URL"] = database_url
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")])
    )
    return command, environment


def _kill_overdue(process: subprocess.Popen[str], overdue: threading.Event) -> None:
    overdue.set()
    process.kill()


def read_spool(
    source_name: str, spool_dir: Path, with_pages: bool = True, part: str = ""
) -> CrawlResult:
    """The crawl's pages (unless `with_pages` is False: bodies can be large), errors and stats."""
    result = read_crawl(source_name, spool_dir, with_pages, part)
    result.skipped = skipped_from_stats(result.stats)
    return result
