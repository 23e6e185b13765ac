"""`newswatch bench fleet`: N simulated publishers, the real stack, time from publication to alert.

Each publisher is its own host on loopback (flows/testsite/fleet.py) with a feed, a listing or a
listing plus a news sitemap, all honouring conditional requests, publishing at random times (most
a few stories a day, a few dozens an hour); a watch matches a known share of stories. The real
stack runs: a Prefect server of its own, W process workers on one work pool, one tick deployment
per shard every minute, the shared Postgres, and an SMTP server that timestamps every message it
accepts. Each publisher has a small backlog; once every source's first crawl is done (the
warm-up, reported apart), publishing starts and runs for M minutes, then a grace period lets
the last stories through. The figures are of that steady state.

The same run is then repeated with the fixed-interval policy, its interval chosen to spend on
polls what the adaptive policy spent on polls in its measured time (requests less story pages
and robots.txt, the same under both), on the same publishing plan (same seed, replayed from
its own start). Figures per policy: time_to_alert p50/p95/max (publication on the site to
the e-mail accepted by the sink), stories_published, stories_alerted, missed, duplicates,
requests_per_source_hour, cpu_share (CPU of the workers, flow runs, crawl children and
extraction workers over the wall time of all cores; the Prefect server is added in
cpu_share_with_prefect_server; the Postgres server and the simulated sites are not counted), peak_rss_mb (of the same processes).
"""

from __future__ import annotations

import argparse
import contextlib
import email
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from flows.config.settings import Settings
from flows.testsite.fleet import MATCH_WORD, FleetSite, Publisher, fleet_sources, plan_fleet

RECIPIENT = "reader@example.com"


def register(commands: Any, bench_commands: Any) -> None:
    bench = bench_commands.add_parser(
        "fleet",
        help="N simulated publishers on loopback, the real stack: time from publication to alert",
    )
    bench.add_argument("--sources", type=int, default=1000, metavar="N")
    bench.add_argument("--minutes", type=float, default=20.0, metavar="M")
    bench.add_argument("--workers", type=int, default=1, metavar="W")
    bench.add_argument("--shards", type=int, default=None, help="default: the workers' number")
    bench.add_argument("--grace", type=float, default=3.0, metavar="MIN", help="after publishing")
    bench.add_argument("--seed", type=int, default=14)
    bench.add_argument("--policy", choices=("both", "adaptive", "fixed"), default="both")
    bench.add_argument(
        "--fixed-seconds",
        type=float,
        help="fixed policy's interval (default: spend what the adaptive policy spent)",
    )
    bench.add_argument(
        "--budget",
        type=float,
        default=None,
        metavar="REQUESTS",
        help="the adaptive policy's requests per source-hour (default NEWSWATCH_POLL_BUDGET)",
    )
    bench.add_argument(
        "--warm-up",
        type=float,
        default=20.0,
        metavar="MIN",
        help="longest wait for every source's first crawl before publishing starts",
    )
    bench.add_argument("--json", type=Path, metavar="FILE", help="write the figures here")
    bench.set_defaults(handler=_bench_command)


def _bench_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.bench.support import machine_description

    figures: dict[str, Any] = {
        "command": "newswatch bench fleet " + " ".join(sys.argv[3:]),
        "machine": machine_description(),
        "sources": args.sources,
        "minutes": args.minutes,
        "workers": args.workers,
    }
    shards = args.shards or args.workers
    adaptive: dict[str, Any] | None = None
    if args.policy in ("both", "adaptive"):
        adaptive = run_phase(settings, args, shards, "adaptive", None)
        figures["adaptive"] = adaptive
        _print("adaptive", adaptive)
        _write(args.json, figures)
    if args.policy in ("both", "fixed"):
        interval = args.fixed_seconds or (fixed_interval_for(adaptive) if adaptive else 300.0)
        fixed = run_phase(settings, args, shards, "fixed", interval)
        fixed["interval_seconds"] = round(interval, 1)
        figures["fixed"] = fixed
        _print(f"fixed ({interval:.0f} s)", fixed)
    _write(args.json, figures)
    if args.json:
        print(f"figures written to {args.json}")
    return 0


def _write(path: Path | None, figures: dict[str, Any]) -> None:
    """After each policy's run, so a failure in the second keeps the first's figures."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(figures, indent=1), encoding="utf-8")


def fixed_interval_for(adaptive: dict[str, Any]) -> float:
    """The fixed interval that spends what the adaptive policy spent on polls (its requests
    less story pages and robots.txt, which are the same under both): every entry point polled
    once an interval over the same measured time."""
    poll_requests = max(int(adaptive["poll_requests"]), 1)
    return float(adaptive["wall_seconds"]) * int(adaptive["entry_points"]) / poll_requests


def _print(label: str, figures: dict[str, Any]) -> None:
    keys = (
        "time_to_alert_p50",
        "time_to_alert_p95",
        "time_to_alert_max",
        "stories_published",
        "matching_published",
        "stories_alerted",
        "missed",
        "duplicates",
        "requests_per_source_hour",
        "cpu_share",
        "peak_rss_mb",
    )
    print(f"{label}: " + ", ".join(f"{key} {figures.get(key)}" for key in keys))


class _Sink:
    """An SMTP server (aiosmtpd) that notes when it accepted each message."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        from flows.stack.local import free_port

        self.accepted: list[tuple[float, bytes]] = []
        self.port = free_port("127.0.0.1")
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.accepted.append((time.time(), bytes(envelope.original_content)))
        return "250 OK"


@dataclass
class _Stack:
    api_url: str
    workers: list[subprocess.Popen[bytes]]


def run_phase(
    settings: Settings, args: argparse.Namespace, shards: int, policy: str, fixed: float | None
) -> dict[str, Any]:
    """One policy's run on a fresh database and a fresh Prefect server; its figures."""
    from flows.bench.support import PrefectServer, ProcessSampler, fresh_database

    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nw-fleet-")))
        database_url = stack.enter_context(fresh_database(settings))
        sink = _Sink()
        sink.controller.start()
        stack.callback(sink.controller.stop)
        server = PrefectServer(scratch / "prefect", timeout=600.0)  # slow on a loaded machine
        stack.callback(server.close)
        # Planned an hour ahead, then moved to start once every source's first crawl is done:
        # the figures are the steady state, the first crawl (each publisher's backlog) apart.
        planned = time.time() + 3600
        publishers = plan_fleet(
            args.sources, planned, args.minutes, seed=args.seed, backlog_before=time.time()
        )
        site = FleetSite(publishers).start()
        stack.callback(site.stop)
        sources = fleet_sources(publishers, site.port)
        sources_file = scratch / "sources.toml"
        from flows.testsite.fleet import sources_toml

        sources_file.write_text(sources_toml(sources), encoding="utf-8")
        from flows.match.watches import add_watch
        from flows.store import db

        with db.connect(database_url) as connection:
            add_watch(connection, "fleet-bench", MATCH_WORD, [RECIPIENT])
        environment = _environment(
            server.api_url, database_url, sources_file, sink, policy, fixed, args.budget
        )
        environment["NEWSWATCH_FLEET_SHARDS"] = str(shards)
        _deploy(environment, shards, sources_file)
        sampler = stack.enter_context(ProcessSampler(exclude=_excluded, interval=1.0))
        warm_up_began = time.monotonic()
        workers = [_worker(environment, index, scratch) for index in range(args.workers)]
        stack.callback(_stop_workers, workers, server.api_url)
        _wait_for_first_crawls(database_url, len(sources), workers, timeout=args.warm_up * 60)
        warm_up = {
            "seconds": round(time.monotonic() - warm_up_began, 1),
            "requests": sum(site.requests.values()),
            "article_requests": sum(site.article_requests.values()),
        }
        start = time.time() + 5
        for publisher in publishers:
            publisher.postpone(planned - 1, start - planned)
        time.sleep(max(start - time.time(), 0))
        sampler.mark_cpu()
        with site.lock:
            site.requests.clear()
            site.article_requests.clear()
            site.robots_requests.clear()
        began = time.monotonic()
        time.sleep(args.minutes * 60)
        end_of_publishing = time.time()
        deadline = time.monotonic() + args.grace * 60
        matching = _matching(publishers, start, end_of_publishing)
        while time.monotonic() < deadline and len(_alerted(sink, site, matching)) < len(matching):
            time.sleep(5)
        wall = time.monotonic() - began
        cpu = sampler.cpu_seconds()
        peaks = dict(sampler.peaks_mb)
        requests = sum(site.requests.values())
        article_requests = sum(site.article_requests.values())
        robots_requests = sum(site.robots_requests.values())
        _stop_workers(workers, server.api_url)
        with db.connect(database_url) as connection:
            polls = connection.execute(
                "SELECT coalesce(sum(polls), 0) AS n FROM entry_polls"
            ).fetchone()
            entry_points = connection.execute("SELECT count(*) AS n FROM entry_polls").fetchone()
        figures = _figures(publishers, site, sink, matching, start, end_of_publishing)
        # The bench process itself ("flow": it serves the simulated sites and the SMTP sink)
        # and the sampler are not the monitor; the Prefect server is counted apart.
        monitor_cpu = sum(
            v for k, v in cpu.items() if k not in ("flow", "sampler", "prefect-server")
        )
        cores = psutil.cpu_count() or 1
        poll_requests = requests - article_requests - robots_requests
        figures.update(
            {
                "policy": policy,
                "warm_up": warm_up,
                "wall_seconds": round(wall, 1),
                "requests": requests,
                "article_requests": article_requests,
                "robots_requests": robots_requests,
                "poll_requests": poll_requests,
                "entry_points": int(entry_points["n"]) if entry_points else 0,
                "requests_per_source_hour": round(requests / args.sources / (wall / 3600), 1),
                "entry_polls_total": int(polls["n"]) if polls else 0,
                "cpu_seconds": cpu,
                "cpu_share": round(monitor_cpu / (wall * cores), 3),
                "cpu_share_with_prefect_server": round(
                    (monitor_cpu + cpu.get("prefect-server", 0.0)) / (wall * cores), 3
                ),
                "peak_rss_mb": round(peaks.get("pipeline", 0.0), 1),
                "prefect_server_peak_rss_mb": round(peaks.get("prefect-server", 0.0), 1),
                "load_average_at_end": [round(v, 2) for v in psutil.getloadavg()],
            }
        )
        return figures


def _excluded(process: psutil.Process) -> str | None:
    command = " ".join(process.cmdline())
    if "prefect server start" in command or "prefect.server" in command:
        return "prefect-server"
    return None


def _environment(
    api_url: str,
    database_url: str,
    sources_file: Path,
    sink: _Sink,
    policy: str,
    fixed: float | None,
    budget: float | None,
) -> dict[str, str]:
    environment = dict(
        os.environ,
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="5",
        PREFECT_WORKER_PREFETCH_SECONDS="5",
        DATABASE_URL=database_url,
        NEWSWATCH_SOURCES_FILE=str(sources_file),
        NEWSWATCH_SMTP_HOST="127.0.0.1",
        NEWSWATCH_SMTP_PORT=str(sink.port),
        NEWSWATCH_SMTP_SECURITY="none",
        NEWSWATCH_POLL_POLICY=policy,
        NEWSWATCH_EXTRACT_WORKERS="2",
    )
    if budget:
        environment["NEWSWATCH_POLL_BUDGET"] = f"{budget:g}"
    if fixed:
        environment["NEWSWATCH_POLL_FIXED_SECONDS"] = f"{fixed:g}"
    return environment


def _deploy(environment: dict[str, str], shards: int, sources_file: Path) -> None:
    command = [sys.executable, "-m", "flows.cli", "fleet", "deploy", "--shards", str(shards)]
    command += ["--sources", str(sources_file)]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"deploying the fleet failed:\n{done.stderr[-2000:]}")


def _wait_for_first_crawls(
    database_url: str, sources: int, workers: list[subprocess.Popen[bytes]], timeout: float
) -> None:
    """Until every source has been polled once without an error (its backlog crawled), or
    raise."""
    from flows.store import db

    deadline = time.monotonic() + timeout
    while True:
        with db.connect(database_url) as connection:
            row = connection.execute(
                "SELECT count(*) AS n FROM source_polls WHERE polls > 0 AND error_streak = 0"
            ).fetchone()
        polled = int(row["n"]) if row else 0
        if polled >= sources:
            return
        if any(worker.poll() is not None for worker in workers):
            raise RuntimeError("a worker exited during the warm-up")
        if time.monotonic() > deadline:
            raise RuntimeError(f"warm-up: only {polled} of {sources} sources polled in time")
        time.sleep(2)


def _worker(environment: dict[str, str], index: int, scratch: Path) -> subprocess.Popen[bytes]:
    pool = Settings().work_pool
    log = (scratch / f"worker-{index}.log").open("wb")
    command = [sys.executable, "-m", "prefect", "worker", "start", "--type", "process"]
    command += ["--pool", pool, "--name", f"fleet-bench-{index}"]
    return subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)


def _stop_workers(workers: list[subprocess.Popen[bytes]], api_url: str) -> None:
    """Stop the workers, their flow runs, and flow runs they started as they were stopped.

    A process worker starts each flow run in a session of its own; one started while the worker
    was being stopped is in no snapshot of its children and outlived the bench by minutes. Such
    runs (`python -m prefect.engine`) are found by the bench's API address in their environment.
    """
    from flows.stack.local import terminate_tree

    for worker in workers:
        if worker.poll() is None:
            with contextlib.suppress(psutil.Error):
                terminate_tree(psutil.Process(worker.pid), timeout=20)
        worker.wait()
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if "prefect.engine" in process.cmdline() and (
                process.environ().get("PREFECT_API_URL") == api_url
            ):
                terminate_tree(process, timeout=20)


def _matching(publishers: list[Publisher], start: float, end: float) -> dict[str, float]:
    """Story path on its host -> publication time, for matching stories published in the run."""
    found = {}
    for publisher in publishers:
        for story in publisher.stories:
            if story.matching and start <= story.published_at <= end:
                found[f"{publisher.host}{story.path}"] = story.published_at
    return found


_URL = re.compile(rb"https?://(127\.[0-9.]+):\d+(/news/\d+\.html)")


def _alerts_in(raw: bytes) -> set[str]:
    message = email.message_from_bytes(raw)
    found: set[str] = set()
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            found |= {(host + path).decode() for host, path in _URL.findall(payload)}
    return found


def _alerted(sink: _Sink, site: FleetSite, matching: dict[str, float]) -> dict[str, list[float]]:
    """Matching story -> when each e-mail carrying it was accepted."""
    seen: dict[str, list[float]] = {}
    for accepted_at, raw in list(sink.accepted):
        for story in _alerts_in(raw):
            if story in matching:
                seen.setdefault(story, []).append(accepted_at)
    return seen


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(round(share * (len(ordered) - 1)), len(ordered) - 1)
    return round(ordered[index], 1)


def _figures(
    publishers: list[Publisher],
    site: FleetSite,
    sink: _Sink,
    matching: dict[str, float],
    start: float,
    end: float,
) -> dict[str, Any]:
    alerted = _alerted(sink, site, matching)
    lags = [min(times) - matching[story] for story, times in alerted.items()]
    published = sum(1 for p in publishers for s in p.stories if start <= s.published_at <= end)
    return {
        "time_to_alert_p50": _percentile(lags, 0.5),
        "time_to_alert_p95": _percentile(lags, 0.95),
        "time_to_alert_max": round(max(lags), 1) if lags else None,
        "stories_published": published,
        "matching_published": len(matching),
        "stories_alerted": len(alerted),
        "missed": len(matching) - len(alerted),
        "duplicates": sum(len(times) - 1 for times in alerted.values()),
        "emails": len(sink.accepted),
    }
