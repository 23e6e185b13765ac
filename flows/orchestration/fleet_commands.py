"""`newswatch sources` (freshness per source) and `newswatch fleet tick | deploy`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from flows.config.settings import Settings


def register(commands: Any, bench_commands: Any) -> None:
    sources = commands.add_parser(
        "sources",
        help="how fresh each source is: poll interval, last news, error streak, alert lag",
        description="One line per polled source of the fleet: its current poll interval (its "
        "fastest entry point's), next and last poll, when it last had news, its error streak "
        "and the lag from publication to alert e-mail (p50/p95, last 7 days).",
    )
    sources.add_argument("--source", action="append", dest="source_names", metavar="NAME")
    sources.add_argument("--days", type=float, default=7.0, help="lag window (default 7 days)")
    sources.add_argument("--json", type=Path, metavar="FILE", help="also write the lines here")
    sources.set_defaults(handler=_sources_command)

    fleet = commands.add_parser("fleet", help="poll the fleet: one tick now, or deploy ticks")
    actions = fleet.add_subparsers(dest="fleet_command", required=True, metavar="ACTION")
    tick = actions.add_parser(
        "tick", help="poll what is due now, in this process, for up to --seconds (no Prefect)"
    )
    tick.add_argument("--sources", type=Path, metavar="FILE", help="sources file (TOML)")
    tick.add_argument("--shard", type=int, help="only this shard (default: all)")
    tick.add_argument("--shards", type=int, help="how many shards (NEWSWATCH_FLEET_SHARDS)")
    tick.add_argument("--seconds", type=float, help="how long to poll (default 75)")
    tick.add_argument("--json", type=Path, metavar="FILE", help="write the tick's figures here")
    tick.set_defaults(handler=_tick_command)
    deploy = actions.add_parser(
        "deploy",
        help="one deployment per shard, a tick every minute (needs PREFECT_API_URL)",
        description="Create or update one Prefect deployment per shard on the process work "
        "pool NEWSWATCH_WORK_POOL, each run every minute with a concurrency limit of one. "
        "Workers on any machine share the fleet: prefect worker start --pool newswatch",
    )
    deploy.add_argument("--sources", type=Path, metavar="FILE", help="sources file (TOML)")
    deploy.add_argument("--shards", type=int, help="how many shards (NEWSWATCH_FLEET_SHARDS)")
    deploy.add_argument("--every", type=float, default=60.0, metavar="SECONDS")
    deploy.set_defaults(handler=_deploy_command)


def _sources_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.store import db
    from flows.store.freshness import freshness

    with db.connect(db.prepare(settings)) as connection:
        lines = freshness(connection, args.source_names, args.days)
    if not lines:
        print("no source polled yet: run `newswatch fleet tick` or deploy the fleet")
        return 0
    columns = ("source", "interval", "last news", "error streak", "alert lag p50", "alert lag p95")
    rows = [line.as_row() for line in lines]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(row[c].ljust(widths[c]) for c in columns))
        if row["last error"] and row["error streak"] != "0":
            print(f"    last error: {row['last error']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    return 0


def _tick_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.config.sources import load_sources
    from flows.orchestration.fleet_flow import tick_figures
    from flows.orchestration.fleet_tick import run_tick
    from flows.store import db

    if args.shards:
        settings = settings.model_copy(update={"fleet_shards": args.shards})
    sources = load_sources(args.sources or settings.sources_file)
    summary = run_tick(
        sources,
        db.prepare(settings),
        settings,
        shard_ids=None if args.shard is None else [args.shard],
        max_seconds=args.seconds,
    )
    figures = tick_figures(summary)
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return 1 if summary.polled and all(line.error for line in summary.polled) else 0


def _deploy_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.orchestration.fleet_flow import apply_shard_deployments, plan_shards

    shards = args.shards or settings.fleet_shards
    plans = plan_shards(shards, args.sources)
    ids = apply_shard_deployments(plans, settings, args.every)
    for name in ids:
        print(f"deployed newswatch-fleet/{name} (every {args.every:g} s, one at a time)")
    return 0
