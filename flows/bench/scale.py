"""`newswatch bench scale`: ingest rate through the real store and dedup code into a database that
already holds N articles, and the query plans of every lookup that ingest and matching make.

The N articles are generated in SQL (generate_series), so a million take a minute, not an hour.
Each measured batch mixes new articles with copies of stored ones (same URL, or same text under
another URL), so the dedup lookups run as they do in a real crawl.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flows.bench.support import fresh_database, machine_description
from flows.config.settings import Settings
from flows.extract.article import content_hash
from flows.records import Article
from flows.store import articles as store
from flows.store import db
from flows.store.stories import BANDS

# Plain words to build article bodies from; the vocabulary size keeps the text index realistic.
_WORDS = [
    "council",
    "harbour",
    "ferry",
    "night",
    "trial",
    "crews",
    "quay",
    "engines",
    "valley",
    "orchard",
    "apricot",
    "harvest",
    "market",
    "price",
    "week",
    "rail",
    "link",
    "storm",
    "repair",
    "embankment",
    "engineer",
    "minister",
    "election",
    "budget",
    "school",
    "teacher",
    "hospital",
    "nurse",
    "doctor",
    "river",
    "bridge",
    "flood",
    "road",
    "traffic",
    "police",
    "court",
    "judge",
    "trade",
    "export",
    "import",
    "factory",
    "worker",
    "union",
    "strike",
    "energy",
    "solar",
    "wind",
    "grid",
    "water",
    "drought",
    "farmer",
    "museum",
    "library",
    "festival",
    "music",
    "film",
    "team",
    "match",
    "season",
    "coach",
    "player",
    "stadium",
    "airport",
    "flight",
    "tourism",
    "hotel",
    "housing",
    "rent",
    "mortgage",
    "bank",
    "rate",
    "inflation",
    "growth",
    "report",
    "survey",
    "study",
    "science",
    "research",
    "university",
    "student",
    "climate",
    "forest",
    "fire",
    "rescue",
    "village",
    "city",
    "region",
    "border",
    "talks",
]

# Every query ingest and matching run per article, with representative parameters; each must be
# served by an index (no sequential scan of articles or article_urls) whatever N is.
_URL = "https://bench.example/lookup"
_NOW = datetime(2026, 1, 1, tzinfo=UTC)
LOOKUPS: dict[str, tuple[str, tuple[Any, ...]]] = {
    "insert article (dedup on url and text)": (
        store._INSERT_ARTICLE,
        (
            None,
            "bench",
            _URL,
            _URL,
            "f" * 64,
            "t",
            "b",
            None,
            None,
            "en",
            [],
            _NOW,
            None,
            "simple",
            [],
        ),
    ),
    "existing article by url or text": (
        "SELECT id FROM articles WHERE canonical_url = %s OR content_hash = %s LIMIT 1",
        (_URL, "f" * 64),
    ),
    "remember an article url": (
        "INSERT INTO article_urls (url, article_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (_URL, 1),
    ),
    "articles of a story": ("SELECT id FROM articles WHERE story_id = %s", (1,)),
    "near-copy candidates by band key": (
        """SELECT a.id, a.story_id FROM (SELECT article_id, count(*) AS shared FROM story_bands
                 WHERE band_key = ANY(%s)
                 GROUP BY article_id ORDER BY shared DESC, article_id LIMIT 20) c
           JOIN articles a ON a.id = c.article_id""",
        (list(range(-21, 21)),),
    ),
    "claim unmatched articles": (
        "SELECT article_id FROM unmatched_articles ORDER BY article_id LIMIT %s"
        " FOR UPDATE SKIP LOCKED",
        (2000,),
    ),
}

# Every stored article has BANDS band keys in story_bands; the bulk rows get pseudo-random ones.
_BULK_BANDS = f"""
INSERT INTO story_bands (band_key, article_id)
SELECT hashtextextended(g::text || ':' || band, 0), g
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS g,
     generate_series(1, {BANDS}) AS band
ON CONFLICT DO NOTHING
"""

_BULK_INSERT = """
INSERT INTO articles (id, source, url, canonical_url, content_hash, story_id, title, body,
                      language, fetched_at, run_id, ts_config, matched_at)
SELECT g, 'bulk', 'https://bulk.example/article/' || g, 'https://bulk.example/article/' || g,
       md5(g::text) || md5((-g)::text), g,
       'Generated article ' || g,
       'Generated article ' || g || ' reports ' || md5(g::text) || '. ' || %(paragraph)s,
       'en', now(), %(run_id)s, 'simple'::regconfig, now()
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS g
"""


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    bench: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    parser = bench.add_parser(
        "scale",
        help="ingest rate into a database already holding N articles, and the lookups' plans",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--articles", type=int, nargs="+", required=True, metavar="N", help="e.g. 0 100000 1000000"
    )
    parser.add_argument("--batch", type=int, default=1000, help="articles per measured batch")
    parser.add_argument("--batches", type=int, default=3, help="measured batches (median kept)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures here")
    parser.set_defaults(handler=run_scale_bench)


def generate_articles(connection: db.Connection, count: int, run_id: int) -> None:
    """Insert `count` articles (ids 1..count) and their URLs in SQL, then analyze."""
    paragraph = " ".join(random.Random(0).choices(_WORDS, k=60))
    step = 200_000
    for start in range(1, count + 1, step):
        stop = min(start + step - 1, count)
        connection.execute(
            _BULK_INSERT, {"paragraph": paragraph, "run_id": run_id, "start": start, "stop": stop}
        )
        connection.execute(
            "INSERT INTO article_urls (url, article_id)"
            " SELECT canonical_url, id FROM articles WHERE id BETWEEN %s AND %s",
            (start, stop),
        )
        connection.execute(_BULK_BANDS, {"start": start, "stop": stop})
        # Articles in service were matched long ago: empty the queue the insert trigger filled.
        connection.execute(
            "DELETE FROM unmatched_articles WHERE article_id BETWEEN %s AND %s", (start, stop)
        )
        connection.commit()
    if count:
        connection.execute("SELECT setval('articles_id_seq', %s)", (count,))
    connection.commit()
    # A database in service is vacuumed and checkpointed, not fresh from a bulk load: without
    # this, autovacuum and the first checkpoint after the load land in the measured batches.
    # An empty database is left unanalyzed, as a new install is: statistics of empty tables
    # made the cached plans of the foreign-key checks scan `articles` sequentially for the
    # whole measurement (27 scans per article), a quarter of the N = 0 rate by the last batch.
    connection.autocommit = True
    try:
        if count:
            connection.execute("VACUUM (ANALYZE) articles")
            connection.execute("VACUUM (ANALYZE) article_urls")
        connection.execute("CHECKPOINT")
    finally:
        connection.autocommit = False


def make_batch(rng: random.Random, size: int, existing: int, tag: str) -> list[Article]:
    """New articles with realistic bodies; one in ten is a copy (same URL or same text)."""
    now = datetime.now(UTC)
    articles: list[Article] = []
    for index in range(size):
        body = " ".join(rng.choices(_WORDS, k=rng.randint(250, 600)))
        url = f"https://bench.example/{tag}/{index}"
        if existing and index % 20 == 0:  # a stored article again, under its URL
            url = f"https://bulk.example/article/{rng.randint(1, existing)}"
        elif index % 20 == 10:  # the text of an article ingested just before, another URL
            body = articles[index - 5].body
        articles.append(
            Article(
                source="bench",
                url=url,
                canonical_url=url,
                title=" ".join(rng.choices(_WORDS, k=8)),
                body=body,
                content_hash=content_hash(body),
                language="en",
                fetched_at=now,
            )
        )
    return articles


def explain_lookups(connection: db.Connection) -> dict[str, dict[str, Any]]:
    """Each lookup's plan, and whether it avoids sequential scans of the big tables."""
    plans = {}
    for name, (sql, params) in LOOKUPS.items():
        rows = connection.execute("EXPLAIN " + sql, params).fetchall()
        lines = [row["QUERY PLAN"] for row in rows]
        text = "\n".join(lines)
        seq_scans = [
            line.strip()
            for line in lines
            if "Seq Scan on articles" in line
            or "Seq Scan on article_urls" in line
            or "Seq Scan on story_bands" in line
        ]
        plans[name] = {"index_backed": not seq_scans, "plan": text}
    connection.rollback()
    return plans


def measure(settings: Settings, existing: int, batch: int, batches: int) -> dict[str, Any]:
    with fresh_database(settings) as url, db.connect(url) as connection:
        run_id = store.start_run(connection, ["bench"])
        connection.commit()
        started = time.perf_counter()
        generate_articles(connection, existing, run_id)
        generate_seconds = time.perf_counter() - started
        rng = random.Random(existing)
        warmup = make_batch(rng, batch // 4 or 1, existing, "warmup")  # caches, not counted
        store.store_articles(connection, warmup, run_id)
        connection.commit()
        rates, stored, duplicates = [], 0, 0
        for number in range(batches):
            articles = make_batch(rng, batch, existing, f"b{number}")
            started = time.perf_counter()
            result = store.store_articles(connection, articles, run_id)
            connection.commit()
            seconds = time.perf_counter() - started
            rates.append(len(articles) / seconds)
            stored += len(result.new_article_ids)
            duplicates += result.duplicates
        plans = explain_lookups(connection)
    return {
        "articles_before": existing,
        "generate_seconds": round(generate_seconds, 1),
        "ingest_rate_per_s": round(statistics.median(rates), 1),
        "ingest_rates_per_s": [round(rate, 1) for rate in rates],
        "stored": stored,
        "duplicates": duplicates,
        "all_lookups_index_backed": all(plan["index_backed"] for plan in plans.values()),
        "plans": plans,
    }


def run_scale_bench(args: argparse.Namespace, settings: Settings) -> int:
    if any(count < 0 for count in args.articles) or args.batch < 1 or args.batches < 1:
        raise ValueError("--articles must be >= 0, --batch and --batches >= 1")
    results = []
    for count in args.articles:
        print(f"N = {count:,}: generating, then ingesting {args.batches} x {args.batch}...")
        figures = measure(settings, count, args.batch, args.batches)
        results.append(figures)
        print(
            f"  generated in {figures['generate_seconds']} s; ingest "
            f"{figures['ingest_rate_per_s']} articles/s (batches {figures['ingest_rates_per_s']}),"
            f" {figures['duplicates']} duplicates caught;"
            f" all lookups index-backed: {figures['all_lookups_index_backed']}"
        )
        for name, plan in figures["plans"].items():
            print(f"  EXPLAIN {name}:")
            print("    " + plan["plan"].replace("\n", "\n    "))
    report: dict[str, Any] = {"runs": results, "machine": machine_description()}
    base = next((r for r in results if r["articles_before"] == 0), None)
    if base is not None:
        report["rate_vs_empty"] = {
            str(r["articles_before"]): round(r["ingest_rate_per_s"] / base["ingest_rate_per_s"], 3)
            for r in results
        }
        print(f"rate relative to an empty database: {report['rate_vs_empty']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0
