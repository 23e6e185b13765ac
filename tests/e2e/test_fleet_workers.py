"""Two real Prefect workers on one process work pool share the fleet: no duplicate article,
alert or e-mail, no story fetched twice.

Real parts: a Prefect server of its own, `prefect worker start` twice, the fleet's tick
deployments (two shards, a tick every 20 s), the flow-run processes they start, one shared
Postgres, simulated publishers on their own loopback addresses publishing while the test runs,
and an SMTP server (aiosmtpd).
"""

from __future__ import annotations

import contextlib
import email
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from flows.bench.support import PrefectServer
from flows.match.watches import add_watch
from flows.stack.local import terminate_tree
from flows.store import db
from flows.testsite.fleet import MATCH_WORD, FleetSite, fleet_sources, plan_fleet, sources_toml
from tests.support.crawl_helpers import rows
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.slow

POOL = "newswatch-fleet-test"
READER = "reader@example.com"
_STORY = re.compile(r"https?://(127\.[0-9.]+):\d+(/news/\d+\.html)")


def _environment(
    api_url: str, database_url: str, sources_file: Path, sink: SmtpSink, temp_dir: Path
) -> dict:
    temp_dir.mkdir(parents=True, exist_ok=True)
    environment = dict(
        os.environ,
        # Ticks stopped with the workers leave their fork servers' folders (pymp-*): in the test's
        # (their spools are in the data folder, removed by the next tick on the host).
        TMPDIR=str(temp_dir),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="2",
        PREFECT_WORKER_PREFETCH_SECONDS="2",
        DATABASE_URL=database_url,
        NEWSWATCH_SOURCES_FILE=str(sources_file),
        NEWSWATCH_WORK_POOL=POOL,
        NEWSWATCH_FLEET_SHARDS="2",
        NEWSWATCH_FLEET_TICK_SECONDS="18",
        NEWSWATCH_FLEET_DRAIN_SECONDS="5",
        NEWSWATCH_EXTRACT_WORKERS="1",
        # Its busy publishers put out more stories an hour than the default budget's requests:
        # this test is about sharing the fleet, not about the budget.
        NEWSWATCH_POLL_BUDGET="1000",
        NEWSWATCH_SMTP_HOST="127.0.0.1",
        NEWSWATCH_SMTP_PORT=str(sink.port),
        NEWSWATCH_SMTP_SECURITY="none",
    )
    environment.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)
    return environment


def _mailed_stories(sink: SmtpSink) -> list[str]:
    """Every story link in every alert e-mail received (host and path), repeats kept."""
    found = []
    for _, _, raw in sink.messages:
        for part in email.message_from_bytes(raw).walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and part.get_content_type() == "text/plain":
                found += [host + path for host, path in _STORY.findall(payload.decode())]
    return found


def test_two_workers_share_the_fleet_without_duplicates(clean_db: str, tmp_path: Path) -> None:
    # The session's own processes (its temporary Prefect API, when earlier tests started it).
    already_running = {child.pid for child in psutil.Process().children(recursive=True)}
    sink = SmtpSink()
    sink.controller.start()
    server: PrefectServer | None = None
    workers: list[subprocess.Popen[bytes]] = []
    # Stories come during the first minute and a half; a few of each host's are matching.
    publishers = plan_fleet(
        40,
        time.time() + 20,
        minutes=1.5,
        seed=11,
        busy_share=0.2,
        busy_per_hour=120,
        match_share=0.5,
        backlog=1,
    )
    try:
        with FleetSite(publishers) as site:
            sources = fleet_sources(publishers, site.port, poll_min_seconds=10)
            sources_file = tmp_path / "sources.toml"
            sources_file.write_text(sources_toml(sources), encoding="utf-8")
            with db.connect(clean_db) as connection:
                add_watch(connection, "fleet", MATCH_WORD, [READER])
            server = PrefectServer(tmp_path / "prefect", timeout=300)
            environment = _environment(
                server.api_url, clean_db, sources_file, sink, tmp_path / "tmp"
            )
            deploy = [sys.executable, "-m", "flows.cli", "fleet", "deploy", "--shards", "2"]
            deploy += ["--sources", str(sources_file), "--every", "20"]
            done = subprocess.run(
                deploy, env=environment, capture_output=True, text=True, check=False, timeout=300
            )
            assert done.returncode == 0, done.stderr[-2000:]
            for index in range(2):
                log = (tmp_path / f"worker-{index}.log").open("wb")
                command = [sys.executable, "-m", "prefect", "worker", "start", "--type", "process"]
                command += ["--pool", POOL, "--name", f"fleet-test-{index}", "--limit", "1"]
                workers.append(
                    subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
                )

            end_of_publishing = max(s.published_at for p in publishers for s in p.stories)
            matching = {f"{p.host}{s.path}" for p in publishers for s in p.stories if s.matching}
            everything = sum(len(p.stories) for p in publishers)
            deadline = time.monotonic() + 420
            # Until every story is stored, every matching one mailed, every source's poll recorded.
            while True:
                stored = rows(clean_db, "SELECT count(*) FROM articles")[0][0]
                mailed = set(_mailed_stories(sink))
                polled = rows(clean_db, "SELECT count(*) FROM source_polls WHERE polls > 0")[0][0]
                if (
                    time.time() > end_of_publishing
                    and stored >= everything
                    and mailed >= matching
                    and polled == len(sources)
                ):
                    break
                assert all(worker.poll() is None for worker in workers), "a worker exited"
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"after 420 s: {stored} of {everything} stories stored,"
                        f" {len(mailed & matching)} of {len(matching)} matching ones mailed,"
                        f" {polled} of {len(sources)} sources' polls recorded"
                    )
                time.sleep(1)
            _stop(workers)  # no tick may run on while the figures are read
            article_requests = dict(site.article_requests)
            robots_requests = dict(site.robots_requests)
    finally:
        _stop(workers)
        if server is not None:
            server.close()
        sink.controller.stop()

    assert matching and len(matching) < everything
    # Each story was fetched once and stored once, whichever worker's tick found it.
    for publisher in publishers:
        assert article_requests.get(publisher.host, 0) == len(publisher.stories), publisher.host
        assert robots_requests[publisher.host] == 1  # kept between polls and between ticks
    counted = rows(clean_db, "SELECT count(*), count(DISTINCT canonical_url) FROM articles")[0]
    assert counted == (everything, everything)
    alerts = rows(clean_db, "SELECT count(*), count(DISTINCT article_id) FROM alerts")[0]
    assert alerts == (len(matching), len(matching))
    # Each matching story reached the reader once, in one e-mail the database knows.
    mailed = _mailed_stories(sink)
    assert sorted(mailed) == sorted(matching)
    message_ids = [email.message_from_bytes(raw)["Message-ID"] for _, _, raw in sink.messages]
    assert len(message_ids) == len(set(message_ids))
    known = {
        row[0] for row in rows(clean_db, "SELECT message_id FROM emails WHERE sent_at IS NOT NULL")
    }
    assert set(message_ids) == known
    # Both workers ran ticks, and ticks of both shards ran.
    ran = {index: _runs_started(tmp_path / f"worker-{index}.log") for index in range(2)}
    assert all(ran.values()), ran
    runs = rows(clean_db, "SELECT count(*) FROM runs WHERE status = 'completed'")[0][0]
    assert runs >= 2
    # Workers stopped mid-tick gave their leases back (fleet_tick's giving_back_when_stopped).
    polls = rows(
        clean_db, "SELECT count(*) FROM source_polls WHERE polls > 0 AND lease_owner IS NULL"
    )
    assert polls[0][0] == len(sources)
    assert _leftovers(already_running) == []


def _runs_started(log: Path) -> set[str]:
    """Flow runs a worker started (a submission the server aborted for the other is left out)."""
    text = log.read_text(errors="replace")
    tried = set(re.findall(r"submitting flow run '([0-9a-f-]{36})'", text))
    aborted = set(re.findall(r"Aborted submission of flow run '([0-9a-f-]{36})'", text))
    return tried - aborted


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            with contextlib.suppress(psutil.Error):
                terminate_tree(psutil.Process(worker.pid), timeout=20)
        worker.wait(30)


def _leftovers(already_running: set[int]) -> list[str]:
    """Processes of this test still alive (workers, flow runs, crawl children)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        if child.pid in already_running:
            continue
        with contextlib.suppress(psutil.Error):
            command = " ".join(child.cmdline())
            if child.status() != psutil.STATUS_ZOMBIE and (
                "prefect" in command or "spiders" in command
            ):
                found.append(command)
    return found
