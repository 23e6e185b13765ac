"""A Daily8-shaped HTTP server on loopback, for the demo, the tests and the benchmarks.

Standard library only, so it starts in milliseconds with no network and no extra installs.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import cast
from urllib.parse import unquote, urlsplit

from . import pages
from .background import BackgroundServer
from .stories import Story, load_stories

_HTML = "text/html; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
_RELATED_COUNT = 3


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    content_type: str = _HTML
    location: str | None = None


class TestSite(BackgroundServer):
    """Serves stories as Daily8 would, and records which paths were requested.

    Use as a context manager (`with TestSite(path) as site: ... site.base_url`); the server runs
    in a daemon thread so a failing test can never hang the interpreter on exit.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self, stories_path: Path | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.stories: list[Story] = load_stories(stories_path)
        self.host = host
        self.port = port
        # Request paths with their query string, e.g. "/en/article/<id>?utm_source=hashtag&...".
        self.hits: Counter[str] = Counter()
        self._hits_lock = threading.Lock()
        # Pages are deterministic, so each renders once per (Host header, path); a benign race
        # between two threads only renders a page twice.
        self._page_cache: dict[tuple[str, str], _Response] = {}

        self._story_by_path: dict[str, Story] = {}
        for story in self.stories:
            for path in (story.url_path, *story.alias_paths):
                self._story_by_path[path] = story
        self._stories_by_tag: dict[str, list[Story]] = {}
        for story in self.stories:
            for tag in story.hashtags:
                self._stories_by_tag.setdefault(tag, []).append(story)

    # -- lifecycle -----------------------------------------------------------------------------

    def _make_server(self) -> _Server:
        return _Server((self.host, self.port), self)

    # -- what tests ask about ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The root URL, e.g. "http://127.0.0.1:8123" (no trailing slash)."""
        if self.port == 0:
            raise RuntimeError("port 0 is only resolved by start(); start the TestSite first")
        return f"http://{self.host}:{self.port}"

    def article_urls(self) -> dict[str, str]:
        """Every article URL served (primary ids, aliases, edited rewrites) -> id of its story.

        Aliases map to their primary story's id; tracking-query variants are not listed.
        """
        return {self.base_url + path: story.id for path, story in self._story_by_path.items()}

    def hits_snapshot(self) -> Counter[str]:
        """A consistent copy of `hits`, safe to read while requests are still arriving."""
        with self._hits_lock:
            return Counter(self.hits)

    def related_to(self, story: Story) -> list[Story]:
        """The Related Articles of a story: the next stories of its language in file order."""
        same_language = [other for other in self.stories if other.lang == story.lang]
        position = same_language.index(story)
        count = min(_RELATED_COUNT, len(same_language) - 1)
        return [
            same_language[(position + offset) % len(same_language)]
            for offset in range(1, count + 1)
        ]

    # -- request handling (called from server threads) -----------------------------------------

    def _count_hit(self, raw_path: str) -> None:
        with self._hits_lock:
            self.hits[raw_path] += 1

    def _respond(self, raw_path: str, host: str) -> _Response:
        path = urlsplit(raw_path).path
        site_url = f"http://{host}"
        if path == "/":
            location = site_url + "/en"
            return _Response(301, pages.render_redirect(location).encode(), location=location)
        key = (host, path)
        cached = self._page_cache.get(key)
        if cached is None:
            cached = self._render(path, site_url)
            if cached.status == 200:  # 404s are cheap and unbounded in number
                self._page_cache[key] = cached
        return cached

    def _render(self, path: str, site_url: str) -> _Response:
        if path == "/robots.txt":
            return _Response(200, pages.ROBOTS_TXT.encode(), content_type=_TEXT)
        if path == "/en":
            return _ok(pages.render_home(self.stories, site_url))
        if path == "/en/about":
            return _ok(pages.render_about(site_url))
        if path == pages.DRAFTS_PATH:
            return _ok(pages.render_drafts(site_url))
        if path.startswith("/en/hashtag/"):
            tag = unquote(path.removeprefix("/en/hashtag/"))
            if tag in self._stories_by_tag:
                return _ok(pages.render_hashtag_page(tag, self._stories_by_tag[tag], site_url))
        story = self._story_by_path.get(path)
        if story is not None:
            return _ok(pages.render_article(story, self.related_to(story), site_url))
        return _Response(404, pages.render_not_found(path).encode())


def _ok(html: str) -> _Response:
    return _Response(200, html.encode())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], site: TestSite) -> None:
        super().__init__(address, _Handler)
        self.site = site


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real site; every response has a length
    server_version = "Daily8TestSite/1.0"
    timeout = 30  # idle keep-alive connections do not pin threads forever

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        site = cast(_Server, self.server).site
        site._count_hit(self.path)
        host = self.headers.get("Host") or f"{site.host}:{site.port}"
        response = site._respond(self.path, host)
        # Validators like a real server's, so incremental crawls can ask "changed since?".
        etag = '"' + hashlib.sha1(response.body).hexdigest()[:16] + '"'
        if response.status == 200 and etag == self.headers.get("If-None-Match"):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        if response.status == 200:
            self.send_header("ETag", etag)
        if response.location is not None:
            self.send_header("Location", response.location)
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        """Silent: request logs would drown test and benchmark output."""
