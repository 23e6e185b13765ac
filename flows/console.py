"""What `newswatch run` and `demo` show in the terminal: one progress line per stage, the logs
only with -v, and every log record in a file under the data dir.

The flow reports its stages through `stage()`, a no-op unless a command installed a display
(a deployment's worker has no terminal to draw on); the display itself (rich) lives here too.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol


class StageDisplay(Protocol):
    def start(self, stage: str, total: float | None) -> None: ...

    def advance(self, stage: str, done: float, note: str = "") -> None: ...

    def finish(self, stage: str, ok: bool, note: str = "") -> None: ...


_display: StageDisplay | None = None


class Stage:
    """One stage's line: created started, advanced as work is done, finished ok or failed."""

    def __init__(self, name: str, total: float | None = None) -> None:
        self.name = name
        self.done = 0.0
        self.ended = False
        if _display is not None:
            _display.start(name, total)

    def advance(self, done: float, note: str = "") -> None:
        self.done = done
        if _display is not None:
            _display.advance(self.name, done, note)

    def finish(self, ok: bool = True, note: str = "") -> None:
        if self.ended:
            return
        self.ended = True
        if _display is not None:
            _display.finish(self.name, ok, note)


@contextmanager
def stage(name: str, total: float | None = None) -> Iterator[Stage]:
    """A stage line that ends failed if the block raises, else ok (unless ended already)."""
    line = Stage(name, total)
    try:
        yield line
    except BaseException:
        line.finish(ok=False, note="failed")
        raise
    line.finish(ok=True)


class RichStages:
    """Stage lines with rich: a bar while a stage runs, a tick or a cross when it ends."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=False, highlight=False)
        self.progress = Progress(
            TextColumn("{task.fields[mark]} {task.description:<24}"),
            BarColumn(bar_width=30),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
            disable=not self.console.is_terminal,
        )
        self.tasks: dict[str, Any] = {}
        self.started: dict[str, float] = {}

    def __enter__(self) -> RichStages:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def start(self, stage: str, total: float | None) -> None:
        self.started[stage] = time.monotonic()
        self.tasks[stage] = self.progress.add_task(stage, total=total, mark=" ", note="")

    def advance(self, stage: str, done: float, note: str = "") -> None:
        task = self.tasks.get(stage)
        if task is not None:
            self.progress.update(task, completed=done, note=note)

    def finish(self, stage: str, ok: bool, note: str = "") -> None:
        task = self.tasks.get(stage)
        if task is None:
            return
        total = self.progress.tasks[task].total
        self.progress.update(
            task,
            total=total or 1,
            completed=total or 1,
            mark="✓" if ok else "✗",
            note=note,
        )
        if not self.console.is_terminal:  # no live display: one plain line per stage
            seconds = time.monotonic() - self.started.get(stage, time.monotonic())
            self.console.print(
                f"{'ok    ' if ok else 'FAILED'} {stage:<24} {note}  ({seconds:.1f} s)".rstrip()
            )


@contextmanager
def show_stages() -> Iterator[None]:
    """Install the rich display for the duration of a command."""
    global _display
    display = RichStages()
    with display:
        _display = display
        try:
            yield
        finally:
            _display = None


def log_file_path(logs_dir: Path, command: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return logs_dir / f"{command}-{stamp}-{os.getpid()}.log"


def route_logs(log_file: Path, verbose: bool) -> None:
    """Every record to `log_file`; to the terminal only with -v.

    Call before Prefect is imported: its console handler's level comes from the environment.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    if not verbose:
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "CRITICAL"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    _FILE_HANDLERS.append(handler)
    logging.getLogger().addHandler(handler)


_FILE_HANDLERS: list[logging.Handler] = []


def attach_file_handlers() -> None:
    """Prefect's logging set-up replaces the root logger's handlers: put ours back."""
    root = logging.getLogger()
    for handler in _FILE_HANDLERS:
        if handler not in root.handlers:
            root.addHandler(handler)
