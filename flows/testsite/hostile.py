"""Hostile pages: everything a crawl must survive, each recorded and none stopping the run.

Served by HostileSite on 127.0.0.1; /hostile/ links to every case. CASES says, per path, whether
the page should end up stored or which words its recorded error reason contains.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from functools import cache
from html import escape
from typing import Any

from .loopback import LoopbackSite, Reply

SIZE_CAP = 64 * 1024  # the hostile source's max_response_bytes
TIMEOUT = 1.0  # the hostile source's download_timeout

_STORY = (
    "The harbour authority has published its winter timetable for the island ferries, "
    "cutting the number of daily crossings from six to four between November and March. "
    "Islanders said the change would make it harder to reach appointments on the mainland, "
    "and the community council asked for an extra sailing on market days. The authority said "
    "it would review the timetable after Christmas if bookings showed enough demand."
)

# path -> "stored" or words the error reason must contain
CASES: dict[str, str] = {
    "/h/malformed": "stored",
    "/h/wrong-charset": "stored",
    "/h/no-charset": "stored",
    "/h/slowish": "stored",
    "/h/busy": "stored",
    "/h/binary": "binary or non-HTML",
    "/h/too-big": "over the size cap",
    "/h/gzip-bomb": "over the size cap once decompressed",
    "/h/loop-a": "redirect loop",
    "/h/missing": "HTTP 404",
    "/h/gone": "HTTP 410",
    "/h/broken": "HTTP 500",
    "/h/unavailable": "HTTP 503",
    "/h/too-slow": "timeout",
    "/h/empty": "empty page",
    "/h/raises": "extraction failed",
}


def _article(title: str, paragraph: str, charset: str | None = "utf-8", time: str = "") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    byline = f'<span class="time">{escape(time)}</span>' if time else ""
    return (
        f"<!DOCTYPE html><html lang='en'><head>{meta}<title>{escape(title)}</title></head><body>"
        f"<article><h1>{escape(title)}</h1><div class='byline'>{byline}</div>"
        f"<p>{escape(paragraph)}</p><p>{escape(paragraph)}</p>"
        # Each case's own last line: identical bodies would be stored once, as duplicates.
        f"<p>{escape(title)}: the newsroom log files this copy under its own heading.</p>"
        "</article></body></html>"
    )


@cache
def gzip_bomb() -> bytes:
    """A few kilobytes that unpack to 32 MiB of zeros."""
    return gzip.compress(b"\0" * (32 * 1024 * 1024), compresslevel=9)


class HostileSite(LoopbackSite):
    def __init__(self, port: int = 0) -> None:
        super().__init__(port=port)
        gzip_bomb()  # built before serving, so no request waits for it
        self._busy_seen = 0
        self._busy_lock = threading.Lock()

    def respond(self, path: str, site_url: str) -> Reply:
        route = path.split("?", 1)[0]
        if route == "/robots.txt":
            return Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain")
        if route == "/hostile/":
            links = "".join(f'<li><a href="{p}">{p}</a></li>' for p in CASES)
            return Reply(body=f"<html><body><ul>{links}</ul></body></html>".encode())
        handler = _ROUTES.get(route)
        if handler is None:
            return Reply(status=404, body=b"<html><body>Not here</body></html>")
        return handler(self)

    def busy(self) -> Reply:
        """429 with Retry-After: 1 the first time, the article afterwards."""
        with self._busy_lock:
            self._busy_seen += 1
            first = self._busy_seen == 1
        if first:
            return Reply(status=429, body=b"slow down", headers=(("Retry-After", "1"),))
        return Reply(body=_article("Ferry timetable after a pause", _STORY).encode())


def _malformed(site: HostileSite) -> Reply:
    html = (
        "<html><head><title>Broken <b>markup</title><body><div><article><h1>Ferry timetable "
        f"with broken tags</h1><p>{_STORY}<p class='x' =bad>{_STORY}</div></div></span>"
        "<table><td>stray cell</article></bo"
    )
    return Reply(body=html.encode())


def _wrong_charset(site: HostileSite) -> Reply:
    text = _article("Café owners on the ferry quay", _STORY + " The café stays open.", None)
    return Reply(body=text.encode("cp1252"), content_type="text/html; charset=utf-8")


def _no_charset(site: HostileSite) -> Reply:
    text = _article("Crème brûlée wins the quay bake-off", _STORY, "windows-1252")
    return Reply(body=text.encode("cp1252"), content_type="text/html")


def _redirect(target: str) -> Reply:
    return Reply(status=302, body=b"", headers=(("Location", target),), validators=False)


_ROUTES: dict[str, Callable[[Any], Reply]] = {
    "/h/malformed": _malformed,
    "/h/wrong-charset": _wrong_charset,
    "/h/no-charset": _no_charset,
    "/h/slowish": lambda site: Reply(
        body=_article("Slow but fine", _STORY).encode(), delay=TIMEOUT / 4
    ),
    "/h/busy": HostileSite.busy,
    "/h/binary": lambda site: Reply(
        body=b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, content_type="image/png"
    ),
    "/h/too-big": lambda site: Reply(
        body=_article("Too big", _STORY * (SIZE_CAP // len(_STORY) * 3)).encode()
    ),
    "/h/gzip-bomb": lambda site: Reply(
        body=gzip_bomb(), headers=(("Content-Encoding", "gzip"),), validators=False
    ),
    "/h/loop-a": lambda site: _redirect("/h/loop-b"),
    "/h/loop-b": lambda site: _redirect("/h/loop-a"),
    "/h/missing": lambda site: Reply(status=404, body=b"<html><body>No</body></html>"),
    "/h/gone": lambda site: Reply(status=410, body=b"<html><body>Gone</body></html>"),
    "/h/broken": lambda site: Reply(status=500, body=b"<html><body>Oops</body></html>"),
    "/h/unavailable": lambda site: Reply(
        status=503, body=b"down for maintenance", headers=(("Retry-After", "3600"),)
    ),
    "/h/too-slow": lambda site: Reply(
        body=_article("Too slow", _STORY).encode(), delay=TIMEOUT * 3
    ),
    "/h/empty": lambda site: Reply(body=b""),
    # A canonical link that is not a URL at all (an unclosed IPv6 bracket) makes URL parsing
    # raise inside extraction; the page is refused, the run goes on.
    "/h/raises": lambda site: Reply(
        body=_article("A story with a broken canonical link", _STORY)
        .replace("<title>", '<link rel="canonical" href="http://[oops/story"><title>', 1)
        .encode()
    ),
}
