"""The local stack without Docker: a Prefect server with its UI, worker(s) on a process pool,
and with --demo the Daily8-shaped test site, as background processes of the data directory.

State lives in <data_dir>/stack: one JSON pid file per process (pid + start time, so a reused
pid is never mistaken for ours) and one log file each. `down` stops every process and all its
descendants (flow runs start in their own sessions, crawls are their children), then the
embedded Postgres when the stack started it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from flows.config.settings import Settings
from flows.stack.prefect_database import prefect_database_url
from flows.store import db

SERVER = "prefect-server"
DEMO_SITE = "demo-site"
WEB = "web"
EMBEDDED_MARKER = "embedded-postgres.json"


class StackError(RuntimeError):
    """The stack could not start or stop; the message says which part and where its log is."""


@dataclass
class StackInfo:
    ui_url: str
    api_url: str
    prefect_database: str
    processes: dict[str, int] = field(default_factory=dict)
    demo_site_url: str | None = None
    web_url: str | None = None
    deployments: list[str] = field(default_factory=list)
    logs_dir: Path | None = None


@dataclass(frozen=True)
class ProcessStatus:
    name: str
    pid: int
    running: bool
    log: Path


def _logs_dir(settings: Settings) -> Path:
    return settings.stack_dir / "logs"


def _pid_file(settings: Settings, name: str) -> Path:
    return settings.stack_dir / f"{name}.pid.json"


def _live_process(record: dict[str, float]) -> psutil.Process | None:
    """The recorded process if it still runs (same pid *and* same start time)."""
    try:
        process = psutil.Process(int(record["pid"]))
        if abs(process.create_time() - float(record["create_time"])) > 1.0:
            return None
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process
    except (psutil.NoSuchProcess, psutil.AccessDenied, KeyError, ValueError):
        return None


def _read_records(settings: Settings) -> dict[str, dict[str, float]]:
    records = {}
    for path in sorted(settings.stack_dir.glob("*.pid.json")):
        try:
            records[path.name.removesuffix(".pid.json")] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            path.unlink(missing_ok=True)
    return records


EMBEDDED_POSTGRES = "embedded-postgres"


def embedded_postgres_pid(pgdata: Path) -> int | None:
    """The pid of the embedded server running on `pgdata` (whoever started it: `up`, `demo`,
    `run` or a bench, which leave it running for the next command), else None."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0])
        if "postgres" in psutil.Process(pid).name():
            return pid
    except (OSError, ValueError, IndexError, psutil.Error):
        pass
    return None


def status(settings: Settings) -> list[ProcessStatus]:
    entries = [
        ProcessStatus(
            name, int(record["pid"]), _live_process(record) is not None, _log(settings, name)
        )
        for name, record in _read_records(settings).items()
    ]
    pid = embedded_postgres_pid(settings.embedded_pgdata)
    if pid is not None:
        entries.append(
            ProcessStatus(EMBEDDED_POSTGRES, pid, True, settings.embedded_pgdata / "log")
        )
    return entries


def _log(settings: Settings, name: str) -> Path:
    return _logs_dir(settings) / f"{name}.log"


def _spawn(settings: Settings, name: str, argv: list[str], env: dict[str, str]) -> int:
    """Start a detached process (own session: Ctrl-C in the terminal does not reach it)."""
    log_path = _log(settings, name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        log_file.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
        log_file.flush()
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=settings.stack_dir,
            start_new_session=True,
        )
    record = {"pid": process.pid, "create_time": psutil.Process(process.pid).create_time()}
    _pid_file(settings, name).write_text(json.dumps(record))
    return process.pid


def _auth_header() -> dict[str, str]:
    auth = os.environ.get("PREFECT_API_AUTH_STRING")
    if not auth:
        return {}
    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}


def http_ok(url: str, headers: dict[str, str] | None = None) -> bool:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def _wait_until(
    check: Callable[[], bool], timeout: float, name: str, pid: int, settings: Settings
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            raise StackError(f"{name} exited during start-up; see {_log(settings, name)}")
        time.sleep(1.0)
    raise StackError(f"{name} not ready after {timeout:.0f} s; see {_log(settings, name)}")


def _port_free(host: str, port: int) -> bool:
    """Whether a server could listen on the port now. SO_REUSEADDR, as the servers we start set
    it: connections of a stopped server in TIME-WAIT do not make the port taken."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def base_environment(settings: Settings, database_url: str) -> dict[str, str]:
    """What every stack process shares: the resolved settings and the Prefect API."""
    env = dict(os.environ)
    env.update(
        {
            "NEWSWATCH_DATA_DIR": str(settings.data_dir.resolve()),
            "NEWSWATCH_SOURCES_FILE": str(settings.sources_file.resolve()),
            "DATABASE_URL": database_url,
            "PREFECT_API_URL": settings.prefect_api_url,
            "PREFECT_HOME": str((settings.data_dir / "prefect").resolve()),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("NEWSWATCH_DATABASE_URL", None)
    return env


def up(
    settings: Settings,
    demo: bool = False,
    workers: int | None = None,
    worker_limit: int | None = None,
    say: Callable[[str], None] = print,
) -> StackInfo:
    """Start everything, register the deployments, return once the API answers."""
    running = [
        entry.name
        for entry in status(settings)
        if entry.running and entry.name != EMBEDDED_POSTGRES
    ]
    if running:
        raise StackError(
            f"the stack is already running ({', '.join(running)}); `newswatch down` first"
        )
    settings.stack_dir.mkdir(parents=True, exist_ok=True)
    for stale in settings.stack_dir.glob("*.pid.json"):
        stale.unlink()
    if not _port_free(settings.prefect_host, settings.prefect_port):
        raise StackError(
            f"port {settings.prefect_port} on {settings.prefect_host} is taken; "
            "set NEWSWATCH_PREFECT_PORT to a free one"
        )

    embedded = not settings.database_url
    database_url = db.prepare(settings)
    if embedded:
        marker = {"pgdata": str(settings.embedded_pgdata.resolve())}
        (settings.stack_dir / EMBEDDED_MARKER).write_text(json.dumps(marker))
    prefect_db, prefect_db_note = prefect_database_url(settings, database_url)
    env = base_environment(settings, database_url)
    try:
        return _start_processes(
            settings, env, prefect_db, prefect_db_note, demo, workers, worker_limit, say
        )
    except BaseException:
        down(settings)
        raise


def _start_processes(
    settings: Settings,
    env: dict[str, str],
    prefect_db: str,
    prefect_db_note: str,
    demo: bool,
    workers: int | None,
    worker_limit: int | None,
    say: Callable[[str], None],
) -> StackInfo:
    python = sys.executable
    server_env = dict(env, PREFECT_SERVER_DATABASE_CONNECTION_URL=prefect_db)
    if env.get("PREFECT_API_AUTH_STRING"):
        server_env["PREFECT_SERVER_API_AUTH_STRING"] = env["PREFECT_API_AUTH_STRING"]
    say(f"starting the Prefect server (database: {prefect_db_note}) ...")
    server_argv = [python, "-m", "prefect", "server", "start", "--host", settings.prefect_host]
    server_argv += ["--port", str(settings.prefect_port)]
    server_pid = _spawn(settings, SERVER, server_argv, server_env)
    api = settings.prefect_api_url
    _wait_until(
        lambda: http_ok(f"{api}/health", _auth_header()),
        settings.stack_start_timeout_seconds,
        SERVER,
        server_pid,
        settings,
    )
    info = StackInfo(
        ui_url=api.removesuffix("/api"),
        api_url=api,
        prefect_database=prefect_db_note,
        processes={SERVER: server_pid},
        logs_dir=_logs_dir(settings),
    )

    if not _port_free(settings.web_host, settings.web_port):
        raise StackError(
            f"port {settings.web_port} on {settings.web_host} is taken; "
            "set NEWSWATCH_WEB_PORT to a free one"
        )
    web_argv = [python, "-m", "flows.cli", "web", "--host", settings.web_host]
    info.processes[WEB] = _spawn(settings, WEB, [*web_argv, "--port", str(settings.web_port)], env)
    web_url = f"http://{settings.web_host}:{settings.web_port}"
    _wait_until(lambda: http_ok(f"{web_url}/healthz"), 60, WEB, info.processes[WEB], settings)
    info.web_url = web_url

    deploy_args = [python, "-m", "flows.cli", "deploy"]
    if demo:
        port = settings.demo_site_port or free_port("127.0.0.1")
        site_url = f"http://127.0.0.1:{port}"
        info.processes[DEMO_SITE] = _spawn(
            settings, DEMO_SITE, [python, "-m", "flows.testsite", "--port", str(port)], env
        )
        _wait_until(
            lambda: http_ok(f"{site_url}/robots.txt"),
            30,
            DEMO_SITE,
            info.processes[DEMO_SITE],
            settings,
        )
        info.demo_site_url = site_url
        deploy_args += ["--demo-origin", site_url, "--run-now"]
    say("registering deployments ...")
    deployed = subprocess.run(deploy_args, env=env, capture_output=True, text=True, check=False)
    _log(settings, "deploy").write_text(deployed.stdout + deployed.stderr)
    if deployed.returncode != 0:
        raise StackError(f"registering deployments failed:\n{deployed.stderr.strip()[-2000:]}")
    info.deployments = [line for line in deployed.stdout.splitlines() if line.strip()]

    count = workers or settings.stack_workers
    for index in range(1, count + 1):
        name = f"worker-{index}"
        worker_name = f"newswatch-{socket.gethostname()}-{index}"
        argv = [python, "-m", "prefect", "worker", "start", "--type", "process"]
        argv += ["--pool", settings.work_pool, "--name", worker_name]
        if worker_limit:
            argv += ["--limit", str(worker_limit)]
        info.processes[name] = _spawn(settings, name, argv, env)
    time.sleep(2.0)
    for name, pid in info.processes.items():
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            raise StackError(f"{name} exited right after starting; see {_log(settings, name)}")
    return info


def down(settings: Settings, timeout: float = 20.0) -> list[str]:
    """Stop every stack process with its descendants (workers first); return what stopped."""
    records = _read_records(settings)
    order = sorted(records, key=lambda name: (name == SERVER, name == DEMO_SITE, name))
    stopped = []
    for name in order:
        process = _live_process(records[name])
        if process is not None:
            terminate_tree(process, timeout)
            stopped.append(name)
        _pid_file(settings, name).unlink(missing_ok=True)
    marker = settings.stack_dir / EMBEDDED_MARKER
    pgdata = settings.embedded_pgdata
    if marker.exists():
        pgdata = Path(json.loads(marker.read_text())["pgdata"])
        marker.unlink()
    # Also the one `demo`, `run` or a bench left running on the data directory's pgdata.
    for data in dict.fromkeys([pgdata, settings.embedded_pgdata]):
        if stop_embedded_postgres(data, timeout):
            stopped.append(EMBEDDED_POSTGRES)
    return stopped


def terminate_tree(process: psutil.Process, timeout: float) -> None:
    try:
        family = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for member in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(family, timeout=timeout)
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(alive, timeout=5)


def stop_embedded_postgres(pgdata: Path, timeout: float = 20.0) -> bool:
    """Fast-shut-down the embedded server of `pgdata` if it runs (SIGINT = Postgres' "fast")."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        postmaster = psutil.Process(pid)
    except (OSError, ValueError, IndexError, psutil.NoSuchProcess):
        return False
    if "postgres" not in postmaster.name():
        return False
    postmaster.send_signal(signal.SIGINT)
    _, alive = psutil.wait_procs([postmaster], timeout=timeout)
    for process in alive:
        process.kill()
    return True
