"""Deployments per source on the Prefect test API: schedule, one-at-a-time, pool, retries."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from flows.config.settings import Settings
from flows.config.sources import load_sources
from flows.orchestration.deployments import (
    FLOW_ENTRYPOINT,
    apply_deployments,
    job_variables,
    plan_deployments,
)

TWO_SOURCES = """
[[source]]
name = "wire"
start_urls = ["https://wire.example.org/"]
article_url_patterns = ['^/story/']
schedule = { cron = "*/20 * * * *", timezone = "Europe/Paris" }

[[source]]
name = "weekly"
start_urls = ["https://weekly.example.org/"]
article_url_patterns = ['^/a/']
schedule = { interval = "2h" }

[[source]]
name = "adhoc"
start_urls = ["https://adhoc.example.org/"]
article_url_patterns = ['^/a/']
"""


def _sources(tmp_path: Path) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(TWO_SOURCES, encoding="utf-8")
    return path


def test_plans_carry_source_parameters(tmp_path: Path) -> None:
    sources = load_sources(_sources(tmp_path))
    plans = plan_deployments(sources)
    assert [plan.full_name for plan in plans] == [
        "newswatch-monitor/wire",
        "newswatch-monitor/weekly",
        "newswatch-monitor/adhoc",
    ]
    assert plans[0].parameters == {"source_names": ["wire"]}
    demo = plan_deployments(sources[:1], origin="http://127.0.0.1:9", scrapy_settings={"X": "1"})
    assert demo[0].parameters == {
        "source_names": ["wire"],
        "origin": "http://127.0.0.1:9",
        "scrapy_settings": {"X": "1"},
    }
    assert "demo" in demo[0].tags
    pinned = plan_deployments(sources[:1], sources_file=_sources(tmp_path))
    assert pinned[0].parameters["sources_file"] == str(_sources(tmp_path).resolve())


@pytest.mark.slow
def test_apply_registers_schedules_limits_and_pool(
    prefect_api: None, settings: Settings, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client

    settings = settings.model_copy(
        update={
            "work_pool": "newswatch-deploy-test",
            "run_retries": 2,
            "run_retry_delay_seconds": 5,
        }
    )
    plans = plan_deployments(load_sources(_sources(tmp_path)))
    ids = apply_deployments(plans, settings)
    assert apply_deployments(plans, settings) == ids  # re-deploying updates, never duplicates
    with get_client(sync_client=True) as client:
        pool = client.read_work_pool("newswatch-deploy-test")
        assert pool.type == "process"
        wire = client.read_deployment(ids["wire"])
        weekly = client.read_deployment(ids["weekly"])
        adhoc = client.read_deployment(ids["adhoc"])
    assert wire.entrypoint == FLOW_ENTRYPOINT
    assert wire.work_pool_name == "newswatch-deploy-test"
    assert wire.parameters == {"source_names": ["wire"]}
    assert wire.job_variables == job_variables(settings)
    assert wire.job_variables["env"]["PREFECT_FLOWS_DEFAULT_RETRIES"] == "2"
    for deployment in (wire, weekly, adhoc):
        assert deployment.global_concurrency_limit is not None
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.concurrency_options is not None
        assert deployment.concurrency_options.collision_strategy == "ENQUEUE"
    (cron,) = wire.schedules
    assert (cron.schedule.cron, cron.schedule.timezone) == ("*/20 * * * *", "Europe/Paris")
    (interval,) = weekly.schedules
    assert interval.schedule.interval == timedelta(hours=2)
    assert adhoc.schedules == []
