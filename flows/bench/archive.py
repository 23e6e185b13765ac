"""`newswatch bench archive`: p50/p95 of an archive search page through the real web app, on a
database of N generated articles (the `bench scale` vocabulary, a skewed word frequency so that
queries range from rare to common words, five sources, fifty publishers, a month of dates).

Each measured request is a signed-in editor's GET of /archive over loopback HTTP: search in
watch syntax, optional filters, 25 results newest first, rendered page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx

from flows.bench.scale import _WORDS
from flows.bench.support import fresh_database, machine_description
from flows.config.settings import Settings
from flows.store import articles as store
from flows.store import db

_GENERATE = """
INSERT INTO articles (id, source, url, canonical_url, content_hash, story_id, title, body,
                      publisher, published_at, language, fetched_at, run_id, ts_config)
SELECT g, 'source' || (g %% 5), 'https://bench.example/a/' || g, 'https://bench.example/a/' || g,
       md5(g::text) || md5((-g)::text), g,
       (SELECT string_agg((%(words)s::text[])[1 + floor(%(n)s * random() ^ 2)::int], ' ')
        FROM generate_series(1, 8 + (g %% 2))),
       (SELECT string_agg((%(words)s::text[])[1 + floor(%(n)s * random() ^ 2)::int], ' ')
        FROM generate_series(1, 80 + (g %% 3))),
       'Publisher ' || (g %% 50), now() - make_interval(secs => g * 2.6), 'en',
       now() - make_interval(secs => g * 2.6), %(run_id)s, 'english'::regconfig
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS g
"""

# From rare to common words, phrases, OR, exclusions, and filters over the same searches.
SEARCHES: list[dict[str, str]] = [
    {"q": _WORDS[-1]},
    {"q": _WORDS[-5] + " " + _WORDS[-9]},
    {"q": f'"{_WORDS[3]} {_WORDS[1]}"'},
    {"q": f"{_WORDS[20]} OR {_WORDS[40]}"},
    {"q": f"{_WORDS[10]} -{_WORDS[0]}"},
    {"q": _WORDS[0]},
    {"q": _WORDS[30], "source": "source3"},
    {"q": _WORDS[15], "publisher": "Publisher 7"},
    {"q": _WORDS[25], "from": "2000-01-01", "to": "2100-01-01"},
    {"q": ""},
]


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    bench: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    parser = bench.add_parser(
        "archive",
        help="p95 per archive search page (HTTP, signed in) over N generated articles",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--articles", type=int, default=1_000_000, metavar="N")
    parser.add_argument("--repeat", type=int, default=5, help="rounds over every search and page")
    parser.add_argument("--pages", type=int, default=3, help="result pages asked per search")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures here")
    parser.set_defaults(handler=run_archive_bench)


def generate(connection: db.Connection, count: int) -> None:
    run_id = store.start_run(connection, ["bench"])
    connection.execute("SELECT setseed(0.42)")
    step = 50_000
    for start in range(1, count + 1, step):
        stop = min(start + step - 1, count)
        connection.execute(
            _GENERATE,
            {"words": _WORDS, "n": len(_WORDS), "run_id": run_id, "start": start, "stop": stop},
        )
        connection.execute(
            "DELETE FROM unmatched_articles WHERE article_id BETWEEN %s AND %s", (start, stop)
        )
        connection.commit()
    if count:
        connection.execute("SELECT setval('articles_id_seq', %s)", (count,))
    connection.commit()
    connection.autocommit = True
    try:
        connection.execute("VACUUM (ANALYZE) articles")
    finally:
        connection.autocommit = False


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run_archive_bench(args: argparse.Namespace, settings: Settings) -> int:
    from flows.web import accounts
    from flows.web.app import create_app
    from flows.web.server import serve_in_thread

    if args.articles < 0 or args.repeat < 1 or args.pages < 1:
        raise ValueError("--articles must be >= 0, --repeat and --pages >= 1")
    password = "bench password, not secret"
    with fresh_database(settings) as url:
        started = time.perf_counter()
        with db.connect(url) as connection:
            generate(connection, args.articles)
            accounts.add_editor(connection, "bench", "bench@example.com", password)
        generate_seconds = time.perf_counter() - started
        print(f"generated {args.articles} articles in {generate_seconds:.0f} s")
        timings: dict[str, list[float]] = {}
        with serve_in_thread(create_app(settings, url)) as base_url:
            client = httpx.Client(base_url=base_url, timeout=60)
            login = client.get("/login").text
            token = login.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            client.post("/login", data={"csrf": token, "name": "bench", "password": password})
            for search in SEARCHES:  # warm-up: caches, not counted
                client.get("/archive", params=search)
            for _ in range(args.repeat):
                for search in SEARCHES:
                    label = " ".join(f"{key}={value}" for key, value in search.items())
                    for page in range(1, args.pages + 1):
                        began = time.perf_counter()
                        response = client.get("/archive", params=search | {"page": str(page)})
                        elapsed = (time.perf_counter() - began) * 1000
                        if response.status_code != 200:
                            raise RuntimeError(f"/archive {search}: HTTP {response.status_code}")
                        timings.setdefault(label, []).append(elapsed)
    every = [value for values in timings.values() for value in values]
    figures: dict[str, Any] = {
        "articles": args.articles,
        "generate_seconds": round(generate_seconds, 1),
        "requests": len(every),
        "p50_ms": round(statistics.median(every), 1),
        "p95_ms": round(_percentile(every, 0.95), 1),
        "max_ms": round(max(every), 1),
        "per_search": {
            label: {
                "p50_ms": round(statistics.median(values), 1),
                "p95_ms": round(_percentile(values, 0.95), 1),
            }
            for label, values in timings.items()
        },
        "machine": machine_description(),
    }
    print(f"archive search over {args.articles} articles, {len(every)} pages asked:")
    for label, values in figures["per_search"].items():
        print(
            f"  {values['p50_ms']:8.1f} ms p50 {values['p95_ms']:8.1f} ms p95  {label or '(all)'}"
        )
    print(
        f"  overall p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms (target: p95 < 200 ms)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0
