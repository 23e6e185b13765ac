"""`newswatch bench pipeline`: the real monitoring flow over a page corpus served on loopback,
side by side with bare trafilatura over the same HTML, and the corpus's quality metric.

The corpus (any folder with html/<id>.html.gz and ground-truth.json, segments.json or both) is
served by flows.testsite.corpus in a child process, configured as a source through an ordinary
sources file, and crawled, extracted, deduplicated, stored and matched by the `monitor` flow into
a fresh database. Quality is scored on the bodies as stored in Postgres: with the Scrapinghub
shingle metric (f1, precision, recall) when ground-truth.json holds full bodies, with trafilatura's
snippet metric (snippet_f1, ...) when segments.json holds snippets; both when both exist.
"""

from __future__ import annotations

import argparse
import atexit
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import psutil

from flows.bench.metrics import score_corpus, score_snippets
from flows.bench.support import (
    PrefectServer,
    ProcessSampler,
    fresh_database,
    machine_description,
    postgres_server_pid,
)
from flows.config.settings import REPO_ROOT, Settings
from flows.fetch.urls import canonicalize_url
from flows.store import db
from flows.testsite.corpus import (
    ARTICLE_PATH_PATTERN,
    LISTING_PATH_PATTERNS,
    PAGES_PER_LISTING,
    article_path,
    corpus_page_ids,
    load_ground_truth,
    load_segments,
)

SOURCE_NAME = "corpus"
# A local site needs no politeness delays; the flow is otherwise run exactly as in production.
BENCH_SCRAPY_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS": "32",
}
# Everyday words in several languages: the run matches watches as a real one would.
BENCH_WATCHES = (
    ("bench-government", "government OR minister OR election"),
    ("bench-market", "market OR shares OR investors"),
    ("bench-police", "police -football"),
)


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    bench: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    parser = bench.add_parser(
        "pipeline",
        help="the monitoring flow end to end over a page corpus, beside bare trafilatura",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--corpus", type=Path, required=True, metavar="DIR")
    parser.add_argument("--repeat", type=int, default=1, metavar="K", help="serve K copies")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the figures here")
    parser.add_argument(
        "--predictions", type=Path, metavar="FILE", help='write {id: {"articleBody": body}}'
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database")
    parser.set_defaults(handler=run_pipeline_bench)


# -- bare trafilatura, one process, one core --------------------------------------------------


def _bare_trafilatura(corpus_dir: str, page_ids: list[str]) -> dict[str, Any]:
    """Runs in a child pinned to one core: trafilatura.extract with the pipeline's options."""
    import trafilatura

    from flows.extract import fast_parser, fast_selectors
    from flows.extract.article import TRAFILATURA_OPTIONS

    if fast_selectors.active() or fast_parser.active():  # bare: trafilatura's own selectors, parser
        raise RuntimeError(f"bare trafilatura runs with {fast_selectors.active()} replaced")
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[-1]})
    pages = [
        gzip.decompress((Path(corpus_dir) / "html" / f"{page_id}.html.gz").read_bytes()).decode(
            "utf-8", errors="replace"
        )
        for page_id in page_ids
    ]
    trafilatura.extract(pages[0], **TRAFILATURA_OPTIONS)  # imports and caches warmed up
    started, cpu_started = time.perf_counter(), time.process_time()
    bodies = [trafilatura.extract(html, **TRAFILATURA_OPTIONS) or "" for html in pages]
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "pages": len(pages),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "bodies": dict(zip(page_ids, bodies, strict=True)),
    }


def measure_bare(corpus_dir: Path, page_ids: list[str]) -> dict[str, Any]:
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_bare_trafilatura, str(corpus_dir), page_ids).result()


# -- the corpus as a source --------------------------------------------------------------------


def sources_toml(base_url: str, max_pages: int) -> str:
    """An ordinary sources file for the served corpus (TOML strings via JSON escaping)."""
    listing = ", ".join(json.dumps(p) for p in LISTING_PATH_PATTERNS)
    return f"""# Written by `newswatch bench pipeline` for a corpus served on loopback.
[[source]]
name = "{SOURCE_NAME}"
start_urls = [{json.dumps(base_url + "/")}]
article_url_patterns = [{json.dumps(ARTICLE_PATH_PATTERN)}]
listing_url_patterns = [{listing}]
max_pages = {max_pages}
max_seconds = 7200
max_depth = 2
download_delay = 0
concurrency_per_domain = 16
min_body_chars = 1
"""


class _ServedCorpus:
    """flows.testsite.corpus in a child process (its memory and CPU stay apart from the pipeline's)."""

    def __init__(self, corpus_dir: Path, repeat: int) -> None:
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO_ROOT), environment.get("PYTHONPATH")])
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flows.testsite.corpus",
                str(corpus_dir),
                "--repeat",
                str(repeat),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http://"):
            self.close()
            raise RuntimeError(f"corpus site did not start (exit status {self.process.poll()})")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _group_of(site_pid: int, prefect_pid: int | None) -> Any:
    def group(process: psutil.Process) -> str | None:
        if process.pid == site_pid:
            return "corpus_site"
        if process.pid == prefect_pid or "uvicorn" in process.cmdline():
            return "prefect_api"
        return None

    return group


# -- the run ------------------------------------------------------------------------------------


def stored_bodies(database_url: str, urls: dict[str, list[str]]) -> dict[str, str]:
    """`{id: stored body}`, found through any of the id's URLs (canonicalized as stored).

    Copies deduplicated within a run leave no URL behind, so every copy's URL is tried.
    """
    canonical = {
        page_id: [canonicalize_url(url) for url in group] for page_id, group in urls.items()
    }
    wanted = [url for group in canonical.values() for url in group]
    with db.connect(database_url) as connection:
        rows = connection.execute(
            """SELECT u.url, a.body FROM article_urls u JOIN articles a ON a.id = u.article_id
               WHERE u.url = ANY(%s)""",
            (wanted,),
        ).fetchall()
    by_url = {row["url"]: row["body"] for row in rows}
    return {
        page_id: next((by_url[url] for url in group if url in by_url), "")
        for page_id, group in canonical.items()
    }


def _article_pages(summary: dict[str, Any], base_url: str) -> int:
    """Article pages that went through extraction in a run: stored, duplicate or failed."""
    prefix = base_url + "/copy/"
    failed = sum(1 for e in summary.get("errors") or [] if str(e.get("url", "")).startswith(prefix))
    return int(summary["articles_new"]) + int(summary["articles_duplicate"]) + failed


def run_pipeline_bench(args: argparse.Namespace, settings: Settings) -> int:
    corpus_dir: Path = args.corpus
    if args.repeat < 1:
        raise ValueError("--repeat must be at least 1")
    page_ids = corpus_page_ids(corpus_dir)
    quality = _Quality(corpus_dir, page_ids)

    print(f"bare trafilatura over {len(page_ids)} pages (one process, one core)...", flush=True)
    bare = measure_bare(corpus_dir, page_ids)

    work_dir = Path(tempfile.mkdtemp(prefix="newswatch-bench-"))
    # Removed at exit, after Prefect's temporary API (registered later, so stopped first).
    atexit.register(shutil.rmtree, work_dir, ignore_errors=True)
    with fresh_database(settings, keep=args.keep_db) as database_url:
        # The flow reads its settings from the environment: point it at the fresh database and
        # at a private data dir (outbox, Prefect home); alerts never leave the machine.
        os.environ["DATABASE_URL"] = database_url
        os.environ["NEWSWATCH_DATA_DIR"] = str(work_dir / "data")
        (work_dir / "data" / "prefect").mkdir(parents=True)
        for name in ("NEWSWATCH_SMTP_HOST", "NEWSWATCH_SOURCES_FILE"):
            os.environ.pop(name, None)
        from flows.match.watches import add_watch

        with db.connect(database_url) as connection:
            for name, query in BENCH_WATCHES:
                add_watch(connection, name, query, "bench@example.com")
        site = _ServedCorpus(corpus_dir, args.repeat)
        try:
            results = _run_flows(args, database_url, site, page_ids, work_dir)
        finally:
            site.close()

    # This machine's speed drifts by up to a third between minutes (shared host): bare
    # trafilatura runs again after the flow, and the faster pass is the one compared against.
    print("bare trafilatura again, after the flow...", flush=True)
    bare_again = measure_bare(corpus_dir, page_ids)
    bare_passes = [round(b["pages"] / b["seconds"], 2) for b in (bare, bare_again)]
    bare = min(bare, bare_again, key=lambda b: b["seconds"])
    bodies = results.pop("bodies")
    pages_per_s = results["pages"] / results["seconds"]
    bare_pages_per_s = bare["pages"] / bare["seconds"]
    figures: dict[str, Any] = {
        "corpus": str(corpus_dir),
        "repeat": args.repeat,
        "pages": results["pages"],
        "seconds": round(results.pop("seconds"), 2),
        "startup_seconds": round(results.pop("startup_seconds"), 2),
        "pages_per_s": round(pages_per_s, 2),
        "bare_pages_per_s": round(bare_pages_per_s, 2),
        "bare_cpu_ms_per_page": round(1000 * bare["cpu_seconds"] / bare["pages"], 1),
        "bare_pages_per_s_passes": bare_passes,
        "ratio": round(pages_per_s / bare_pages_per_s, 3),
        **quality.figures(bodies),
        **{f"bare_{name}": value for name, value in quality.figures(bare["bodies"]).items()},
        **results,
        "extract_workers": settings.extract_workers,
        "extract_start_method": settings.extract_start_method,
        "machine": machine_description(),
    }
    _print_figures(figures)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
        print(f"figures written to {args.json}")
    if args.predictions:
        args.predictions.parent.mkdir(parents=True, exist_ok=True)
        predictions = {page_id: {"articleBody": bodies[page_id]} for page_id in page_ids}
        args.predictions.write_text(json.dumps(predictions, ensure_ascii=False), encoding="utf-8")
        print(f"predictions written to {args.predictions}")
    return 0


class _Quality:
    """The corpus's metrics: shingles against full bodies, snippets, or both."""

    def __init__(self, corpus_dir: Path, page_ids: list[str]) -> None:
        self.truths: dict[str, str] | None = None
        self.segments: dict[str, dict[str, list[str]]] | None = None
        if (corpus_dir / "ground-truth.json").is_file():
            truths = load_ground_truth(corpus_dir)
            self.truths = {page_id: truths.get(page_id, "") for page_id in page_ids}
        if (corpus_dir / "segments.json").is_file():
            segments = load_segments(corpus_dir)
            self.segments = {
                page_id: segments[page_id] for page_id in page_ids if page_id in segments
            }

    def figures(self, bodies: dict[str, str]) -> dict[str, float]:
        found: dict[str, float] = {}
        if self.truths is not None:
            score = score_corpus(bodies, self.truths)
            found |= {"f1": score.f1, "precision": score.precision, "recall": score.recall}
        if self.segments is not None:
            snippets = score_snippets(bodies, self.segments)
            found |= {
                "snippet_f1": snippets.f1,
                "snippet_precision": snippets.precision,
                "snippet_recall": snippets.recall,
                "snippet_accuracy": snippets.accuracy,
            }
        return {name: round(value, 4) for name, value in found.items()}


def _run_flows(
    args: argparse.Namespace,
    database_url: str,
    site: _ServedCorpus,
    page_ids: list[str],
    work_dir: Path,
) -> dict[str, Any]:
    from flows.orchestration.prefect_env import configure_prefect_environment

    started = time.perf_counter()
    server: PrefectServer | None = None
    if not os.environ.get("PREFECT_API_URL"):
        print("starting a Prefect API server for the benchmark...", flush=True)
        server = PrefectServer(work_dir / "prefect-server")
        os.environ["PREFECT_API_URL"] = server.api_url
        atexit.register(server.close)
    configure_prefect_environment(Settings())  # before Prefect is imported: it reads env then
    from prefect import flow

    @flow(name="newswatch-bench-warmup")
    def warmup() -> None:
        """Prefect's client set up (and its temporary API started, when one is used), so the
        run below is timed alone."""

    from flows.flow import monitor

    sources_file = work_dir / "sources.toml"
    listing_pages = 2 + len(page_ids) * args.repeat // PAGES_PER_LISTING
    max_pages = len(page_ids) * args.repeat + listing_pages + 10
    sources_file.write_text(sources_toml(site.base_url, max_pages), encoding="utf-8")
    # Twice a second (PSS once a second): each sample reads the whole process table, CPU the
    # pipeline would not spend unmeasured (0.23 ms a page at five samples a second).
    sampler = ProcessSampler(
        _group_of(site.process.pid, server.process.pid if server else None),
        postgres_server_pid(database_url),
        interval=0.5,
        pss_every=2,
    )
    with sampler:
        warmup()
        startup_seconds = time.perf_counter() - started
        print(f"Prefect ready after {startup_seconds:.1f} s; running the flow...", flush=True)
        sampler.mark_cpu()
        started = time.perf_counter()
        first = monitor(sources_file=str(sources_file), scrapy_settings=BENCH_SCRAPY_SETTINGS)
        seconds = time.perf_counter() - started
        first_cpu = sampler.cpu_seconds()
        first_peaks = dict(sampler.peaks_mb)
        print(f"first run {seconds:.1f} s; rerun over the unchanged site...", flush=True)
        started = time.perf_counter()
        second = monitor(sources_file=str(sources_file), scrapy_settings=BENCH_SCRAPY_SETTINGS)
        rerun_seconds = time.perf_counter() - started
    urls = {
        page_id: [site.base_url + article_path(page_id, copy) for copy in range(args.repeat)]
        for page_id in page_ids
    }
    pages = _article_pages(first, site.base_url)
    return {
        "pages": pages,
        "seconds": seconds,
        # Where the first run's CPU went: the pipeline's parts, and the servers beside it.
        "cpu_seconds": first_cpu,
        "cpu_ms_per_page": {
            group: round(1000 * cpu / pages, 2) for group, cpu in first_cpu.items() if pages
        },
        "startup_seconds": startup_seconds,
        "peak_rss_mb": round(first_peaks.get("pipeline", 0.0), 1),
        "peak_pss_mb": round(first_peaks.get("pipeline_pss", 0.0), 1),
        "peak_rss_mb_with_rerun": round(sampler.peaks_mb.get("pipeline", 0.0), 1),
        "prefect_api_peak_rss_mb": round(sampler.peaks_mb.get("prefect_api", 0.0), 1),
        "postgres_peak_rss_mb": (
            round(sampler.peaks_mb["postgres"], 1) if "postgres" in sampler.peaks_mb else None
        ),
        "corpus_site_peak_rss_mb": round(sampler.peaks_mb.get("corpus_site", 0.0), 1),
        "articles_new": first["articles_new"],
        "articles_duplicate": first["articles_duplicate"],
        "alerts_new": first["alerts_new"],
        "errors": len(first.get("errors") or ()),  # type: ignore[arg-type]
        "rerun_seconds": round(rerun_seconds, 2),
        "rerun_pages": _article_pages(second, site.base_url),
        "rerun_new_articles": second["articles_new"],
        "rerun_speedup": round(seconds / rerun_seconds, 2) if rerun_seconds else None,
        "bodies": stored_bodies(database_url, urls),
    }


def _print_figures(figures: dict[str, Any]) -> None:
    print("\nnewswatch bench pipeline")
    for key, value in figures.items():
        if key != "machine":
            print(f"  {key:28} {value}")
    print(f"  {'machine':28} {json.dumps(figures['machine'])}")
