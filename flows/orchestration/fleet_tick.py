"""One tick of the fleet: claim what falls due, crawl it, store, match, alert, reschedule.

Plain functions over Postgres and the crawl child, no Prefect: the flow (fleet_flow.py) runs a
tick and publishes what it did; tests and benches call `run_tick` directly. A tick is one run
with one crawl child and one extraction pool (flows.fetch.fleet) for its whole length: every
second it leases the sources that have fallen due (shards.claim_due) and hands them to the
child at once; each source's poll is recorded as soon as it is over (run line, errors,
validators, the next poll of each entry point from flows.fetch.polling) and its lease given
back, and stories are stored as they are extracted and matched and sent within a second (a
story's alert must not wait for the tick's end, nor for slower sources). One broken source is
one source's error line, never the tick's failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil

from flows.config.settings import Settings
from flows.config.sources import Source
from flows.fetch import polling, robots_cache
from flows.fetch.crawl import _crawler_user_agent
from flows.fetch.fleet import FleetCrawl, SourceOutcome
from flows.fetch.fleet_probe import FleetProber, worth_probing
from flows.fetch.poll_budget import fleet_scale
from flows.notify.mailer import Transport, transport_for
from flows.orchestration import shards
from flows.orchestration.poll_record import SourceTick, TickSummary, alert_run, record_source
from flows.records import Article, RunSummary, SeenCopy
from flows.store import articles as store
from flows.store import db
from flows.store.articles import process_alive

__all__ = ["SourceTick", "TickSummary", "run_tick"]


def run_tick(
    sources: list[Source],
    database_url: str,
    settings: Settings,
    shard_ids: list[int] | None = None,
    scrapy_settings: dict[str, str] | None = None,
    transport: Transport | None = None,
    max_seconds: float | None = None,
    max_passes: int | None = None,
    log_line: Callable[[str], None] = print,
) -> TickSummary:
    """Poll what falls due among `sources` (of `shard_ids`, all when None) for `max_seconds`:
    claims stop fleet_drain_seconds before the end, which the polls under way have to finish;
    at most `max_passes` claims that found something due."""
    length = max_seconds or settings.fleet_tick_seconds
    # Claims stop early enough for the last polls to finish within the tick.
    deadline = time.monotonic() + max(length - settings.fleet_drain_seconds, length / 2)
    by_name = {source.name: source for source in sources}
    names = sorted(by_name)
    tick = _Tick(by_name, database_url, settings, transport or transport_for(settings), log_line)
    # The connection is closed first, and with it any row lock it held, then the leases go back.
    with tick.giving_back_when_stopped(), db.connect(database_url) as connection:
        shards.sync_sources(connection, sources, settings.fleet_shards)
        polling.ensure_entries(connection, sources)
        connection.commit()
        tick.connection = connection
        if settings.poll_policy == "adaptive" and settings.poll_budget:
            tick.scale = fleet_scale(
                connection,
                sources,
                settings.poll_budget,
                robots_cache.DEFAULT_SECONDS,
                time.time(),
                requests_per_story=2.0 if settings.fleet_probe_threads else 1.0,
            )
            connection.commit()
        crawl_settings = {
            "NEWSWATCH_FLEET_CONCURRENCY": str(settings.fleet_crawl_concurrency),
            **(scrapy_settings or {}),
        }
        prober = FleetProber(settings.fleet_probe_threads, _crawler_user_agent(), crawl_settings)
        with (
            tick_spool(settings.run_scratch_root / TICK_SPOOLS) as spool,
            FleetCrawl(
                sources,
                spool,
                database_url,
                workers=settings.extract_workers,
                log_line=log_line,
                scrapy_settings=crawl_settings,
                on_articles=tick.store_batch,
                start_method=settings.extract_start_method,
                on_copies=tick.remember_copies,
            ) as crawl,
        ):
            tick.crawl, tick.prober = crawl, prober
            try:
                _poll_until(tick, crawl, prober, names, shard_ids, deadline, max_passes)
                tick.closing = True  # no new polls from here: the waiting ones are given back
                while prober.in_flight:  # probes have deadlines of their own
                    tick.take_probes(crawl, prober)
                    tick.finish(crawl.step(0.05))
            finally:
                prober.close()
            tick.finish(crawl.close(settings.fleet_drain_seconds))
        tick.give_back_waiting()
    tick.close()
    return tick.summary


TICK_SPOOLS = "ticks"  # under the run scratch root: one folder per tick process


@contextlib.contextmanager
def tick_spool(root: Path) -> Iterator[Path]:
    """A spool folder for this tick, named by its process (pid and start time), removed at the
    end; first the folders of ticks whose process is gone are removed: a tick killed outright
    (a cancelled flow run past its grace period, the out-of-memory killer) cannot remove its
    own, and a temporary folder elsewhere would stay on the disk for good."""
    root.mkdir(parents=True, exist_ok=True)
    for folder in root.glob("tick-*"):
        _, pid, started, *_ = [*folder.name.split("-"), "", ""]
        if pid.isdigit() and started.isdigit() and not process_alive(int(pid), int(started)):
            shutil.rmtree(folder, ignore_errors=True)
    me = psutil.Process(os.getpid())
    spool = root / f"tick-{me.pid}-{int(me.create_time())}-{time.time_ns()}"
    spool.mkdir()
    try:
        yield spool
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _poll_until(
    tick: _Tick,
    crawl: FleetCrawl,
    prober: FleetProber,
    names: list[str],
    shard_ids: list[int] | None,
    deadline: float,
    max_passes: int | None,
) -> None:
    """Claim what falls due and hand it on, until the deadline (or `max_passes` claims and
    every poll they started is over)."""
    settings = tick.settings
    connection = tick.connection
    assert connection is not None
    next_claim = 0.0
    while True:
        now = time.monotonic()
        claiming = now < deadline and (max_passes is None or tick.summary.passes < max_passes)
        in_flight = crawl.in_flight + prober.in_flight + len(tick.waiting)
        if not claiming and (in_flight == 0 or now >= deadline):
            return
        room = settings.fleet_pass_limit - in_flight
        if claiming and now >= next_claim and room > 0:
            next_claim = now + CLAIM_EVERY
            claimed = shards.claim_due(
                connection, names, shard_ids, tick.owner, settings.fleet_lease_seconds, room
            )
            if claimed:
                tick.hand_over(crawl, prober, claimed)
            elif in_flight == 0:
                wait = shards.next_due_in(connection, names, shard_ids)
                if wait is None or wait >= deadline - now:
                    return  # nothing falls due in this tick
                next_claim = now + max(wait, CLAIM_EVERY)
        tick.take_probes(crawl, prober)
        busy = crawl.in_flight + prober.in_flight + len(tick.waiting) > 0
        tick.finish(crawl.step(0.05 if busy else min(max(next_claim - now, 0.0), 1.0)))


CLAIM_EVERY = 1.0  # seconds between claims while polls are under way


class _Tick:
    """What a tick holds between its claims: its run, its connection, its summary."""

    def __init__(
        self,
        by_name: dict[str, Source],
        database_url: str,
        settings: Settings,
        transport: Transport,
        log_line: Callable[[str], None],
    ) -> None:
        self.by_name = by_name
        self.database_url = database_url
        self.settings = settings
        self.transport = transport
        self.log_line = log_line
        self.owner = shards.lease_owner()
        self.summary = TickSummary()
        self.run_summary = RunSummary()
        self.run_id: int | None = None
        self.connection: db.Connection | None = None
        self.scale: float | None = None  # the budget's square-root rule (poll_budget.py)
        self.started = time.time()
        self._alerted_at = 0.0
        self._unalerted = False
        self._polled: set[str] = set()
        self.crawl: FleetCrawl | None = None
        self.prober: FleetProber | None = None
        self.closing = False
        # Claimed sources whose host another poll under way is asking, oldest claim first.
        self.waiting: list[str] = []
        self._hosts_in_use: Counter[str] = Counter()

    def hand_over(self, crawl: FleetCrawl, prober: FleetProber, claimed: list[str]) -> None:
        connection = self.connection
        assert connection is not None
        if self.run_id is None:
            self.run_id = store.start_run(connection, claimed)
            connection.commit()
            self.run_summary.run_id = self.run_id
            self.summary.run_ids.append(self.run_id)
        self.summary.passes += 1
        self.waiting.extend(claimed)
        self._start_waiting(crawl, prober)

    def _start_waiting(self, crawl: FleetCrawl, prober: FleetProber) -> None:
        """Start the waiting polls whose hosts no poll under way is asking: a publisher with
        several sources (sections, feeds) gets one poll at a time, each with its own delays,
        never all of them at once. Shards are by host (shards.shard_key), so no other tick
        polls that host meanwhile."""
        connection = self.connection
        assert connection is not None
        starting, still_waiting = [], []
        for name in self.waiting:
            hosts = shards.source_hosts(self.by_name[name])
            if self.closing or any(self._hosts_in_use[host] > 0 for host in hosts):
                still_waiting.append(name)
                continue
            self._hosts_in_use.update(hosts)
            starting.append(name)
        self.waiting = still_waiting
        if not starting:
            return
        # A source that waited for its host may have outlived its lease: renewed, or dropped
        # when another tick has claimed it since.
        held = set(
            shards.renew(connection, self.owner, starting, self.settings.fleet_lease_seconds)
        )
        for name in starting:
            if name not in held:
                self._hosts_in_use.subtract(shards.source_hosts(self.by_name[name]))
        starting = [name for name in starting if name in held]
        if not starting:
            return
        due = polling.due_entries(connection, starting, slack_seconds=ENTRY_SLACK)
        polled = [polling.restricted(self.by_name[name], due) for name in starting]
        self._polled.update(starting)
        probed = worth_probing(connection, polled) if self.settings.fleet_probe_threads else set()
        prober.submit(connection, [source for source in polled if source.name in probed])
        for source in polled:
            if source.name not in probed:
                crawl.submit(source)

    def give_back_waiting(self) -> None:
        """Leases of claimed sources the tick ended before polling go back unrecorded."""
        connection = self.connection
        if self.waiting and connection is not None:
            shards.unclaim(connection, self.owner, self.waiting)
            connection.commit()
            self.waiting = []

    @contextlib.contextmanager
    def giving_back_when_stopped(self) -> Iterator[None]:
        """A tick stopped part-way (its worker's SIGTERM, which Prefect raises in the flow, or
        an error) gives back every lease it holds, so that the next tick polls those sources
        now rather than when their leases run out. Their polls under way go unrecorded: what
        they stored is found stored again, and the next tick's matching takes its queued
        alerts. A fresh connection: the tick's own may have been stopped inside a query; it is
        closed by now, and with it the row locks it held."""
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception), db.connect(self.database_url) as connection:
                connection.execute("SET lock_timeout = '10s'")
                shards.unclaim(connection, self.owner)
                connection.commit()
            raise

    def take_probes(self, crawl: FleetCrawl, prober: FleetProber) -> None:
        """Unchanged sources' polls are over; changed ones go to the crawl."""
        connection = self.connection
        assert connection is not None
        unchanged = []
        for probed in prober.finished(connection):
            if probed.outcome.unchanged:
                unchanged.append(
                    SourceOutcome(probed.source, probed.outcome.crawl_result(probed.source))
                )
            else:
                crawl.submit(probed.source, probed.outcome.prefetched)
        connection.commit()  # robots.txt the probes fetched, kept
        self.summary.probed_unchanged += len(unchanged)
        self.finish(unchanged)

    def store_batch(self, batch: list[Article]) -> None:
        connection = self.connection
        assert connection is not None and self.run_id is not None
        stored = store.store_articles(connection, batch, self.run_id)
        connection.commit()
        self.run_summary.articles_new += len(stored.new_article_ids)
        self.run_summary.articles_duplicate += stored.duplicates
        self.summary.articles_new += len(stored.new_article_ids)
        if stored.new_article_ids:
            self._unalerted = True

    def remember_copies(self, copies: list[SeenCopy]) -> None:
        connection = self.connection
        assert connection is not None
        store.remember_copies(connection, copies)
        connection.commit()

    def finish(self, outcomes: list[SourceOutcome]) -> None:
        """Record finished polls and give their leases back; alert on what they stored."""
        connection = self.connection
        assert connection is not None
        if outcomes:
            assert self.run_id is not None
            results = []
            for outcome in outcomes:
                line, result = record_source(
                    connection, self.run_id, outcome.source, outcome, self.settings, self.scale
                )
                self.summary.polled.append(line)
                results.append(result)
                self.run_summary.pages_fetched += line.pages
                self.run_summary.errors += outcome.errors
                if result.error is not None:
                    self.run_summary.failed_sources.append(outcome.source.name)
            shards.release(connection, self.owner, results)
            connection.commit()
            for outcome in outcomes:
                self._hosts_in_use.subtract(shards.source_hosts(self.by_name[outcome.source.name]))
            if self.waiting and self.crawl is not None and self.prober is not None:
                self._start_waiting(self.crawl, self.prober)
        # A story's alert must not wait for the tick's end, nor for slower sources.
        if self._unalerted and time.monotonic() - self._alerted_at >= ALERT_EVERY:
            self._alert()

    def _alert(self) -> None:
        assert self.run_id is not None
        self._unalerted = False
        self._alerted_at = time.monotonic()
        alert_run(
            self.database_url,
            self.run_id,
            self.settings,
            self.transport,
            self.run_summary,
            self.summary,
        )

    def close(self) -> None:
        if self.run_id is None:
            return
        if self._unalerted:
            self._alert()
        self.run_summary.sources = sorted(self._polled)
        with db.connect(self.database_url) as connection:
            connection.execute(
                "UPDATE runs SET sources = %s WHERE id = %s",
                (self.run_summary.sources, self.run_id),
            )
            store.finish_run(connection, self.run_id, self.run_summary, self.run_summary.outcome)
        self.log_line(
            f"run {self.run_id}: {len(self.summary.polled)} polls of {len(self._polled)} sources"
            f" ({self.summary.probed_unchanged} answered by a probe),"
            f" {self.summary.articles_new} new articles, {self.summary.alerts_new} alerts,"
            f" {self.summary.emails_sent} e-mails in {time.time() - self.started:.1f} s"
        )


ENTRY_SLACK = 30.0  # an entry point due this soon is polled with its source's due ones
ALERT_EVERY = 1.0  # seconds; matching and sending at most this often while stories come in
