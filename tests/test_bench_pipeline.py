"""`newswatch bench pipeline` end to end on a tiny corpus written for the test: real site, real
crawl child, real Postgres and Prefect API. Only the report's shape and counts are checked;
benchmarks print speed, tests never time it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from flows.cli import main
from tests.corpus_fixture import ARTICLES, write_corpus


@pytest.mark.slow
def test_bench_pipeline_reports_every_figure(
    settings: object, prefect_api: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = write_corpus(tmp_path / "corpus")
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
        "peak_rss_mb",
        "rerun_seconds",
        "rerun_new_articles",
    ):
        assert key in figures, key
    assert figures["pages"] == 2 * len(ARTICLES)
    assert figures["articles_new"] == len(ARTICLES)  # the second copy of each is a duplicate
    assert figures["rerun_new_articles"] == 0
    assert figures["f1"] > 0.9
    assert figures["peak_rss_mb"] > 0
    # The CPU breakdown saw every part of the pipeline work, and the servers beside it.
    cpu = figures["cpu_seconds"]
    assert {"flow", "crawl", "extraction", "prefect_api", "corpus_site", "sampler"} <= set(cpu)
    assert cpu["crawl"] > 0 and cpu["extraction"] > 0
    predictions = json.loads(predictions_path.read_text(encoding="utf-8"))
    assert set(predictions) == set(ARTICLES)
    paragraph = ARTICLES["library-3"][1][1]
    assert paragraph in predictions["library-3"]["articleBody"]
