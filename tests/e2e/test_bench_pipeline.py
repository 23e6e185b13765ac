"""`newswatch bench pipeline` end to end on a tiny corpus written for the test: real site, real
crawl child, real Postgres and Prefect API. Only the report's shape and counts are checked;
benchmarks print speed, tests never time it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from flows.bench.support import ProcessSampler
from flows.cli import main
from tests.support.corpus_fixture import ARTICLES, write_corpus


@pytest.mark.slow
def test_bench_pipeline_reports_every_figure(
    settings: object, prefect_api: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(tmp_path / "corpus", ("ground-truth.json", "segments.json"))
    # the bench points the flow at its own database and data dir through the environment
    for name in ("DATABASE_URL", "NEWSWATCH_DATA_DIR"):
        monkeypatch.setenv(name, os.environ[name])
    figures_path, predictions_path = tmp_path / "bench.json", tmp_path / "predictions.json"
    status = main(
        [
            "bench",
            "pipeline",
            "--corpus",
            str(corpus),
            "--repeat",
            "2",
            "--json",
            str(figures_path),
            "--predictions",
            str(predictions_path),
        ]
    )
    assert status == 0
    figures = json.loads(figures_path.read_text(encoding="utf-8"))
    for key in (
        "pages",
        "seconds",
        "startup_seconds",
        "pages_per_s",
        "bare_pages_per_s",
        "ratio",
        "f1",
        "precision",
        "recall",
        "bare_f1",
        "snippet_f1",
        "snippet_precision",
        "snippet_recall",
        "bare_snippet_f1",
        "peak_rss_mb",
        "rerun_seconds",
        "rerun_new_articles",
    ):
        assert key in figures, key
    assert figures["pages"] == 2 * len(ARTICLES)
    assert figures["articles_new"] == len(ARTICLES)  # the second copy of each is a duplicate
    assert figures["rerun_new_articles"] == 0
    assert figures["f1"] > 0.9
    # every "with" snippet stored, neither boilerplate line
    assert figures["snippet_recall"] == 1.0 and figures["snippet_precision"] == 1.0
    assert figures["peak_rss_mb"] > 0
    # The CPU breakdown saw every part of the pipeline work, and the servers beside it.
    cpu = figures["cpu_seconds"]
    assert {"flow", "crawl", "extraction", "prefect_api", "corpus_site", "sampler"} <= set(cpu)
    assert cpu["crawl"] > 0 and cpu["extraction"] > 0
    predictions = json.loads(predictions_path.read_text(encoding="utf-8"))
    assert set(predictions) == set(ARTICLES)
    paragraph = ARTICLES["library-3"][1][1]
    assert paragraph in predictions["library-3"]["articleBody"]


class _Exiting(psutil.Process):
    """A process tearing down: its memory is gone, so /proc shows an empty command line, but it
    is not a zombie yet (psutil raises only for zombies)."""

    def cmdline(self) -> list[str]:
        return []


def test_cpu_of_an_exiting_crawl_child_stays_the_crawls() -> None:
    """Seen twice as a `crawl` figure missing from the bench's JSON: the last sample of the crawl
    child caught it exiting and filed all its CPU under extraction."""
    sampler = ProcessSampler(exclude=lambda _process: None)
    sampler.mark_cpu()
    work = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    child = subprocess.Popen([sys.executable, "-c", work + "time.sleep(30)", "spiders.run"])
    try:
        deadline = time.monotonic() + 30
        while sum(psutil.Process(child.pid).cpu_times()[:2]) < 0.25:
            sampler.sample()
            assert time.monotonic() < deadline, "the child did not work"
            time.sleep(0.02)
        sampler.sample()
        sampler._processes[child.pid] = _Exiting(child.pid)  # the next samples see it exiting
        cpu = sampler.cpu_seconds()
    finally:
        child.kill()
        child.wait()
    assert cpu.get("crawl", 0.0) >= 0.2, cpu
    assert cpu.get("extraction", 0.0) < 0.1, cpu
