"""A tiny corpus in the benchmark's layout, with pages written for these tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

ARTICLES = {
    "river-1": (
        "Floodgates on the old river",
        [
            "The town engineers opened the northern floodgates on Monday after three days of rain.",
            "Water levels near the mill dropped by half a metre before nightfall, they said.",
            "Shops along the quay stayed closed while crews cleared mud from the lower streets.",
            "The council will decide next week whether to raise the embankment by the bridge.",
        ],
    ),
    "orchard-2": (
        "A late frost and an early harvest",
        [
            "Growers in the hill villages began picking pears two weeks earlier than usual.",
            "A late frost in April thinned the blossoms, so the trees carried fewer, larger fruit.",
            "Cooperative managers expect prices to hold steady until the autumn markets open.",
        ],
    ),
    "library-3": (
        "Night opening for the city library",
        [
            "The central library will stay open until midnight on weekdays from next month.",
            "Students asked for longer hours during exams, and volunteers offered to staff the desks.",
            "The reading room on the second floor gets new lamps and quieter heating first.",
        ],
    ),
}


def article_html(title: str, paragraphs: list[str]) -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | Town Post</title>
<meta property="og:title" content="{title}"></head><body>
<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav></header>
<main><article><h1>{title}</h1>
<div class="byline">By Staff Reporter</div>
{body}
</article>
<aside><h2>Most read</h2><ul><li><a href="/x">Ten things to do this weekend</a></li>
<li><a href="/y">Weather warning for the coast</a></li></ul></aside></main>
<footer><p>Copyright Town Post. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
</body></html>"""


def write_corpus(folder: Path, truth_files: tuple[str, ...] = ("ground-truth.json",)) -> Path:
    """The corpus with full bodies (ground-truth.json), snippets (segments.json), or both."""
    (folder / "html").mkdir(parents=True)
    truth = {}
    for page_id, (title, paragraphs) in ARTICLES.items():
        html = article_html(title, paragraphs)
        (folder / "html" / f"{page_id}.html.gz").write_bytes(gzip.compress(html.encode("utf-8")))
        truth[page_id] = {
            "articleBody": "\n".join(paragraphs),
            "url": f"https://town.example/{page_id}",
        }
    segments = {
        page_id: {"with": paragraphs[:2], "without": ["Most read", "All rights reserved."]}
        for page_id, (_, paragraphs) in ARTICLES.items()
    }
    if "ground-truth.json" in truth_files:
        (folder / "ground-truth.json").write_text(json.dumps(truth), encoding="utf-8")
    if "segments.json" in truth_files:
        (folder / "segments.json").write_text(json.dumps(segments), encoding="utf-8")
    return folder
