"""Notices to the admin over real SMTP and the real database: once per failed run, once per
idle streak, kept and resent when the mail server refuses."""

from __future__ import annotations

import email
from typing import Any

import pytest

from flows.config.settings import Settings
from flows.notify import admin as admin_notices
from flows.store import articles, db
from flows.store import runs as source_runs

ADMIN = "ops@example.com"


@pytest.fixture
def admin_settings(settings: Settings, smtp_server: Any) -> Settings:
    return Settings(admin_email=ADMIN, idle_source_runs=3)


def _source_run(connection: db.Connection, source: str, new: int) -> int:
    run_id = articles.start_run(connection, [source])
    line = source_runs.SourceRunStats(source=source, crawl_ok=True, articles_new=new)
    source_runs.record(connection, run_id, line, flow_run_id=None)
    return run_id


def _notices(smtp: Any) -> list[email.message.Message]:
    return [email.message_from_bytes(raw) for _, _, raw in smtp.messages]


def test_crawl_figures_from_scrapy_stats() -> None:
    stats = {
        "response_received_count": 12,
        "downloader/response_bytes": 34567,
        "downloader/response_status_count/200": 10,
        "downloader/response_status_count/404": 2,
        "dupefilter/filtered": 7,
        "offsite/filtered": 3,
        "robotstxt/forbidden": 1,
        "newswatch/skipped/known_url": 5,
        "elapsed_time_seconds": 1.5,
    }
    assert source_runs.crawl_figures(stats) == (12, 34567, {"200": 10, "404": 2}, 16)
    assert source_runs.crawl_figures({}) == (0, 0, {}, 0)


def test_idle_source_notified_once_per_streak(
    admin_settings: Settings, smtp_server: Any, clean_db: str
) -> None:
    sent_after = []
    with db.connect(clean_db) as connection:
        for new in (4, 0, 0, 0, 0, 0, 2, 0, 0, 0):
            _source_run(connection, "wire", new)
            _source_run(connection, "busy", 1)
            admin_notices.check_idle_sources(connection, admin_settings, ["wire", "busy"])
            sent_after.append(len(smtp_server.messages))
    # Third empty run in a row -> notice; runs 4 and 5 of the streak add nothing; the next
    # streak (after a run that stored 2) gets its own notice on its third run.
    assert sent_after == [0, 0, 0, 1, 1, 1, 1, 1, 1, 2]
    messages = _notices(smtp_server)
    assert {m["X-Newswatch-Notice"] for m in messages} == {"source-idle"}
    assert all(m["To"] == ADMIN and "wire" in m["Subject"] for m in messages)
    assert len({m["Message-ID"] for m in messages}) == 2


def test_run_failed_notice_is_sent_once_and_kept_when_refused(
    admin_settings: Settings, smtp_server: Any, clean_db: str
) -> None:
    notice = admin_notices.run_failed_notice(
        "0b6f", "brave-otter", "daily8", "Failed: sources file not found", "http://ui/runs/x"
    )
    smtp_server.refuse = True
    with db.connect(clean_db) as connection:
        assert admin_notices.notify(connection, admin_settings, notice) is True
        row = connection.execute(
            "SELECT sent_at, attempts, last_error FROM admin_notices"
        ).fetchone()
        assert row is not None and row["sent_at"] is None and row["attempts"] == 1
        assert "451" in row["last_error"]
        smtp_server.refuse = False
        # The hook firing again (or a second worker) queues nothing new but delivers the kept one.
        assert admin_notices.notify(connection, admin_settings, notice) is False
        assert admin_notices.notify(connection, admin_settings, notice) is False
    (message,) = _notices(smtp_server)
    assert message["Subject"] == "[newswatch] run brave-otter failed"
    body = message.get_payload(decode=True).decode()
    assert "deployment daily8" in body and "sources file not found" in body
    assert "http://ui/runs/x" in body


def test_a_kept_notice_goes_out_at_the_next_run_without_a_new_notice(
    admin_settings: Settings, smtp_server: Any, clean_db: str
) -> None:
    notice = admin_notices.run_failed_notice("7c1d", "calm-heron", "daily8", "Crashed", None)
    smtp_server.refuse = True
    with db.connect(clean_db) as connection:
        assert admin_notices.notify(connection, admin_settings, notice) is True
        assert admin_notices.retry_kept(connection, admin_settings) == []  # still refused
        smtp_server.refuse = False
        assert admin_notices.retry_kept(connection, admin_settings) == [notice.key]
        assert admin_notices.retry_kept(connection, admin_settings) == []
        row = connection.execute("SELECT sent_at, attempts FROM admin_notices").fetchone()
    assert row is not None and row["sent_at"] is not None and row["attempts"] == 3
    (message,) = _notices(smtp_server)
    assert message["Subject"] == "[newswatch] run calm-heron failed"


def test_without_admin_address_nothing_is_sent(
    settings: Settings, smtp_server: Any, clean_db: str
) -> None:
    no_admin = Settings(admin_email=None, idle_source_runs=1)
    with db.connect(clean_db) as connection:
        _source_run(connection, "wire", 0)
        assert admin_notices.check_idle_sources(connection, no_admin, ["wire"]) == []
        count = connection.execute("SELECT count(*) AS n FROM admin_notices").fetchone()
    assert count is not None and count["n"] == 0
    assert smtp_server.messages == []


def test_idle_check_off_when_threshold_zero(admin_settings: Settings, clean_db: str) -> None:
    off = admin_settings.model_copy(update={"idle_source_runs": 0})
    with db.connect(clean_db) as connection:
        for _ in range(3):
            _source_run(connection, "wire", 0)
        assert admin_notices.check_idle_sources(connection, off, ["wire"]) == []
