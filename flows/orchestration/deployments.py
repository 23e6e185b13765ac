"""Prefect deployments: one per source, on a process work pool, scheduled from the sources file.

Why per source: each gets the source's own schedule, and a deployment concurrency limit of 1
keeps two runs of the same source from overlapping (extra runs wait their turn), while
different sources run side by side on however many workers pull from the pool.

The entrypoint is the module path `flows.flow.monitor`, so any machine with newswatch installed
can run it: no code storage or pull steps are needed, and the same Postgres serves all workers.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from flows.config.schedules import Schedule
from flows.config.settings import Settings
from flows.config.sources import Source

FLOW_ENTRYPOINT = "flows.flow.monitor"
FLOW_NAME = "newswatch-monitor"
DEPLOYMENT_TAG = "newswatch"


@dataclass(frozen=True)
class DeploymentPlan:
    """What gets registered for one source; plain data, so it can be checked without Prefect."""

    name: str
    source: str
    schedule: Schedule | None
    parameters: dict[str, Any]
    description: str
    tags: list[str] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{FLOW_NAME}/{self.name}"


def plan_deployments(
    sources: list[Source],
    *,
    sources_file: Path | None = None,
    origin: str | None = None,
    scrapy_settings: dict[str, str] | None = None,
) -> list[DeploymentPlan]:
    """One plan per source. Without `sources_file`, runs read the worker's own sources file
    (NEWSWATCH_SOURCES_FILE), which is what machines sharing one image want."""
    plans = []
    for source in sources:
        parameters: dict[str, Any] = {"source_names": [source.name]}
        if sources_file is not None:
            parameters["sources_file"] = str(sources_file.resolve())
        if origin:
            parameters["origin"] = origin
        if scrapy_settings:
            parameters["scrapy_settings"] = dict(scrapy_settings)
        when = source.schedule.describe() if source.schedule else "only when triggered"
        where = f", served from {origin}" if origin else ""
        plans.append(
            DeploymentPlan(
                name=source.name,
                source=source.name,
                schedule=source.schedule,
                parameters=parameters,
                description=f"Monitor {source.name} ({when}{where}).",
                tags=[DEPLOYMENT_TAG, f"source:{source.name}"] + (["demo"] if origin else []),
            )
        )
    return plans


def job_variables(settings: Settings) -> dict[str, Any]:
    """The retry policy travels with the deployment: flow runs read these at start-up."""
    return {
        "env": {
            "PREFECT_FLOWS_DEFAULT_RETRIES": str(settings.run_retries),
            "PREFECT_FLOWS_DEFAULT_RETRY_DELAY_SECONDS": f"{settings.run_retry_delay_seconds:g}",
        }
    }


def prefect_schedules(schedule: Schedule | None) -> list[Any]:
    from prefect.schedules import Cron, Interval

    if schedule is None:
        return []
    if schedule.cron is not None:
        return [Cron(schedule.cron, timezone=schedule.timezone)]
    assert schedule.interval_delta is not None
    return [Interval(schedule.interval_delta, timezone=schedule.timezone)]


def ensure_work_pool(name: str) -> None:
    """Create the process work pool unless it exists (workers could create it too, but the
    deployments must find it first)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
            return
        except ObjectNotFound:
            pass
        with suppress(ObjectAlreadyExists):  # another machine may create it meanwhile
            client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type="process",
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                    description="newswatch monitor runs; start workers with "
                    f"`prefect worker start --pool {name} --type process`",
                )
            )


def apply_deployments(plans: list[DeploymentPlan], settings: Settings) -> dict[str, UUID]:
    """Create or update each deployment on the work pool; return their ids by name."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.types.entrypoint import EntrypointType

    from flows.flow import monitor

    ensure_work_pool(settings.work_pool)
    ids: dict[str, UUID] = {}
    for plan in plans:
        deployment = monitor.to_deployment(  # sync call: a RunnerDeployment, not a coroutine
            name=plan.name,
            description=plan.description,
            tags=plan.tags,
            parameters=plan.parameters,
            schedules=prefect_schedules(plan.schedule),
            concurrency_limit=ConcurrencyLimitConfig(
                limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE
            ),
            job_variables=job_variables(settings),
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        deployment_id = cast(Any, deployment).apply(work_pool_name=settings.work_pool)
        ids[plan.name] = cast(UUID, deployment_id)
    return ids


def trigger_runs(deployment_ids: dict[str, UUID]) -> dict[str, UUID]:
    """Schedule one run of each deployment now (workers pick them up); return run ids."""
    from prefect.client.orchestration import get_client

    runs: dict[str, UUID] = {}
    with get_client(sync_client=True) as client:
        for name, deployment_id in deployment_ids.items():
            flow_run = client.create_flow_run_from_deployment(deployment_id, tags=["manual"])
            runs[name] = flow_run.id
    return runs
