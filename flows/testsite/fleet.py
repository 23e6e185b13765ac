"""A fleet of simulated publishers on loopback, each on its own 127.x.y.z address.

Each publisher is its own host (so politeness is per publisher, as with real sites) with one
entry point kind: an RSS feed, a listing page, or a listing page plus a news sitemap. Stories
appear at planned times (a skewed mix: most publishers a few a day, a few dozens an hour), and
every entry point honours conditional requests (ETag, Last-Modified, 304). Some publishers can
be told to misbehave: hang, answer 429, or return garbage.

One asyncio server (uvicorn, on one listening socket per address) serves them all: a thousand
threaded servers would cost a thread each. The texts are generated from a seeded word list, so
runs are repeatable and no two stories share their sentences (story deduplication must not
merge them).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from html import escape
from typing import Any

from flows.config.sources import Source

MATCH_WORD = "zephyrine"  # only stories meant to match a watch contain it
LISTED = 20  # stories an entry point lists, newest first
KINDS = ("feed", "listing", "listing+sitemap")
BEHAVIOURS = ("ok", "hang", "429", "garbage")
_WORD_TEXT = (
    "harbour council market river bridge school library station winter summer budget plan "
    "road rail ferry island valley farm mill factory office court hospital clinic theatre "
    "museum garden park square street tower museum festival concert season team match club "
    "league coach player result score record weather storm flood drought harvest price wage "
    "tax rent house flat street lamp cable power water gas fuel engine bus tram train ticket "
    "fare route timetable service delay closure repair works contract tender report study "
    "survey census figure vote poll election mayor minister board panel committee member "
    "resident worker student teacher doctor nurse farmer trader owner driver pilot sailor "
    "opened closed announced agreed rejected approved delayed raised cut doubled expanded "
    "reviewed published measured counted visited warned promised asked answered planned "
    "northern southern eastern western local regional national coastal rural urban new old "
    "busy quiet early late annual weekly daily public private small large first last"
)
_WORDS = tuple(_WORD_TEXT.split())


@dataclass(frozen=True)
class FleetStory:
    site: int
    number: int
    published_at: float  # epoch seconds
    matching: bool

    @property
    def path(self) -> str:
        return f"/news/{self.number:05d}.html"

    def title(self) -> str:
        words = _rng(self, "title").sample(_WORDS, 6)
        if self.matching:
            words.insert(2, MATCH_WORD)
        return " ".join(words).capitalize()

    def paragraphs(self) -> list[str]:
        rng = _rng(self, "body")
        paragraphs = []
        for index in range(4):
            sentences: list[str] = []
            for _ in range(4):
                words = [rng.choice(_WORDS) for _ in range(rng.randint(9, 15))]
                if self.matching and index == 0 and not sentences:
                    words.insert(3, MATCH_WORD)
                sentences.append(" ".join(words).capitalize() + ".")
            paragraphs.append(" ".join(sentences))
        return paragraphs


def _rng(story: FleetStory, purpose: str) -> random.Random:
    return random.Random(f"{story.site}:{story.number}:{purpose}")


@dataclass
class Publisher:
    index: int
    host: str
    kind: str
    stories_per_hour: float
    stories: list[FleetStory] = field(default_factory=list)
    behaviour: str = "ok"

    def postpone(self, after: float, seconds: float) -> None:
        """Move every story planned after `after` later by `seconds` (the plan keeps its shape)."""
        self.stories = [
            FleetStory(s.site, s.number, s.published_at + seconds, s.matching)
            if s.published_at > after
            else s
            for s in self.stories
        ]

    def visible(self, now: float) -> list[FleetStory]:
        """Published by `now`, newest first, as many as an entry point lists."""
        shown = [story for story in self.stories if story.published_at <= now]
        return sorted(shown, key=lambda story: story.published_at, reverse=True)[:LISTED]


def address(index: int) -> str:
    """The publisher's own loopback address (never 127.0.0.1, never a .0 or .255 part)."""
    return f"127.{10 + index // 62500}.{(index // 250) % 250 + 1}.{index % 250 + 1}"


def plan_fleet(
    count: int,
    start: float,
    minutes: float,
    seed: int = 14,
    busy_share: float = 0.05,
    busy_per_hour: float = 30.0,
    quiet_per_day: float = 4.0,
    match_share: float = 0.25,
    backlog: int = 2,
    behaviours: dict[int, str] | None = None,
    backlog_before: float | None = None,
) -> list[Publisher]:
    """Publishers and their stories: a backlog before `backlog_before` (default `start`), then
    a Poisson process of new stories from `start` until `start + minutes`; a share
    `match_share` of stories contains MATCH_WORD."""
    rng = random.Random(seed)
    publishers = []
    for index in range(count):
        busy = rng.random() < busy_share
        rate = busy_per_hour if busy else quiet_per_day / 24 * rng.uniform(0.5, 1.5)
        publisher = Publisher(index, address(index), KINDS[index % len(KINDS)], rate)
        number = 0
        moment = start if backlog_before is None else backlog_before
        for _ in range(backlog):  # earlier stories at the publisher's own pace
            number += 1
            moment -= rng.expovariate(rate / 3600)
            publisher.stories.append(FleetStory(index, number, moment, False))
        moment = start
        while True:
            moment += rng.expovariate(rate / 3600)
            if moment > start + minutes * 60:
                break
            number += 1
            matching = rng.random() < match_share
            publisher.stories.append(FleetStory(index, number, moment, matching))
        publisher.behaviour = (behaviours or {}).get(index, "ok")
        publishers.append(publisher)
    return publishers


def fleet_sources(
    publishers: Iterable[Publisher],
    port: int,
    poll_min_seconds: float = 60.0,
    poll_max_seconds: float = 1800.0,
    **overrides: Any,
) -> list[Source]:
    """One source per publisher, with its own entry point kind."""
    sources = []
    for publisher in publishers:
        base = f"http://{publisher.host}:{port}"
        entries: dict[str, Any] = {}
        if publisher.kind == "feed":
            entries["feeds"] = [f"{base}/feed.xml"]
        else:
            entries["start_urls"] = [f"{base}/news/"]
            entries["article_url_patterns"] = [r"^/news/\d+\.html$"]
            if publisher.kind == "listing+sitemap":
                entries["sitemaps"] = [f"{base}/news-sitemap.xml"]
        values: dict[str, Any] = {
            "name": f"pub{publisher.index:05d}",
            "publisher": f"Publisher {publisher.index}",
            "download_delay": 0.0,
            "max_depth": 0,
            "max_pages": 60,
            "poll_min_seconds": poll_min_seconds,
            "poll_max_seconds": poll_max_seconds,
            **entries,
            **overrides,
        }
        sources.append(Source.model_validate(values))
    return sources


def sources_toml(sources: Iterable[Source]) -> str:
    """A sources file for `sources` (only the fields a fleet source sets)."""
    import json

    blocks = []
    for source in sources:
        fields = source.model_dump(exclude_defaults=True, mode="json")
        lines = ["[[source]]"]
        for key, value in fields.items():
            lines.append(f"{key} = {json.dumps(value)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class FleetSite:
    """Serves every publisher on its own address and one shared port; `with FleetSite(...)`.

    `clock` gives the simulated now (epoch seconds); requests are counted per host, and so is
    the most requests a host was answering at once (`max_in_flight`; `latency` holds each answer
    back that long, so that requests sent together are seen together).
    """

    __test__ = False

    def __init__(
        self,
        publishers: list[Publisher],
        port: int = 0,
        clock: Callable[[], float] = time.time,
        hang_seconds: float = 600.0,
        latency: float = 0.0,
    ) -> None:
        self.publishers = {publisher.host: publisher for publisher in publishers}
        self.port = port
        self.clock = clock
        self.hang_seconds = hang_seconds
        self.latency = latency
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.article_requests: Counter[str] = Counter()
        self.robots_requests: Counter[str] = Counter()
        self.first_fetch: dict[str, float] = {}  # story URL -> when a crawler first got it
        self.lock = threading.Lock()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def base_url(self, publisher: Publisher) -> str:
        return f"http://{publisher.host}:{self.port}"

    def story_url(self, story: FleetStory) -> str:
        return f"http://{address(story.site)}:{self.port}{story.path}"

    def start(self) -> FleetSite:
        import uvicorn

        sockets = self._bind_all()
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            interface="asgi3",
            proxy_headers=False,
            http="h11",
            loop="asyncio",
            timeout_keep_alive=15,
            # A hanging publisher's request must not hold up the site's shutdown.
            timeout_graceful_shutdown=1,
            backlog=512,
        )
        self._server = uvicorn.Server(config)
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(sockets, ready), name="fleet-site", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 60
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fleet site did not start")
            ready.wait(0.05)
        return self

    def _serve(self, sockets: list[socket.socket], ready: threading.Event) -> None:
        try:
            asyncio.run(self._server.serve(sockets=sockets))
        finally:
            for sock in sockets:
                sock.close()
            ready.set()

    def _bind_all(self) -> list[socket.socket]:
        """One listening socket per address, all on one port (any free one when port is 0)."""
        for _attempt in range(20):
            sockets: list[socket.socket] = []
            try:
                for host in self.publishers:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sockets.append(sock)
                    sock.bind((host, self.port))
                    if self.port == 0:
                        self.port = sock.getsockname()[1]
                    sock.listen(512)
                    sock.setblocking(False)
                return sockets
            except OSError:
                for sock in sockets:
                    sock.close()
                if self.port and _attempt == 19:
                    raise
                self.port = 0  # someone else holds that port on one of our addresses: retry
        raise RuntimeError("no free port for the fleet site")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._server = None
        self._thread = None

    def __enter__(self) -> FleetSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving ---------------------------------------------------------------------------------

    async def _app(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        host = scope["server"][0] if scope.get("server") else ""
        publisher = self.publishers.get(host)
        with self.lock:
            self.requests[host] += 1
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if publisher is None:
            await _reply(send, 404, b"no such publisher")
            return
        if publisher.behaviour == "hang":
            await asyncio.sleep(self.hang_seconds)
            return
        if publisher.behaviour == "429":
            await _reply(send, 429, b"slow down", extra=[(b"retry-after", b"120")])
            return
        if publisher.behaviour == "garbage":
            junk = random.Random(scope["path"]).randbytes(3000)
            await _reply(send, 200, junk, content_type=b"text/html")
            return
        with self.lock:
            self.in_flight[host] += 1
            self.max_in_flight[host] = max(self.max_in_flight[host], self.in_flight[host])
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            await self._serve_page(publisher, scope["path"], headers, send)
        finally:
            with self.lock:
                self.in_flight[host] -= 1

    async def _serve_page(
        self, publisher: Publisher, path: str, headers: dict[str, str], send: Send
    ) -> None:
        now = self.clock()
        base = self.base_url(publisher)
        visible = publisher.visible(now)
        if path == "/robots.txt":
            with self.lock:
                self.robots_requests[publisher.host] += 1
            await _reply(send, 200, b"User-agent: *\nAllow: /\n", content_type=b"text/plain")
            return
        if path in ("/feed.xml", "/news/", "/news-sitemap.xml"):
            kind = {"/feed.xml": "feed", "/news/": "listing", "/news-sitemap.xml": "sitemap"}[path]
            allowed = publisher.kind == "feed" if kind == "feed" else kind in publisher.kind
            if not allowed:
                await _reply(send, 404, b"not here")
                return
            newest = visible[0].published_at if visible else 0.0
            etag = (
                '"'
                + hashlib.sha1(f"{path}:{len(visible)}:{newest}".encode()).hexdigest()[:16]
                + '"'
            )
            modified = formatdate(newest or now - 86400 * 30, usegmt=True)
            validators = [(b"etag", etag.encode()), (b"last-modified", modified.encode())]
            if _not_modified(etag, modified, headers):
                with self.lock:
                    self.not_modified[publisher.host] += 1
                await _reply(send, 304, b"", extra=validators)
                return
            body, content_type = _entry_page(kind, publisher, visible, base)
            await _reply(send, 200, body, content_type=content_type, extra=validators)
            return
        story = next((s for s in publisher.stories if s.path == path), None)
        if story is None or story.published_at > now:
            await _reply(send, 404, b"<html><body><h1>Not found</h1></body></html>")
            return
        url = base + story.path
        with self.lock:
            self.first_fetch.setdefault(url, time.time())
            self.article_requests[publisher.host] += 1
        await _reply(send, 200, _article(story, publisher, base).encode())


def _not_modified(etag: str, modified: str, headers: dict[str, str]) -> bool:
    if "if-none-match" in headers:
        return etag in [tag.strip() for tag in headers["if-none-match"].split(",")]
    since = headers.get("if-modified-since")
    if since:
        try:
            return parsedate_to_datetime(since) >= parsedate_to_datetime(modified)
        except (TypeError, ValueError):
            return False
    return False


async def _reply(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = b"text/html; charset=utf-8",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if status != 304:
        headers.append((b"content-type", content_type))
    headers += extra or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def _entry_page(
    kind: str, publisher: Publisher, visible: list[FleetStory], base: str
) -> tuple[bytes, bytes]:
    name = f"Publisher {publisher.index}"
    if kind == "feed":
        items = "".join(
            f"<item><title>{escape(s.title())}</title><link>{base}{s.path}</link>"
            f"<guid isPermaLink='true'>{base}{s.path}</guid>"
            f"<pubDate>{format_datetime(datetime.fromtimestamp(s.published_at, UTC))}</pubDate>"
            "</item>"
            for s in visible
        )
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>{name}</title><link>{base}/</link><description>News</description>"
            f"{items}</channel></rss>"
        )
        return body.encode(), b"application/rss+xml; charset=utf-8"
    if kind == "sitemap":
        urls = "".join(
            f"<url><loc>{base}{s.path}</loc><news:news><news:publication><news:name>{name}"
            "</news:name><news:language>en</news:language></news:publication>"
            f"<news:publication_date>{_iso(s.published_at)}</news:publication_date>"
            f"<news:title>{escape(s.title())}</news:title></news:news></url>"
            for s in visible
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + urls + "</urlset>"
        )
        return body.encode(), b"application/xml; charset=utf-8"
    teasers = "\n".join(
        f'<li><a href="{s.path}">{escape(s.title())}</a> <time>{_iso(s.published_at)}</time></li>'
        for s in visible
    )
    body = _html(f"Latest news | {name}", f"<h1>Latest news</h1>\n<ul>\n{teasers}\n</ul>")
    return body.encode(), b"text/html; charset=utf-8"


def _article(story: FleetStory, publisher: Publisher, base: str) -> str:
    title = story.title()
    published = _iso(story.published_at)
    paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in story.paragraphs())
    head = (
        f'<link rel="canonical" href="{base}{story.path}">'
        f'<meta property="og:title" content="{escape(title)}">'
        f'<meta property="article:published_time" content="{published}">'
    )
    main = (
        f'<article><h1>{escape(title)}</h1><p class="byline">By staff · '
        f'<time datetime="{published}">{published}</time></p>\n{paragraphs}\n</article>'
    )
    return _html(f"{title} | Publisher {publisher.index}", main, head)


def _html(title: str, main: str, head: str = "") -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>{head}</head><body>"
        '<header><a href="/news/">Home</a></header>'
        f"<main>{main}</main><footer><p>A simulated publisher for benchmarks.</p></footer>"
        "</body></html>"
    )
