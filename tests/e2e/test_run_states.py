"""Failures look like failures, on a real Prefect API: a run with one source that never
answers in time ends "Completed with errors" while the other source is stored (the slow one
fails alone, within its deadlines); a run whose every source fails ends Failed; Scrapy's
records keep their level and a traceback is one record; the run is named after what it ran;
artifacts say how many errors and which source failed; `deploy` registers the Automation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from flows.config.settings import REPO_ROOT, Settings
from flows.demo import DEMO_SCRAPY_SETTINGS
from flows.testsite import TestSite
from tests.support.drip import DripSite

pytestmark = pytest.mark.slow

SLOW_SOURCE = """
[[source]]
name = "slow"
start_urls = ["{origin}/en"]
article_url_patterns = ['^/article/']
download_timeout = 2.0
retry_times = 0
download_delay = 0
max_seconds = 60
"""


def _sources_file(tmp_path: Path, site: TestSite | None, slow: DripSite) -> Path:
    text = ""
    if site is not None:
        shipped = (REPO_ROOT / "sources.toml").read_text(encoding="utf-8")
        text = shipped.replace("https://www.daily8.com", site.base_url).replace(
            '"www.daily8.com"', f'"{site.host}"'
        )
    path = tmp_path / "sources.toml"
    path.write_text(text + SLOW_SOURCE.format(origin=slow.base_url), encoding="utf-8")
    return path


def _logs(flow_run_id: Any, wanted: str) -> list[Any]:
    """The run's log records, once `wanted` is among them (Prefect ships logs in batches)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=30)
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            logs: list[Any] = []
            while True:
                page = client.read_logs(
                    LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                    limit=200,
                    offset=len(logs),
                )
                logs += page
                if len(page) < 200:
                    break
            if any(wanted in log.message for log in logs) or time.monotonic() > deadline:
                return logs
            time.sleep(0.5)


def test_one_failing_source_completes_with_errors(
    prefect_api: None, settings: Settings, test_site: TestSite, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.flow import monitor, summary_of

    with DripSite(seconds=60) as slow:
        state = monitor(
            sources_file=str(_sources_file(tmp_path, test_site, slow)),
            source_names=["daily8", "slow"],
            scrapy_settings=DEMO_SCRAPY_SETTINGS,
            return_state=True,
        )
    assert state.is_completed() and state.name == "Completed with errors", state
    summary = summary_of(state)
    assert summary is not None
    assert summary["outcome"] == "completed with errors"
    assert summary["failed_sources"] == ["slow"]
    assert summary["articles_new"] == len({story.id for story in test_site.stories})
    slow_errors = [e for e in summary["errors"] if e["source"] == "slow"]
    assert slow_errors and "took longer than 2.0 seconds" in slow_errors[0]["reason"]
    assert "failed sources: slow" in (state.message or "")

    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(flow_run_id)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    assert run.name == f"daily8+slow #{summary['run_id']}"
    by_key = {artifact.key: artifact for artifact in artifacts}
    errors = len(summary["errors"])
    assert "FAILED: slow" in (by_key["all-sources-crawl-stats"].description or "")
    report = by_key["all-sources-run-report"]
    assert f"{errors} errors" in (report.description or "")
    assert "| slow | **FAILED** |" in str(report.data)
    assert f"completed with errors, {errors} errors" in (
        by_key["newswatch-run-summary"].description or ""
    )
    progress = by_key["slow-crawl-progress"]
    assert progress.data != 100  # a failed crawl's progress does not claim it is done

    logs = _logs(flow_run_id, "Gave up retrying")
    scrapy_errors = [log for log in logs if "[scrapy." in log.message and log.level >= 40]
    assert scrapy_errors, [log.message[:80] for log in logs[-20:]]
    tracebacks = [log for log in logs if "Traceback (most recent call last)" in log.message]
    assert tracebacks and all("\n" in log.message for log in tracebacks)
    # No record is a lone line of a traceback: every one of them starts a record of its own.
    assert not [log for log in logs if log.message.startswith(("  File ", "Traceback"))]
    assert (
        next(log for log in logs if "[scrapy.core.engine] Spider opened" in log.message).level == 20
    )


def test_every_source_failing_is_a_failed_run(
    prefect_api: None, settings: Settings, tmp_path: Path
) -> None:
    from flows.flow import monitor, summary_of

    with DripSite(seconds=60) as slow:
        state = monitor(
            sources_file=str(_sources_file(tmp_path, None, slow)),
            source_names=["slow"],
            return_state=True,
        )
    assert state.is_failed(), state
    summary = summary_of(state)
    assert summary is not None and summary["outcome"] == "failed"
    assert summary["failed_sources"] == ["slow"]


def test_deploy_registers_the_failure_automation(prefect_api: None, settings: Settings) -> None:
    from prefect.client.orchestration import get_client

    from flows.orchestration.automations import (
        AUTOMATION_NAME,
        NOTICE_DEPLOYMENT,
        NOTICE_FLOW_NAME,
        apply_failure_automation,
    )

    first = apply_failure_automation(settings)
    again = apply_failure_automation(settings)  # idempotent: updated, not duplicated
    assert first == again
    with get_client(sync_client=True) as client:
        (automation,) = client.read_automations_by_name(AUTOMATION_NAME)
        deployment = client.read_deployment_by_name(f"{NOTICE_FLOW_NAME}/{NOTICE_DEPLOYMENT}")
    trigger = automation.trigger
    assert trigger.expect == {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}  # type: ignore[union-attr]
    (action,) = automation.actions
    assert action.deployment_id == deployment.id  # type: ignore[union-attr]
    assert action.parameters == {"flow_run_id": "{{ flow_run.id }}"}  # type: ignore[union-attr]
