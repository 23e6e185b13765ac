"""What the benchmarks share: a throw-away database, and memory sampling by process group."""

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

import psutil
import psycopg

from flows import db
from flows.settings import Settings
from flows.stack import free_port, http_ok, terminate_tree


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


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


@dataclass
class RssSampler:
    """Samples resident memory every `interval` seconds in a thread; keeps the peak of each group.

    `pipeline`: this process and its descendants except the ones `exclude` names (e.g. the
    Prefect API server, the site being crawled), which are measured as their own groups; the
    Postgres server (postmaster and its children) is a group when its pid is known.
    """

    exclude: Callable[[psutil.Process], str | None]
    postgres_pid: int | None = None
    interval: float = 0.1
    peaks_mb: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> dict[str, int]:
        me = psutil.Process()
        groups: dict[str, int] = {"pipeline": 0}
        skipped: set[int] = set()
        for child in me.children(recursive=True):
            try:
                group = self.exclude(child)
            except psutil.Error:
                continue
            if group is not None:
                groups[group] = groups.get(group, 0) + _tree_rss(child)
                skipped.update(p.pid for p in [child, *child.children(recursive=True)])
        groups["pipeline_pss"] = 0
        for process in [me, *me.children(recursive=True)]:
            if process.pid in skipped:
                continue
            try:
                groups["pipeline"] += process.memory_info().rss
                # PSS counts a page shared by n processes (forked workers) as 1/n in each.
                groups["pipeline_pss"] += getattr(process.memory_full_info(), "pss", 0)
            except psutil.Error:
                continue
        if self.postgres_pid is not None:
            with suppress(psutil.Error):
                groups["postgres"] = _tree_rss(psutil.Process(self.postgres_pid))
        return groups

    def _run(self) -> None:
        while not self._stop.is_set():
            for group, rss in self.sample().items():
                mb = rss / 2**20
                if mb > self.peaks_mb.get(group, 0.0):
                    self.peaks_mb[group] = mb
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
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
