"""The fleet: a thousand sources in one crawl, broken ones among them; two ticks sharing one fleet.

Real parts: every simulated publisher on its own 127.x.y.z address, a real Postgres, the crawl
child, the extraction pool, a real SMTP server for the shared-fleet case.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from prefect.exceptions import TerminationSignal

from flows.config.settings import Settings
from flows.match.watches import add_watch
from flows.orchestration import shards
from flows.orchestration.fleet_tick import TickSummary, run_tick
from flows.store import db
from flows.store.freshness import freshness
from flows.testsite.fleet import MATCH_WORD, FleetSite, Publisher, fleet_sources, plan_fleet
from tests.support.crawl_helpers import rows
from tests.support.smtp import SmtpSink

HANG, TOO_MANY, GARBAGE = 7, 8, 9


@pytest.fixture(scope="module")
def thousand() -> Iterator[tuple[FleetSite, list[Publisher]]]:
    publishers = plan_fleet(
        1000,
        time.time(),
        minutes=0,
        backlog=1,
        behaviours={HANG: "hang", TOO_MANY: "429", GARBAGE: "garbage"},
    )
    with FleetSite(publishers, hang_seconds=300) as site:
        yield site, publishers


def test_thousand_sources_in_one_crawl_with_broken_ones(
    settings: Settings, thousand: tuple[FleetSite, list[Publisher]]
) -> None:
    site, publishers = thousand
    sources = fleet_sources(
        publishers,
        site.port,
        download_timeout=2.0,
        retry_times=1,
        poll_min_seconds=3600,
        poll_max_seconds=7200,
    )
    assert settings.database_url
    summary = run_tick(sources, settings.database_url, settings, max_seconds=900, log_line=_quiet)

    assert len(summary.run_ids) == 1  # one run, one crawl child for all of them
    assert summary.sources_polled == 1000
    stored = Counter(row[0] for row in rows(settings.database_url, "SELECT source FROM articles"))
    broken = {f"pub{index:05d}" for index in (HANG, TOO_MANY, GARBAGE)}
    good = {source.name for source in sources} - broken
    missing = sorted(good - set(stored))
    assert not missing, f"{len(missing)} sources stored nothing, e.g. {missing[:5]}"
    assert all(stored[name] == 1 for name in good)
    assert not broken & set(stored)

    reasons: dict[str, str] = {}
    for source, reason in rows(
        settings.database_url,
        "SELECT source, reason FROM fetch_errors WHERE run_id = %s",
        summary.run_ids[0],
    ):
        reasons[source] = reasons.get(source, "") + reason + "; "
    assert set(reasons) == broken, reasons
    assert "timeout" in reasons["pub00007"]
    assert "HTTP 429 (Retry-After: 120)" in reasons["pub00008"]
    assert "unreadable feed" in reasons["pub00009"]
    polls = {
        row[0]: row[1:]
        for row in rows(
            settings.database_url,
            "SELECT source, error_streak, extract(epoch FROM not_before - last_polled_at),"
            " lease_owner FROM source_polls",
        )
    }
    assert all(polls[name][0] == 0 and polls[name][2] is None for name in good)
    assert all(polls[name][0] == 1 for name in broken)
    assert 110 < float(polls["pub00008"][1]) <= 121  # Retry-After kept for the next tick


def test_later_polls_reuse_robots_txt_and_ask_only_changed_since(settings: Settings) -> None:
    publishers = plan_fleet(12, time.time(), minutes=0, backlog=2, seed=5)
    changed = publishers[0]
    assert settings.database_url
    with FleetSite(publishers) as site:
        sources = fleet_sources(publishers, site.port)
        first = run_tick(sources, settings.database_url, settings, max_passes=1, log_line=_quiet)
        assert first.sources_polled == 12 and not any(line.error for line in first.polled)
        assert first.probed_unchanged == 0  # a first crawl has nothing to compare with
        before = dict(site.requests)
        later: list[TickSummary] = []
        for round_ in range(2):  # two more polls of every entry point
            if round_ == 1:  # one publisher has a new story by the last poll
                last = changed.stories[-1]
                changed.stories.append(
                    type(last)(last.site, last.number + 1, time.time() - 1, False)
                )
            with db.connect(settings.database_url) as connection:
                connection.execute("UPDATE source_polls SET next_poll_at = now()")
                connection.execute("UPDATE entry_polls SET next_poll_at = now()")
            later.append(
                run_tick(sources, settings.database_url, settings, max_passes=1, log_line=_quiet)
            )
        robots = dict(site.robots_requests)
        not_modified = dict(site.not_modified)
        after = dict(site.requests)
    assert [tick.sources_polled for tick in later] == [12, 12]
    # Unchanged sources were answered by the probe's conditional GET, with no crawl at all.
    assert [tick.probed_unchanged for tick in later] == [12, 11]
    assert [tick.articles_new for tick in later] == [0, 1]
    for publisher in publishers:
        entries = 1 if publisher.kind in ("feed", "listing") else 2
        assert robots[publisher.host] == 1  # fetched by the first crawl only
        if publisher is changed:  # the probe saw the change; the crawl started from its answer
            # and fetched the story (and, for two entry points, the other one): not the page again
            assert after[publisher.host] - before[publisher.host] == entries + entries + 1
            continue
        assert after[publisher.host] - before[publisher.host] == 2 * entries  # one GET an entry
        assert not_modified[publisher.host] == 2 * entries
    kept = rows(settings.database_url, "SELECT count(*) FROM robots_cache")[0][0]
    assert kept == 12


def test_two_ticks_share_the_fleet_without_duplicates(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = SmtpSink()
    sink.controller.start()
    try:
        monkeypatch.setenv("NEWSWATCH_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("NEWSWATCH_SMTP_PORT", str(sink.port))
        monkeypatch.setenv("NEWSWATCH_SMTP_SECURITY", "none")
        worker_settings = Settings(fleet_pass_limit=20)
        publishers = plan_fleet(60, time.time(), minutes=0, backlog=2, seed=3)
        for publisher in publishers[::3]:  # a third of the fleet has matching stories
            publisher.stories = [
                type(story)(story.site, story.number, story.published_at, True)
                for story in publisher.stories
            ]
        matching = sum(len(p.stories) for p in publishers[::3])
        assert settings.database_url
        with db.connect(settings.database_url) as connection:
            add_watch(connection, "fleet", MATCH_WORD, ["reader@example.com"])
        with FleetSite(publishers) as site:
            # Nothing falls due again within the test: each source is polled once.
            sources = fleet_sources(
                publishers, site.port, poll_min_seconds=3600, poll_max_seconds=7200
            )
            summaries: list[TickSummary] = []

            def tick() -> None:
                summaries.append(
                    run_tick(
                        sources,
                        str(settings.database_url),
                        worker_settings,
                        max_seconds=120,
                        log_line=_quiet,
                    )
                )

            workers = [threading.Thread(target=tick) for _ in range(2)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(600)
            requests = dict(site.requests)
    finally:
        sink.controller.stop()

    assert len(summaries) == 2 and all(s.passes >= 1 for s in summaries)
    polled = [line.source for s in summaries for line in s.polled]
    assert sorted(polled) == sorted(source.name for source in sources)  # each exactly once
    assert all(s.polled for s in summaries), "one worker did all the work"
    # Each host saw one crawl: robots.txt, its entry points, its stories.
    for publisher in publishers:
        entries = 1 if publisher.kind in ("feed", "listing") else 2
        assert requests[publisher.host] == 1 + entries + len(publisher.stories), publisher.kind
    url = settings.database_url
    published = sum(len(p.stories) for p in publishers)
    counted = rows(url, "SELECT count(*), count(DISTINCT canonical_url) FROM articles")[0]
    assert counted == (published, published)
    alerts = rows(url, "SELECT count(*), count(DISTINCT article_id) FROM alerts")[0]
    assert alerts == (matching, matching)
    message_ids = [
        line.split(b":", 1)[1].strip()
        for _, _, raw in sink.messages
        for line in raw.splitlines()
        if line.lower().startswith(b"message-id:")
    ]
    assert message_ids and len(message_ids) == len(set(message_ids))
    emailed = rows(url, "SELECT count(*) FROM emails WHERE sent_at IS NOT NULL")[0][0]
    assert emailed == len(sink.messages)
    with db.connect(url) as connection:
        lines = {line.source: line for line in freshness(connection)}
    assert len(lines) == len(sources)
    alerted = [lines[f"pub{p.index:05d}"] for p in publishers[::3]]
    assert all(
        line.alerts == len(p.stories) for line, p in zip(alerted, publishers[::3], strict=True)
    )
    assert all(line.lag_p50_seconds is not None and line.lag_p50_seconds > 0 for line in alerted)
    assert all(line.error_streak == 0 and line.last_news_at for line in lines.values())


def _quiet(line: str) -> None:
    """Crawl logs are not this test's subject."""


def test_sources_of_one_host_are_polled_one_at_a_time(settings: Settings) -> None:
    """Three sources on one publisher's host (its listing twice, its sitemap) and one elsewhere:
    the host never answers two requests at once, and every source is polled in the tick."""
    publishers = plan_fleet(3, time.time(), minutes=0, backlog=3, seed=3)
    shared = next(p for p in publishers if p.kind == "listing+sitemap")
    with FleetSite(publishers, latency=0.15) as site:
        base = fleet_sources(
            publishers, site.port, download_delay=0.1, concurrency_per_domain=1, max_pages=4
        )
        by_host = {source.domains()[0]: source for source in base}
        listing = by_host[shared.host].model_copy(update={"sitemaps": []})
        sources = [
            listing.model_copy(update={"name": "shared-news"}),
            listing.model_copy(update={"name": "shared-news-again"}),
            listing.model_copy(
                update={
                    "name": "shared-sitemap",
                    "start_urls": [],
                    "sitemaps": by_host[shared.host].sitemaps,
                }
            ),
            *(source for host, source in by_host.items() if host != shared.host),
        ]
        assert settings.database_url
        summary = run_tick(
            sources, settings.database_url, settings, max_seconds=120, max_passes=1, log_line=_quiet
        )
        assert sorted(line.source for line in summary.polled) == sorted(s.name for s in sources)
        assert all(line.crawl_ok and line.pages > 0 for line in summary.polled)
        assert site.requests[shared.host] >= 6  # three crawls' robots.txt, entry points, stories
        assert site.max_in_flight[shared.host] == 1
    held = rows(
        settings.database_url, "SELECT count(*) FROM source_polls WHERE lease_owner IS NOT NULL"
    )
    assert held[0][0] == 0


def test_a_stopped_tick_gives_its_leases_back(settings: Settings) -> None:
    """A worker stopped mid-tick (SIGTERM, which Prefect raises in the flow as
    TerminationSignal) leaves no source leased: the next tick polls them at once, not when
    their leases run out."""
    publishers = plan_fleet(
        4, time.time(), minutes=0, backlog=1, seed=3, behaviours={0: "hang", 1: "hang"}
    )
    url = str(settings.database_url)

    def raise_termination(signum: int, frame: object) -> None:
        raise TerminationSignal(signal=signum)

    def stop_when_polling() -> None:  # the hanging sources' polls are under way
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            held = rows(url, "SELECT count(*) FROM source_polls WHERE lease_owner IS NOT NULL")
            if held[0][0] == 2:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.1)

    previous = signal.signal(signal.SIGTERM, raise_termination)
    try:
        with FleetSite(publishers, hang_seconds=120) as site:
            sources = fleet_sources(publishers, site.port, download_timeout=100, retry_times=0)
            stopper = threading.Thread(target=stop_when_polling)
            stopper.start()
            with pytest.raises(TerminationSignal):
                run_tick(sources, url, settings, max_seconds=90, log_line=_quiet)
            stopper.join(60)
    finally:
        signal.signal(signal.SIGTERM, previous)
    polls = dict(rows(url, "SELECT source, polls FROM source_polls WHERE lease_owner IS NULL"))
    assert polls == {"pub00000": 0, "pub00001": 0, "pub00002": 1, "pub00003": 1}
    with db.connect(url) as connection:
        claimed = shards.claim_due(connection, sorted(polls), None, "next-tick", 60, 10)
    assert claimed == ["pub00000", "pub00001"]
