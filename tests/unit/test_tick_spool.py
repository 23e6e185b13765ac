"""A tick's spool is removed at its end, and a killed tick's by the next tick on the host."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

from flows.orchestration.fleet_tick import tick_spool


def _folder_of(root: Path, pid: int, started: float) -> Path:
    folder = root / f"tick-{pid}-{int(started)}-1"
    (folder / "source-a").mkdir(parents=True)
    (folder / "source-a" / "pages.bin").write_bytes(b"<html>left behind</html>")
    return folder


def test_a_dead_ticks_spool_goes_a_live_ones_stays(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone_started = psutil.Process(gone.pid).create_time()
    gone.wait()  # reaped: its pid names no process now
    dead = _folder_of(tmp_path, gone.pid, gone_started)
    me = psutil.Process(os.getpid())
    live = _folder_of(tmp_path, me.pid, me.create_time())  # another tick of this process
    reused = _folder_of(tmp_path, me.pid, me.create_time() - 3600)  # same pid, older process
    other = tmp_path / "not-a-tick"
    other.mkdir()

    with tick_spool(tmp_path) as spool:
        assert spool.is_dir() and spool.parent == tmp_path
        assert not dead.exists() and not reused.exists()
        assert live.exists() and other.exists()
        (spool / "pages.bin").write_bytes(b"body")
    assert not spool.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])
