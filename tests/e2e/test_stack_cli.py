"""`newswatch up/down/status` edges that need no Prefect server: clear errors, stale state."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import psutil
import pytest

from flows.cli import main
from flows.config.settings import Settings
from flows.stack import local


def test_status_and_down_when_nothing_runs(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == 1
    assert "not running" in capsys.readouterr().out
    assert main(["down"]) == 0
    assert "nothing was running" in capsys.readouterr().out


def test_stale_pid_file_is_not_a_running_process(settings: Settings) -> None:
    settings.stack_dir.mkdir(parents=True)
    # A pid that exists (ours) but with another start time: a reused pid, not our process.
    record = {"pid": psutil.Process().pid, "create_time": time.time() - 10_000}
    (settings.stack_dir / "worker-1.pid.json").write_text(json.dumps(record))
    (entry,) = local.status(settings)
    assert (entry.name, entry.running) == ("worker-1", False)
    assert local.down(settings) == []  # and it does not kill the pid it does not own
    assert psutil.Process().is_running()
    assert local.status(settings) == []


def test_up_refuses_a_taken_port(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("NEWSWATCH_PREFECT_PORT", str(taken.getsockname()[1]))
        assert main(["up"]) == 1
    out = capsys.readouterr().out
    assert "is taken" in out and "NEWSWATCH_PREFECT_PORT" in out
    assert local.status(settings) == []


def test_deploy_needs_a_prefect_api(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main(["deploy"]) == 2
    assert "PREFECT_API_URL" in capsys.readouterr().err


def test_stop_embedded_postgres_without_server(tmp_path: Path) -> None:
    assert local.stop_embedded_postgres(tmp_path / "pgdata") is False
