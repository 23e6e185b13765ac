"""Serve a page corpus (`html/<id>.html.gz` + `ground-truth.json` and/or `segments.json`) as a
website on loopback.

The benchmark crawls it like any site: `/` links listing pages `/list/<n>`, each linking up to
`PAGES_PER_LISTING` article pages `/copy/<k>/<id>`, one copy per k in range(repeat), so a crawl
of `repeat` times the corpus fetches distinct URLs. Nothing here knows any corpus: ids are file
names. Pages are sent gzip-encoded as stored when the client accepts it (crawlers do), so the
server costs almost no CPU beside the pipeline it measures.

`python -m flows.testsite.corpus DIR [--repeat K] [--port P]` serves one and prints its base URL.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import sys
from email.utils import formatdate
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from flows.testsite.background import BackgroundServer
from flows.testsite.loopback import entity_tag, not_modified, send_not_modified

PAGES_PER_LISTING = 100
_HTML = "text/html; charset=utf-8"
# A corpus holds either or both: full bodies (shingle metric) and snippets (snippet metric).
TRUTH_FILES = ("ground-truth.json", "segments.json")
ARTICLE_PATH_PATTERN = r"^/copy/[0-9]+/[^/]+$"
LISTING_PATH_PATTERNS = (r"^/$", r"^/list/[0-9]+$")


class CorpusError(ValueError):
    """A folder that is not a corpus of the expected layout; the message says what is missing."""


def corpus_page_ids(corpus_dir: Path) -> list[str]:
    """Ids of the pages in `corpus_dir/html`, sorted; checks the layout first."""
    html_dir = corpus_dir / "html"
    if not html_dir.is_dir():
        raise CorpusError(f"{corpus_dir}: no html/ folder (expected html/<id>.html.gz)")
    if not any((corpus_dir / name).is_file() for name in TRUTH_FILES):
        raise CorpusError(f"{corpus_dir}: no ground-truth.json or segments.json")
    ids = sorted(path.name[: -len(".html.gz")] for path in html_dir.glob("*.html.gz"))
    if not ids:
        raise CorpusError(f"{corpus_dir}: html/ holds no <id>.html.gz page")
    return ids


def _json_object(path: Path, expected: str) -> dict[str, object]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CorpusError(f"{path}: unreadable: {exc}") from exc
    if not isinstance(raw, dict):
        raise CorpusError(f"{path}: expected an object mapping ids to {expected}")
    return raw


def load_ground_truth(corpus_dir: Path) -> dict[str, str]:
    """`{id: true article body}` from ground-truth.json (missing bodies count as empty)."""
    raw = _json_object(corpus_dir / "ground-truth.json", "{'articleBody': ...}")
    return {
        str(page_id): str((entry or {}).get("articleBody") or "")
        for page_id, entry in raw.items()
        if isinstance(entry, dict | type(None))
    }


def load_segments(corpus_dir: Path) -> dict[str, dict[str, list[str]]]:
    """`{id: {"with": [...], "without": [...]}}` from segments.json (trafilatura's evaluation
    layout: snippets a good extraction contains, and boilerplate it must not)."""
    raw = _json_object(corpus_dir / "segments.json", "{'with': [...], 'without': [...]}")
    segments: dict[str, dict[str, list[str]]] = {}
    for page_id, entry in raw.items():
        if not isinstance(entry, dict):
            raise CorpusError(f"{corpus_dir / 'segments.json'}: {page_id}: not an object")
        segments[str(page_id)] = {
            key: [str(snippet) for snippet in entry.get(key) or []] for key in ("with", "without")
        }
    return segments


def article_path(page_id: str, copy: int) -> str:
    return f"/copy/{copy}/{quote(page_id, safe='')}"


class CorpusSite(BackgroundServer):
    """The corpus over HTTP on 127.0.0.1 (a context manager, like the test site)."""

    def __init__(
        self, corpus_dir: Path, repeat: int = 1, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        if repeat < 1:
            raise ValueError("repeat must be at least 1")
        self.corpus_dir = corpus_dir
        self.repeat = repeat
        self.host = host
        self.port = port
        self.page_ids = corpus_page_ids(corpus_dir)
        self._known = set(self.page_ids)
        self.last_modified = formatdate(usegmt=True)  # the site "was published" at start

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def page_count(self) -> int:
        """Article pages served: every corpus page, `repeat` times."""
        return len(self.page_ids) * self.repeat

    @property
    def listing_count(self) -> int:
        return 1 + -(-self.page_count // PAGES_PER_LISTING)

    def article_url(self, page_id: str, copy: int = 0) -> str:
        return self.base_url + article_path(page_id, copy)

    def _make_server(self) -> ThreadingHTTPServer:
        site = self

        class Handler(_Handler):
            corpus = site

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        return server

    # -- pages ---------------------------------------------------------------------------------

    def listing(self, number: int) -> bytes | None:
        """Listing page `number` (1-based), or the home page (0) that links every listing."""
        if number == 0:
            links = [f"/list/{n}" for n in range(1, self.listing_count)]
            return _page("Corpus", [(link, f"Page {n}") for n, link in enumerate(links, 1)])
        start = (number - 1) * PAGES_PER_LISTING
        if number < 1 or start >= self.page_count:
            return None
        entries = []
        for index in range(start, min(start + PAGES_PER_LISTING, self.page_count)):
            copy, position = divmod(index, len(self.page_ids))
            page_id = self.page_ids[position]
            entries.append((article_path(page_id, copy), f"{page_id} ({copy})"))
        return _page(f"Corpus page {number}", entries)

    def article_file(self, path: str) -> Path | None:
        parts = path.split("/")
        if len(parts) != 4 or not parts[2].isdigit():
            return None
        copy, page_id = int(parts[2]), unquote(parts[3])
        if copy >= self.repeat or page_id not in self._known:
            return None
        return self.corpus_dir / "html" / f"{page_id}.html.gz"


def _page(title: str, links: list[tuple[str, str]]) -> bytes:
    items = "\n".join(
        f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for href, text in links
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title></head>\n<body><h1>{escape(title)}</h1>\n<ul>\n{items}\n</ul></body></html>\n"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    corpus: CorpusSite
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # a benchmark must stay quiet
        return

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def _respond(self, send_body: bool) -> None:
        path = urlsplit(self.path).path
        encoding = None
        body: bytes | None = None
        content_type = _HTML
        if path == "/robots.txt":
            body, content_type = b"User-agent: *\nAllow: /\n", "text/plain; charset=utf-8"
        elif path == "/":
            body = self.corpus.listing(0)
        elif path.startswith("/list/") and path[6:].isdigit():
            body = self.corpus.listing(int(path[6:]))
        elif path.startswith("/copy/"):
            stored = self.corpus.article_file(path)
            if stored is not None:
                body = stored.read_bytes()
                if "gzip" in self.headers.get("Accept-Encoding", ""):
                    encoding = "gzip"
                else:
                    body = gzip.decompress(body)
        status = 200
        if body is None:
            status, body = 404, _page("Page not found", [("/", "Home")])
        # Validators as any static web server sends them: a rerun can ask "changed since?".
        etag = entity_tag(body)
        headers = {name.lower(): value for name, value in self.headers.items()}
        if status == 200 and not_modified(etag, self.corpus.last_modified, headers):
            send_not_modified(self, etag)
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if status == 200:
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", self.corpus.last_modified)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.testsite.corpus", description=__doc__)
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        site = CorpusSite(args.corpus, args.repeat, port=args.port).start()
    except (CorpusError, ValueError, OSError) as exc:
        print(f"corpus_site: error: {exc}", file=sys.stderr)
        return 2
    # The first line is the base URL (the benchmark reads it); serve until stdin closes.
    print(site.base_url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()
    site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
