"""The local stack with two workers on one process pool: real Prefect server, real workers,
real flow-run processes crawling the test site, one shared Postgres, a real SMTP server.

Two sources serve the same stories (both point at the test site), so their concurrent runs on
different workers race to store the same articles and raise the same alerts; each article,
alert and e-mail must still exist once. A run with a missing sources file fails, is retried,
ends Failed, and the admin gets exactly one e-mail about it.
"""

from __future__ import annotations

import contextlib
import email
import itertools
import re
import socket
import time
from email.message import Message
from pathlib import Path
from typing import Any
from uuid import UUID

import psutil
import psycopg
import psycopg.sql
import pytest

from flows.config.settings import REPO_ROOT, Settings
from flows.demo import ensure_demo_watches
from flows.stack import local as stack
from flows.testsite import TestSite

pytestmark = pytest.mark.slow

ADMIN = "ops@example.com"
SOURCES = ("daily8", "daily8-copy")
RUNS_PER_SOURCE = 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sources_file(path: Path, site: TestSite) -> Path:
    """The shipped Daily8 block twice, served by the test site, scheduled yearly (runs here
    are triggered by the test, not by the clock)."""
    shipped = (REPO_ROOT / "sources.toml").read_text(encoding="utf-8")
    block = shipped[shipped.index("\n[[source]]") + 1 :]
    block = block.replace("https://www.daily8.com", site.base_url)
    block = block.replace('allowed_domains = ["www.daily8.com"]', 'allowed_domains = ["127.0.0.1"]')
    block = block.replace("download_delay = 1.0", "download_delay = 0.0")
    block = block.replace("concurrency_per_domain = 2", "concurrency_per_domain = 8")
    block = re.sub(r'interval = "[^"]+"', 'cron = "0 3 1 1 *"', block)
    copy = block.replace('name = "daily8"', 'name = "daily8-copy"')
    path.write_text(block + "\n" + copy, encoding="utf-8")
    return path


def _wait_for_final_states(client: object, run_ids: list[UUID], timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        runs = {run_id: client.read_flow_run(run_id) for run_id in run_ids}  # type: ignore[attr-defined]
        if all(run.state and run.state.is_final() for run in runs.values()):
            return runs
        if time.monotonic() > deadline:
            states = {str(r.id): r.state.name if r.state else None for r in runs.values()}
            raise AssertionError(f"runs not finished after {timeout:.0f} s: {states}")
        time.sleep(2)


def _wait_until_workers_idle(settings: Settings, timeout: float) -> None:
    """A run's state turns Failed before its on_failure hook has sent the admin notice, and
    stopping the stack kills whatever a worker still runs: wait for every flow-run process to end."""
    workers = [entry for entry in stack.status(settings) if entry.name.startswith("worker-")]
    deadline = time.monotonic() + timeout
    while True:
        busy = []
        for entry in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                busy += [child.pid for child in psutil.Process(entry.pid).children(recursive=True)]
        if not busy:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"flow-run processes still running after {timeout:.0f} s: {busy}")
        time.sleep(0.5)


def _worker_of_runs(logs_dir: Path) -> dict[str, list[str]]:
    """flow run id -> the workers that ran it. Two workers may both try to submit a run; the
    server lets one move it to Pending and aborts the other's submission, which is skipped."""
    ran: dict[str, list[str]] = {}
    for log in sorted(logs_dir.glob("worker-*.log")):
        text = log.read_text()
        tried = set(re.findall(r"submitting flow run '([0-9a-f-]{36})'", text))
        aborted = set(re.findall(r"Aborted submission of flow run '([0-9a-f-]{36})'", text))
        for run_id in tried - aborted:
            ran.setdefault(run_id, []).append(log.stem)
    return ran


def _processes_of(data_dir: Path) -> list[str]:
    """Live processes started for this data directory (server, workers, flow runs, crawls)."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if process.environ().get("NEWSWATCH_DATA_DIR") == str(data_dir.resolve()):
                found.append(f"{process.pid}: {' '.join(process.info['cmdline'] or [])}")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_two_workers_share_the_pool_without_duplicates(
    clean_db: str,
    test_site: TestSite,
    smtp_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.client.orchestration import SyncPrefectClient

    sources_file = _sources_file(tmp_path / "sources.toml", test_site)
    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSWATCH_SOURCES_FILE", str(sources_file))
    monkeypatch.setenv("NEWSWATCH_PREFECT_PORT", str(_free_port()))
    monkeypatch.setenv("NEWSWATCH_WEB_PORT", str(_free_port()))
    monkeypatch.setenv("NEWSWATCH_ADMIN_EMAIL", ADMIN)
    monkeypatch.setenv("NEWSWATCH_RUN_RETRIES", "1")
    monkeypatch.setenv("NEWSWATCH_RUN_RETRY_DELAY_SECONDS", "1")
    monkeypatch.setenv("NEWSWATCH_WORK_POOL", "newswatch-test")
    monkeypatch.setenv("PREFECT_WORKER_QUERY_SECONDS", "2")
    settings = Settings()
    ensure_demo_watches(settings)

    info = stack.up(settings, workers=2, worker_limit=1, say=lambda _line: None)
    try:
        assert {entry.name for entry in stack.status(settings) if entry.running} == {
            "prefect-server",
            "web",
            "worker-1",
            "worker-2",
        }
        assert info.web_url == f"http://127.0.0.1:{settings.web_port}"
        assert stack.http_ok(f"{info.web_url}/healthz")
        with SyncPrefectClient(info.api_url) as client:
            deployments = {
                name: client.read_deployment_by_name(f"newswatch-monitor/{name}")
                for name in SOURCES
            }
            for deployment in deployments.values():
                assert deployment.global_concurrency_limit is not None
                assert deployment.global_concurrency_limit.limit == 1
                assert deployment.entrypoint == "flows.flow.monitor"
                assert [s.schedule.cron for s in deployment.schedules] == ["0 3 1 1 *"]
            good_runs = [
                client.create_flow_run_from_deployment(deployments[name].id).id
                for _ in range(RUNS_PER_SOURCE)
                for name in SOURCES
            ]
            broken_run = client.create_flow_run_from_deployment(
                deployments["daily8"].id,
                parameters={"sources_file": str(tmp_path / "missing.toml")},
            ).id
            runs = _wait_for_final_states(client, [*good_runs, broken_run], timeout=420)
        _wait_until_workers_idle(settings, timeout=120)

        for run_id in good_runs:
            assert runs[run_id].state.is_completed(), runs[run_id].state
        broken = runs[broken_run]
        assert broken.state.is_failed() and broken.run_count == 2, (broken.state, broken.run_count)

        # Runs of one source never overlap; the two sources did run side by side somewhere.
        by_source: dict[str, list] = {}
        for run_id in [*good_runs, broken_run]:
            by_source.setdefault(str(runs[run_id].deployment_id), []).append(runs[run_id])
        for source_runs in by_source.values():
            ordered = sorted(source_runs, key=lambda run: run.start_time)
            for earlier, later in itertools.pairwise(ordered):
                assert later.start_time >= earlier.end_time, (earlier.name, later.name)
        ran_by = _worker_of_runs(info.logs_dir or settings.stack_dir / "logs")
        assert all(len(ran_by.get(str(run_id), [])) == 1 for run_id in good_runs), ran_by
        assert {ran_by[str(run_id)][0] for run_id in good_runs} == {"worker-1", "worker-2"}
    finally:
        stopped = stack.down(settings)
        # On a server with pg_trgm the stack gave Prefect a database of its own: drop it.
        prefect_db = f"{psycopg.conninfo.conninfo_to_dict(clean_db)['dbname']}_prefect"
        with psycopg.connect(clean_db, autocommit=True) as admin:
            admin.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(prefect_db)
                )
            )

    assert set(stopped) == {"prefect-server", "web", "worker-1", "worker-2"}
    assert stack.status(settings) == []
    assert _processes_of(settings.data_dir) == []

    _check_database_and_mail(clean_db, smtp_server, [str(run_id) for run_id in good_runs])


def _check_database_and_mail(database_url: str, smtp: Any, good_runs: list[str]) -> None:
    with psycopg.connect(database_url) as connection:

        def one(query: str) -> int:
            row = connection.execute(query).fetchone()
            assert row is not None
            return int(row[0])

        articles = one("SELECT count(*) FROM articles")
        assert articles > 0
        # Every stored article was counted new by exactly one of the four runs.
        assert one("SELECT sum(articles_new) FROM runs WHERE status = 'completed'") == articles
        assert one("SELECT count(*) FROM runs WHERE status = 'completed'") == len(good_runs)
        assert one("SELECT count(*) FROM source_runs") == len(good_runs)
        assert one("SELECT count(DISTINCT flow_run_id) FROM source_runs") == len(good_runs)
        # Alerts: exactly the (watch, story) pairs that match, each raised by one run.
        expected_alerts = one(
            """SELECT count(DISTINCT (w.id, a.story_id)) FROM articles a JOIN watches w
               ON NOT w.muted AND a.tsv @@ websearch_to_tsquery(a.ts_config, w.query)"""
        )
        assert expected_alerts > 0
        assert one("SELECT count(*) FROM alerts") == expected_alerts
        assert one("SELECT sum(alerts_new) FROM runs WHERE status = 'completed'") == expected_alerts
        assert one("SELECT count(*) FROM deliveries WHERE email_id IS NULL") == 0
        # A recipient hears of a story once, whichever run or worker found it.
        assert one("SELECT count(*) FROM deliveries") == one(
            "SELECT count(DISTINCT (recipient, story_id)) FROM deliveries"
        )
        assert one("SELECT count(*) FROM emails WHERE sent_at IS NULL") == 0
        message_ids = {
            row[0] for row in connection.execute("SELECT message_id FROM emails").fetchall()
        }
        assert one("SELECT count(*) FROM admin_notices WHERE sent_at IS NOT NULL") == 1

    received: list[Message] = [email.message_from_bytes(raw) for _, _, raw in smtp.messages]
    alert_mails = [m for m in received if not m["X-Newswatch-Notice"]]
    notices = [m for m in received if m["X-Newswatch-Notice"]]
    # Each alert e-mail arrived once, and only the e-mails the database knows.
    assert sorted(m["Message-ID"] for m in alert_mails) == sorted(message_ids)
    assert len(notices) == 1
    assert notices[0]["X-Newswatch-Notice"] == "run-failed"
    assert notices[0]["To"] == ADMIN
    assert "missing.toml" in notices[0].get_payload(decode=True).decode()
