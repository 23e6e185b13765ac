"""Extraction quality on the shared third-party corpus (never copied into the repository)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.bench.metrics import score_corpus
from flows.config.sources import Source
from flows.extract.article import ExtractionError, extract_article
from flows.records import FetchedPage

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "scrapinghub"
MIN_F1 = 0.96


@pytest.mark.skipif(
    not (CORPUS / "ground-truth.json").is_file(),
    reason=f"shared corpus not found at {CORPUS.resolve()} (only on the team's machine)",
)
def test_f1_on_shared_corpus_stays_above_floor() -> None:
    source = Source(
        name="corpus",
        start_urls=["http://127.0.0.1/"],
        article_url_patterns=["."],
        min_body_chars=1,
    )
    truth = json.loads((CORPUS / "ground-truth.json").read_text(encoding="utf-8"))
    predictions: dict[str, str] = {}
    for page_id in truth:
        html = gzip.decompress((CORPUS / "html" / f"{page_id}.html.gz").read_bytes())
        page = FetchedPage(
            "corpus", f"http://127.0.0.1/{page_id}", 200, datetime.now(UTC), html, "utf-8"
        )
        try:
            predictions[page_id] = extract_article(page, source).body
        except ExtractionError:
            predictions[page_id] = ""
    score = score_corpus(predictions, {k: v["articleBody"] for k, v in truth.items()})
    print(f"corpus F1 {score.f1:.4f} (P {score.precision:.4f}, R {score.recall:.4f})")
    assert score.f1 >= MIN_F1, score
