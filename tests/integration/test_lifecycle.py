"""What commands leave running is seen and stopped: the embedded PostgreSQL that `demo`, `run`
or a bench started shows in `status` and stops with `down`; a port whose last connections
are in TIME-WAIT is free for `up` at once."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from flows.cli import main
from flows.config.settings import Settings
from flows.stack import local
from flows.store import db


@pytest.fixture
def embedded_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A data directory of its own and no DATABASE_URL: the embedded server, as a new user has."""
    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("NEWSWATCH_DATABASE_URL", raising=False)
    settings = Settings()
    yield settings
    local.stop_embedded_postgres(settings.embedded_pgdata)
    db._embedded_urls.pop(settings.embedded_pgdata, None)


def _gone(pid: int, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.1)
    return False


def test_status_and_down_see_the_embedded_postgres_a_demo_left(
    embedded_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    db.prepare(embedded_settings)  # what `demo`, `run` and the benches do first
    pid = local.embedded_postgres_pid(embedded_settings.embedded_pgdata)
    assert pid is not None
    assert main(["status"]) == 1  # the stack itself is not running
    out = capsys.readouterr().out
    assert f"embedded-postgres pid {pid}" in " ".join(out.split())
    assert "newswatch down" in out
    assert main(["down"]) == 0
    assert "stopped: embedded-postgres" in capsys.readouterr().out
    assert _gone(pid)
    db._embedded_urls.pop(embedded_settings.embedded_pgdata, None)
    assert main(["status"]) == 1
    assert "embedded-postgres" not in capsys.readouterr().out


def test_port_in_time_wait_is_free_for_up() -> None:
    """The server side closes first, so its end of the connection waits in TIME-WAIT. The
    server set SO_REUSEADDR, as uvicorn (Prefect's server) and http.server do."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()
        client.recv(1)  # the server's FIN has arrived
        client.close()
    states = {
        connection.status
        for connection in psutil.net_connections("tcp4")
        if connection.laddr and connection.laddr.port == port
    }
    assert psutil.CONN_TIME_WAIT in states  # the situation `down` leaves behind
    assert local._port_free("127.0.0.1", port)
