"""`newswatch up | down | status | deploy`: the orchestrated deployment from the command line."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from flows.config.settings import Settings


def register(commands: Any, bench_commands: Any) -> None:
    up = commands.add_parser(
        "up",
        help="start a local Prefect server + UI, register deployments, start worker(s)",
        description="Start the local stack in the background and return once the API answers. "
        "Logs and pid files go to <data dir>/stack; `newswatch down` stops all of it.",
    )
    up.add_argument(
        "--demo",
        action="store_true",
        help="also serve the Daily8-shaped test site, monitor it, and run it once now",
    )
    up.add_argument("--workers", type=int, metavar="N", help="workers to start (default 1)")
    up.add_argument(
        "--worker-limit", type=int, metavar="N", help="runs each worker takes at a time"
    )
    up.set_defaults(handler=_up_command)

    down = commands.add_parser("down", help="stop everything `newswatch up` started")
    down.set_defaults(handler=_down_command)

    status = commands.add_parser("status", help="say which stack processes run")
    status.set_defaults(handler=_status_command)

    deploy = commands.add_parser(
        "deploy",
        help="register one deployment per source on the work pool (needs PREFECT_API_URL)",
        description="Create or update one Prefect deployment per source of the sources file, "
        "with the source's schedule and a concurrency limit of 1, on the process work pool "
        "NEWSWATCH_WORK_POOL. Workers anywhere run them: "
        "prefect worker start --pool newswatch --type process",
    )
    deploy.add_argument("--sources", type=Path, metavar="FILE", help="sources file (TOML)")
    deploy.add_argument("--source", action="append", dest="source_names", metavar="NAME")
    deploy.add_argument(
        "--demo-origin",
        metavar="URL",
        help="deploy the demo source served from this test-site URL (and the demo watches)",
    )
    deploy.add_argument("--run-now", action="store_true", help="also start one run of each now")
    deploy.set_defaults(handler=_deploy_command)


def _up_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.stack.local import StackError, up

    try:
        info = up(settings, demo=args.demo, workers=args.workers, worker_limit=args.worker_limit)
    except StackError as exc:
        print(f"newswatch: error: {exc}")
        return 1
    print("\nnewswatch stack is up")
    print(f"  Prefect UI        {info.ui_url}")
    print(f"  Prefect API       {info.api_url}")
    if info.web_url:
        print(
            f"  web app           {info.web_url}  (editors: newswatch user add NAME --email ADDR)"
        )
    print(f"  Prefect database  {info.prefect_database}")
    for name, pid in info.processes.items():
        print(f"  {name:17} pid {pid}")
    if info.demo_site_url:
        print(f"  demo site         {info.demo_site_url}/en")
    for line in info.deployments:
        print(f"  {line}")
    print(f"  logs              {info.logs_dir}")
    print(f"\nOpen {info.ui_url} ; stop with: newswatch down")
    return 0


def _down_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.stack.local import down

    stopped = down(settings)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
    return 0


def _status_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.stack.local import http_ok, status

    entries = status(settings)
    stack = [entry for entry in entries if entry.name != "embedded-postgres"]
    for entry in entries:
        if entry.name == "embedded-postgres":
            print(f"{entry.name:16} pid {entry.pid:<8} {'running':12} data {entry.log.parent}")
    if not stack:
        print("the stack is not running (start it with: newswatch up)")
        if entries:
            print(
                "the embedded PostgreSQL keeps running between commands; stop it with: newswatch down"
            )
        return 1
    for entry in stack:
        state = "running" if entry.running else "NOT running"
        print(f"{entry.name:16} pid {entry.pid:<8} {state:12} log {entry.log}")
    healthy = http_ok(f"{settings.prefect_api_url}/health")
    print(f"Prefect API {settings.prefect_api_url}: {'healthy' if healthy else 'not answering'}")
    return 0 if healthy and all(entry.running for entry in stack) else 1


def _deploy_command(args: argparse.Namespace, settings: Settings) -> int:
    if not os.environ.get("PREFECT_API_URL"):
        raise ValueError("set PREFECT_API_URL to the Prefect server's API (e.g. from `up`)")
    from flows.orchestration.prefect_env import configure_prefect_environment

    configure_prefect_environment(settings)
    from flows.config.sources import load_sources
    from flows.orchestration.deployments import apply_deployments, plan_deployments, trigger_runs

    if args.demo_origin:
        from flows.demo import DEMO_SCRAPY_SETTINGS, DEMO_SOURCE, ensure_demo_watches

        ensure_demo_watches(settings)
        sources = load_sources(settings.sources_file, [DEMO_SOURCE])
        plans = plan_deployments(
            sources, origin=args.demo_origin, scrapy_settings=DEMO_SCRAPY_SETTINGS
        )
    else:
        sources = load_sources(args.sources or settings.sources_file, args.source_names)
        plans = plan_deployments(sources, sources_file=args.sources)
    ids = apply_deployments(plans, settings)
    for plan in plans:
        when = plan.schedule.describe() if plan.schedule else "no schedule"
        print(f"deployment {plan.full_name} ({when}, one run at a time)")
    from flows.orchestration.automations import AUTOMATION_NAME, apply_failure_automation

    apply_failure_automation(settings)
    print(f"automation {AUTOMATION_NAME!r} (e-mails the admin)")
    if args.run_now:
        for name, run_id in trigger_runs(ids).items():
            print(f"started a run of {name}: {run_id}")
    return 0
