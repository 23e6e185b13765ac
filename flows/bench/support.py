"""What the benchmarks share: a throw-away database, and memory and CPU sampling by process group."""

from __future__ import annotations

import os
import platform
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import psycopg

from flows.config.settings import Settings
from flows.stack.local import free_port, http_ok, terminate_tree
from flows.store import db


@contextmanager
def scratch_database(server_url: str, keep: bool = False) -> Iterator[str]:
    """A new, empty database on the same server, dropped on exit whatever happens (unless
    `keep`); yields its conninfo."""
    name = f"newswatch_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield psycopg.conninfo.make_conninfo(server_url, dbname=name)
    finally:
        if not keep:
            with psycopg.connect(server_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(settings: Settings, keep: bool = False) -> Iterator[str]:
    """A new, migrated database on the configured (or embedded) server, dropped afterwards."""
    with scratch_database(db.database_url(settings), keep) as url:
        db.migrate(url)
        yield url


def postgres_server_pid(database_url: str) -> int | None:
    """The postmaster's pid when the server runs on this machine (a backend's parent), else None."""
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT pg_backend_pid()").fetchone()
        try:  # asked while the backend still exists: it ends with the connection
            return psutil.Process(int(row[0])).ppid() if row else None
        except psutil.Error:
            return None


class PrefectServer:
    """A Prefect API server of its own for a benchmark, as the stack runs one (`newswatch up`).

    A flow run against a server is what production does. Prefect's temporary API instead loads
    the server's modules (SQLAlchemy, FastAPI, ...) into the flow's own process as well: some
    80 MB that no deployed run carries, so a benchmark would mismeasure the flow's memory.
    """

    def __init__(self, home: Path, timeout: float = 180.0) -> None:
        port = free_port("127.0.0.1")
        self.api_url = f"http://127.0.0.1:{port}/api"
        home.mkdir(parents=True, exist_ok=True)
        environment = dict(
            os.environ,
            PREFECT_HOME=str(home),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_ALLOW_EPHEMERAL_MODE="false",
        )
        environment.pop("PREFECT_API_URL", None)
        self._log = (home / "server.log").open("wb")
        argv = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
        self.process = subprocess.Popen(
            [*argv, "--port", str(port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
        deadline = time.monotonic() + timeout
        while not http_ok(f"{self.api_url}/health"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"the Prefect server did not start; see {home / 'server.log'}")
            time.sleep(0.25)

    def close(self) -> None:
        with suppress(psutil.Error):
            terminate_tree(psutil.Process(self.process.pid), timeout=20)
        self.process.wait()
        self._log.close()


def pipeline_part(process: psutil.Process) -> str | None:
    """Which part of the pipeline a descendant of the bench process is, for the CPU breakdown;
    None for a process that has exited but is not reaped yet (its command line reads empty)."""
    if process.pid == os.getpid():
        return "flow"
    command = process.cmdline()
    if not command:
        return None
    if "spiders.run" in command:
        return "crawl"
    joined = " ".join(command)
    if "prefect" in joined and ("worker" in joined or "engine" in joined):
        return "prefect-worker"  # a worker, or a flow run it started (the tick itself)
    return "extraction"


def _descendants(root: int, children: dict[int, list[int]]) -> list[int]:
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def _parent_pids() -> dict[int, int]:
    """pid -> parent pid for every process; /proc read directly on Linux (psutil's process_iter
    costs three times as much, and the sampler's CPU comes out of the pipeline's)."""
    if not os.path.isdir("/proc/self"):
        return {p.pid: p.info["ppid"] for p in psutil.process_iter(["ppid"])}
    parents = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
                fields = stat.read().rpartition(b")")[2].split()
            parents[int(name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    return parents


@dataclass
class ProcessSampler:
    """Samples memory and CPU every `interval` seconds in a thread.

    Memory: the peak of each group. `pipeline`: this process and its descendants except the
    ones `exclude` names (e.g. the Prefect API server, the site being crawled), which are
    measured as their own groups; the Postgres server (postmaster and its children) is a group
    when its pid is known.
    CPU: seconds used since `mark_cpu()`, per pipeline part (flow, crawl, extraction) and per
    other group. A process that ends between two samples loses at most one interval's CPU.
    The sampler's own CPU is reported apart (`sampler`): one process-table read per sample,
    so it stays a small share of one core. PSS (the kernel sums each process's mappings for it,
    several times the cost of RSS) is read every `pss_every`-th sample only.
    """

    exclude: Callable[[psutil.Process], str | None]
    postgres_pid: int | None = None
    interval: float = 0.2
    pss_every: int = 5
    peaks_mb: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _cpu_lock: threading.Lock = field(default_factory=threading.Lock)
    # (pid, create time) -> [group, CPU seconds at mark_cpu() (0 when born after it), last seen]
    _cpu: dict[tuple[int, float], list[Any]] = field(default_factory=dict)
    _known_at_mark: set[tuple[int, float]] | None = None
    # The sampler thread's CPU since mark_cpu(), counted apart from the flow's.
    _own_cpu: float = 0.0
    _processes: dict[int, psutil.Process] = field(default_factory=dict)
    _samples: int = 0

    def _table(self) -> dict[int, list[int]]:
        """pid -> child pids, from one pass over the process table. Process objects are kept
        between samples: psutil caches what it read of them (create time, for one)."""
        children: dict[int, list[int]] = {}
        for pid, ppid in _parent_pids().items():
            children.setdefault(ppid, []).append(pid)
        live: dict[int, psutil.Process] = {}
        for pid in [p for kids in children.values() for p in kids]:
            known = self._processes.get(pid)
            if known is not None:
                live[pid] = known
            else:
                with suppress(psutil.Error):
                    live[pid] = psutil.Process(pid)
        self._processes = live
        return children

    def _group(self, pid: int, classify: Callable[[psutil.Process], str | None]) -> str | None:
        # Not cached: between fork and exec a child still shows its parent's command line.
        return classify(self._processes[pid])

    def _measure(self, pids: list[int], group: str | None, pss: bool = False) -> tuple[int, int]:
        """(RSS, PSS) summed over `pids`, noting each one's CPU under `group`."""
        rss = pss_total = 0
        for pid in pids:
            process = self._processes.get(pid)
            if process is None:
                continue
            try:
                self._note_cpu(process, group)
                rss += process.memory_info().rss
                if pss:
                    # PSS counts a page shared by n processes (forked workers) as 1/n in each.
                    pss_total += getattr(process.memory_full_info(), "pss", 0)
            except psutil.Error:
                continue
        return rss, pss_total

    def sample(self) -> dict[str, int]:
        children = self._table()
        with_pss = self._samples % self.pss_every == 0
        self._samples += 1
        me = os.getpid()
        groups: dict[str, int] = {"pipeline": 0, "pipeline_pss": 0}
        pipeline: list[int] = [me]
        stack = list(children.get(me, ()))
        while stack:
            pid = stack.pop()
            try:
                group = self._group(pid, self.exclude)
            except (psutil.Error, KeyError):
                continue
            if group is None:
                pipeline.append(pid)
                stack.extend(children.get(pid, ()))
            else:
                rss, _ = self._measure(_descendants(pid, children), group)
                groups[group] = groups.get(group, 0) + rss
        for pid in pipeline:
            try:
                part = self._group(pid, pipeline_part)
            except (psutil.Error, KeyError):
                continue
            rss, pss = self._measure([pid], part, pss=with_pss)
            groups["pipeline"] += rss
            groups["pipeline_pss"] += pss
        if self.postgres_pid is not None and self.postgres_pid in self._processes:
            groups["postgres"], _ = self._measure(
                _descendants(self.postgres_pid, children), "postgres"
            )
        return groups

    def _note_cpu(self, process: psutil.Process, group: str | None) -> None:
        """Note a process's CPU so far; `group` None keeps the group it had (a process that
        has exited no longer shows what it was)."""
        try:
            times = process.cpu_times()
            key = (process.pid, process.create_time())
        except psutil.Error:
            return
        used = times.user + times.system
        with self._cpu_lock:
            entry = self._cpu.get(key)
            if entry is None:
                # A process first seen after mark_cpu() was born after it: all its CPU counts.
                born_after_mark = self._known_at_mark is not None and key not in self._known_at_mark
                self._cpu[key] = [group or "extraction", 0.0 if born_after_mark else used, used]
            else:
                entry[0], entry[2] = group or entry[0], used

    def mark_cpu(self) -> None:
        """Start counting CPU from now."""
        self.sample()
        with self._cpu_lock:
            self._known_at_mark = set(self._cpu)
            for entry in self._cpu.values():
                entry[1] = entry[2]
            self._own_cpu = 0.0

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds per group since `mark_cpu()`, up to now."""
        self.sample()
        totals: dict[str, float] = {}
        with self._cpu_lock:
            for group, at_mark, last in self._cpu.values():
                totals[group] = totals.get(group, 0.0) + max(0.0, last - at_mark)
            if "flow" in totals:
                totals["flow"] = max(0.0, totals["flow"] - self._own_cpu)
            totals["sampler"] = self._own_cpu
        return {group: round(seconds, 2) for group, seconds in sorted(totals.items())}

    def _run(self) -> None:
        while not self._stop.is_set():
            cpu_before = time.thread_time()
            for group, rss in self.sample().items():
                mb = rss / 2**20
                if mb > self.peaks_mb.get(group, 0.0):
                    self.peaks_mb[group] = mb
            with self._cpu_lock:
                self._own_cpu += time.thread_time() - cpu_before
            self._stop.wait(self.interval)

    def __enter__(self) -> ProcessSampler:
        self._thread = threading.Thread(target=self._run, name="process-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def machine_description() -> dict[str, object]:
    """The machine the figures come from, for the report."""
    load = psutil.getloadavg()
    return {
        "cpus": psutil.cpu_count(logical=True),
        "cpu_model": _cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1_5_15": [round(value, 2) for value in load],
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
