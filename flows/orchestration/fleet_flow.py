"""The fleet's Prefect flow and deployments: a short tick every minute per shard.

Each shard is one deployment (`newswatch-fleet/shard-I-of-N`) on the process work pool, run
every minute; a tick polls for NEWSWATCH_FLEET_TICK_SECONDS from its scheduled start, a little
longer than the minute, so the next tick's process start-up falls inside this one's last
seconds and polling never pauses. The concurrency limit of two per shard (a third run is
cancelled: a queued tick would only poll late) lets that hand-over overlap and no more; the
two never crawl one source at once, as every source is leased in Postgres (shards.py) before
it is crawled, and any number of workers on any machines share the fleet that way.

What a tick shows in the UI: one table of the sources that had news (a quiet tick shows none,
so a thousand quiet sources make no artifact flood), and the fleet's freshness table (interval,
last news, error streak, alert lag per source), one artifact key updated by every tick.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from flows.config.settings import Settings
from flows.config.sources import load_sources
from flows.orchestration.fleet_tick import TickSummary, run_tick
from flows.store import db
from flows.store.freshness import freshness

FLEET_FLOW_NAME = "newswatch-fleet"
FLEET_ENTRYPOINT = "flows.orchestration.fleet_flow.fleet_tick"
FRESHNESS_KEY = "fleet-freshness"
TICK_SECONDS = 60


@flow(name=FLEET_FLOW_NAME, log_prints=True)
def fleet_tick(
    sources_file: str | None = None,
    shard: int | None = None,
    shards: int | None = None,
    origin: str | None = None,
    scrapy_settings: dict[str, str] | None = None,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """Poll what is due in `shard` (every shard when None) for up to `max_seconds`."""
    logger = get_run_logger()
    settings = Settings()
    if shards is not None:
        settings = settings.model_copy(update={"fleet_shards": shards})
    sources = load_sources(Path(sources_file) if sources_file else settings.sources_file)
    if origin:
        sources = [source.rebased(origin) for source in sources]
    database_url = db.prepare(settings)
    if max_seconds is None:
        max_seconds = tick_seconds_left(settings.fleet_tick_seconds)
    summary = run_tick(
        sources,
        database_url,
        settings,
        shard_ids=None if shard is None else [shard],
        scrapy_settings=scrapy_settings,
        max_seconds=max_seconds,
        log_line=logger.info,
    )
    publish_tick(database_url, summary, [source.name for source in sources])
    if summary.polled and all(line.error for line in summary.polled):
        raise RuntimeError(f"no source could be polled: {summary.polled[0].error}")
    return tick_figures(summary)


def tick_seconds_left(tick_seconds: float) -> float:
    """How long this tick may still poll: `tick_seconds` from its scheduled start, so a tick
    that started late (a busy worker, a slow process start) still ends on time and the next
    one takes over where it stops; at least a few seconds."""
    from prefect.runtime import flow_run

    scheduled = float(flow_run.scheduled_start_time.timestamp())
    return max(tick_seconds - max(time.time() - scheduled, 0.0), 5.0)


def tick_figures(summary: TickSummary) -> dict[str, Any]:
    return {
        "passes": summary.passes,
        "run_ids": summary.run_ids,
        "sources_polled": summary.sources_polled,
        "sources_with_news": len(summary.sources_with_news),
        "source_errors": sum(1 for line in summary.polled if line.error),
        "articles_new": summary.articles_new,
        "alerts_new": summary.alerts_new,
        "emails_sent": summary.emails_sent,
        "errors": summary.errors,
    }


def publish_tick(database_url: str, summary: TickSummary, names: list[str]) -> None:
    """Sources with news this tick, and the fleet's freshness (one key, a new version each tick)."""
    news = [
        {
            "source": line.source,
            "run": str(line.run_id),
            "pages": str(line.pages),
            "new articles": str(line.articles_new),
            "errors": str(line.errors),
            "next poll in": f"{line.next_poll_in:.0f} s" if line.next_poll_in is not None else "",
        }
        for line in summary.sources_with_news
    ]
    if news:
        create_table_artifact(
            key="fleet-sources-with-news",
            table=news,
            description=f"{len(news)} of {summary.sources_polled} polled sources had news",
        )
    with db.connect(database_url) as connection:
        lines = freshness(connection, names)
    stale = sorted(lines, key=lambda line: (-line.error_streak, line.source))
    create_table_artifact(
        key=FRESHNESS_KEY,
        table=[line.as_row() for line in stale[:500]],
        description=f"Freshness of {len(lines)} sources (failing first; first 500)",
    )


# -- deployments --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShardPlan:
    name: str
    parameters: dict[str, Any]


def plan_shards(
    shards: int, sources_file: Path | None = None, origin: str | None = None
) -> list[ShardPlan]:
    plans = []
    for shard in range(shards):
        parameters: dict[str, Any] = {"shard": shard, "shards": shards}
        if sources_file is not None:
            parameters["sources_file"] = str(sources_file.resolve())
        if origin:
            parameters["origin"] = origin
        plans.append(ShardPlan(f"shard-{shard}-of-{shards}", parameters))
    return plans


def apply_shard_deployments(
    plans: list[ShardPlan], settings: Settings, every_seconds: float = TICK_SECONDS
) -> dict[str, UUID]:
    """One deployment per shard on the work pool, a tick every `every_seconds`."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Interval
    from prefect.types.entrypoint import EntrypointType

    from flows.orchestration.deployments import ensure_work_pool

    ensure_work_pool(settings.work_pool)
    ids: dict[str, UUID] = {}
    for plan in plans:
        deployment = fleet_tick.to_deployment(
            name=plan.name,
            description=f"Poll the fleet's due sources ({plan.name}) every {every_seconds:g} s.",
            tags=["newswatch", "fleet"],
            parameters=plan.parameters,
            schedules=[Interval(every_seconds)],
            concurrency_limit=ConcurrencyLimitConfig(
                limit=2, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
            ),
            # No retries: the next tick is a minute away and polls what this one missed.
            job_variables={"env": {"PREFECT_FLOWS_DEFAULT_RETRIES": "0"}},
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        ids[plan.name] = cast(UUID, cast(Any, deployment).apply(work_pool_name=settings.work_pool))
    return ids
