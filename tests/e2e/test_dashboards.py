"""Dashboards: row builders and progress parsing as plain code, then one real flow run on the
Prefect test API whose artifacts are read back; and a failing run that e-mails the admin."""

from __future__ import annotations

import email
import json
from pathlib import Path
from typing import Any

import pytest

from flows.config.settings import REPO_ROOT, Settings
from flows.demo import DEMO_SCRAPY_SETTINGS, ensure_demo_watches
from flows.orchestration import dashboards
from flows.store.runs import SourceRunStats
from flows.testsite import TestSite


def test_artifact_prefix_is_a_valid_key() -> None:
    assert dashboards.artifact_prefix(["daily8"]) == "daily8"
    assert dashboards.artifact_prefix(["wire_feed"]) == "wire-feed"
    assert dashboards.artifact_prefix(["a", "b"]) == "all-sources"


def test_progress_lines() -> None:
    line = (
        dashboards.PROGRESS_MARKER
        + '{"pages": 30, "max_pages": 300, "elapsed": 90, "max_seconds": 600}'
    )
    values = dashboards.parse_progress_line(line)
    assert values is not None
    assert dashboards.progress_percent(values) == 15.0  # time (90/600) is ahead of pages (30/300)
    done = {"pages": 300.0, "max_pages": 300.0}
    assert dashboards.progress_percent(done) == 99.0  # 100 only once the crawl has finished
    assert dashboards.parse_progress_line("2026-11-28 [scrapy.core.engine] INFO: x") is None
    assert dashboards.parse_progress_line(dashboards.PROGRESS_MARKER + "{broken") is None


def test_report_markdown_lists_sources_and_errors() -> None:
    stats = [SourceRunStats("daily8", True, 12, 999, {"200": 12}, 1, 4, 9, 2, 3.0)]
    summary = {
        "run_id": 7,
        "articles_new": 9,
        "articles_duplicate": 2,
        "alerts_new": 3,
        "watches_matched": 2,
        "emails_sent": 1,
        "errors": [{"source": "daily8", "url": "http://x/a", "reason": "HTTP 500"}],
    }
    text = dashboards.report_markdown(summary, stats, stories=9, alerts=3)
    assert text.startswith("# newswatch run 7")
    assert "| daily8 | ok | 12 | 9 | 2 | 1 | 4 |" in text
    assert "- [http://x/a](http://x/a): HTTP 500" in text  # the URL is a link
    row = dashboards.crawl_stat_rows(stats)[0]
    assert row["status codes"] == "200: 12" and row["size"] == "999 B"
    assert row["crawl"] == "ok"
    failed = SourceRunStats("wire", True, 0, 0, {}, errors=3)  # every request failed
    assert dashboards.crawl_stat_rows([failed])[0]["crawl"] == "FAILED"
    assert "| wire | **FAILED** |" in dashboards.report_markdown(summary, [failed], 0, 0)


def _sources_file(tmp_path: Path, site: TestSite) -> Path:
    shipped = (REPO_ROOT / "sources.toml").read_text(encoding="utf-8")
    path = tmp_path / "sources.toml"
    path.write_text(shipped.replace("https://www.daily8.com", site.base_url), encoding="utf-8")
    return path


@pytest.mark.slow
def test_flow_run_publishes_keyed_artifacts(
    prefect_api: None, settings: Settings, test_site: TestSite, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.flow import monitor

    ensure_demo_watches(settings)
    state = monitor(
        sources_file=str(_sources_file(tmp_path, test_site)),
        source_names=["daily8"],
        origin=test_site.base_url,
        scrapy_settings=DEMO_SCRAPY_SETTINGS,
        return_state=True,
    )
    assert state.is_completed()
    summary = state.result()
    assert summary["articles_new"] > 0 and summary["alerts_new"] > 0
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])
            )
        )
    by_key = {artifact.key: artifact for artifact in artifacts}
    assert {
        "daily8-new-stories",
        "daily8-alerts-sent",
        "daily8-crawl-stats",
        "daily8-run-report",
        "daily8-crawl-progress",
    } <= set(by_key)
    stories = json.loads(by_key["daily8-new-stories"].data)
    # One row per new story: lightly edited rewrites join their base's story.
    distinct_stories = {story.edited_from or story.id for story in test_site.stories}
    assert len(stories) == len(distinct_stories) < summary["articles_new"]
    assert all(row["url"].startswith(test_site.base_url) for row in stories)
    assert all(
        row["title"].startswith("[") and f"]({row['url']})" in row["title"] for row in stories
    )
    alerts = json.loads(by_key["daily8-alerts-sent"].data)
    assert len(alerts) == summary["alerts_new"]
    assert all(row["e-mail"].startswith("sent ") for row in alerts)
    (crawl_row,) = json.loads(by_key["daily8-crawl-stats"].data)
    assert crawl_row["pages"] == summary["pages_fetched"]
    assert crawl_row["status codes"].startswith("200: ")
    assert crawl_row["size"].endswith(("kB", "MB"))
    assert by_key["daily8-crawl-progress"].data == 100
    assert f"# newswatch run {summary['run_id']}" in by_key["daily8-run-report"].data


@pytest.mark.slow
def test_failed_flow_run_emails_the_admin(
    prefect_api: None,
    settings: Settings,
    smtp_server: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.flow import monitor

    monkeypatch.setenv("NEWSWATCH_ADMIN_EMAIL", "ops@example.com")
    state = monitor(sources_file=str(tmp_path / "nowhere.toml"), return_state=True)
    assert state.is_failed()
    (raw,) = [raw for _, _, raw in smtp_server.messages]
    message = email.message_from_bytes(raw)
    assert message["X-Newswatch-Notice"] == "run-failed"
    assert "nowhere.toml" in message.get_payload(decode=True).decode()


def test_crawl_child_prints_progress_lines(test_site: TestSite, tmp_path: Path) -> None:
    from flows.config.sources import load_sources
    from flows.fetch.crawl import crawl_source

    (source,) = load_sources(_sources_file(tmp_path, test_site), ["daily8"])
    lines: list[str] = []
    result = crawl_source(
        source.rebased(test_site.base_url),
        tmp_path / "spool",
        log_line=lines.append,
        scrapy_settings=DEMO_SCRAPY_SETTINGS,
    )
    progress = [v for v in map(dashboards.parse_progress_line, lines) if v is not None]
    assert len(progress) >= 2  # at spider open, and the final count at close
    assert progress[0]["pages"] == 0
    assert progress[-1]["pages"] == result.stats["response_received_count"]
    assert progress[-1]["max_pages"] == source.max_pages
    assert any("[scrapy" in line for line in lines)  # Scrapy's own log still comes through
