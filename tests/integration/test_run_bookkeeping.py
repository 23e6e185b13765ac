"""Bad input is one clear line; a killed run does not stay `running`; a retried source is
counted whole."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import main
from flows.config.settings import REPO_ROOT, Settings
from flows.config.sources import SourcesFileError, load_sources
from flows.records import RunSummary
from flows.store import articles as store
from flows.store import db, runs
from tests.support import alert_fixtures as fx
from tests.support.crawl_helpers import rows

KILLED_RUN = """
import os, signal
from flows.store import articles, db
with db.connect(os.environ["DATABASE_URL"]) as connection:
    run_id = articles.start_run(connection, ["daily8"])
print(run_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_bad_database_url_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:9/nothing")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("newswatch: error: cannot use the database (DATABASE_URL)")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_unwritable_data_dir_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(blocker / "data"))
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "is not writable" in err and str(blocker / "data") in err
    assert len(err.strip().splitlines()) == 1


def test_non_utf8_sources_file_names_its_path(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_bytes('[[source]]\nname = "café"\n'.encode("cp1252"))
    with pytest.raises(SourcesFileError, match="not UTF-8") as raised:
        load_sources(path)
    assert str(path) in str(raised.value)


def test_killed_run_is_marked_crashed_and_its_scratch_removed(
    clean_db: str, settings: Settings
) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_RUN],
        env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -9, killed.stderr
    run_id = int(killed.stdout.split()[0])
    scratch = settings.run_scratch_root / str(run_id) / "spool"
    scratch.mkdir(parents=True)
    (scratch / "page.html").write_text("left by the killed run")
    with db.connect(clean_db) as connection:
        live = store.start_run(connection, ["daily8"])  # this process: alive
        closed = store.close_abandoned_runs(connection, settings.run_scratch_root)
    assert closed == [run_id]
    statuses = dict(rows(clean_db, "SELECT id, status FROM runs"))
    assert statuses == {run_id: "crashed", live: "running"}
    assert not (settings.run_scratch_root / str(run_id)).exists()


def test_retried_source_is_counted_whole(clean_db: str) -> None:
    """A task's first attempt stored two articles, then failed; the retry stored the third."""
    with db.connect(clean_db) as connection:
        run_id = store.start_run(connection, ["daily8"])
        store.store_articles(connection, [fx.FERRY, fx.ORCHARD], run_id)  # attempt 1
        retry = store.store_articles(connection, [fx.FERRY, fx.ORCHARD, fx.RAIL], run_id)
        summary = RunSummary(run_id=run_id, sources=["daily8"])
        crawled = runs.CrawlResult("daily8", stats={"response_received_count": 3})
        line, _ = runs.tally_source(
            summary,
            "daily8",
            crawled,
            stored=retry,
            articles_stored=store.articles_of_run(connection, run_id, "daily8"),
        )
    assert len(retry.new_article_ids) == 1
    assert line.articles_new == summary.articles_new == 3
