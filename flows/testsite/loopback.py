"""A small threaded HTTP server on loopback for test sites that need full control of responses.

Sites subclass LoopbackSite and implement `respond`; the base adds conditional GET (ETag and
Last-Modified, answering 304), records every request with its time and headers, and can stall
or trickle a response to play a slow server.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

from flows.testsite.background import BackgroundServer

HTML = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str | None = HTML
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds before the status line
    validators: bool = True  # send ETag / Last-Modified and answer conditional requests
    content_length: int | None = None  # announce another length than the body's (size caps)


@dataclass(frozen=True)
class Hit:
    path: str
    at: float
    headers: dict[str, str] = field(default_factory=dict)


class LoopbackSite(BackgroundServer):
    """Context manager: `with Site() as site: site.base_url`; serves from a daemon thread."""

    __test__ = False
    server_version = "LoopbackSite/1.0"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self.last_modified = formatdate(time.time() - 3600, usegmt=True)

    def _make_server(self) -> ThreadingHTTPServer:
        return _Server((self.host, self.port), self)

    def respond(self, path: str, site_url: str) -> Reply:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def paths(self) -> list[str]:
        with self._lock:
            return [hit.path for hit in self.hits]

    def hits_for(self, prefix: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path.startswith(prefix)]

    def reset_hits(self) -> None:
        with self._lock:
            self.hits.clear()

    def _record(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.hits.append(Hit(path, time.monotonic(), headers))

    def _not_modified(self, reply: Reply, etag: str, headers: dict[str, str]) -> bool:
        return (
            reply.validators
            and reply.status == 200
            and not_modified(etag, self.last_modified, headers)
        )


def entity_tag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'


def not_modified(etag: str, last_modified: str, headers: Mapping[str, str]) -> bool:
    """Whether a conditional GET (lower-case `headers`) may be answered 304."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return etag in [tag.strip() for tag in if_none_match.split(",")]
    since = headers.get("if-modified-since")
    if since:
        try:
            return parsedate_to_datetime(since) >= parsedate_to_datetime(last_modified)
        except (TypeError, ValueError):
            return False
    return False


def send_not_modified(handler: BaseHTTPRequestHandler, etag: str) -> None:
    handler.send_response(304)
    handler.send_header("ETag", etag)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a crawler opens many connections at once

    def __init__(self, address: tuple[str, int], site: LoopbackSite) -> None:
        super().__init__(address, _Handler)
        self.site = site


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def handle(self) -> None:
        # clients that abort (size caps, timeouts) are expected here
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            super().handle()

    def do_GET(self) -> None:
        site = cast(_Server, self.server).site
        headers = {name.lower(): value for name, value in self.headers.items()}
        site._record(self.path, headers)
        reply = site.respond(self.path, f"http://{headers.get('host', site.host)}")
        if reply.delay:
            time.sleep(reply.delay)
        etag = entity_tag(reply.body)
        if site._not_modified(reply, etag, headers):
            send_not_modified(self, etag)
            return
        try:
            self.send_response(reply.status)
            if reply.content_type:
                self.send_header("Content-Type", reply.content_type)
            length = reply.content_length if reply.content_length is not None else len(reply.body)
            self.send_header("Content-Length", str(length))
            if reply.validators and reply.status == 200:
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", site.last_modified)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (size cap, timeout): that is the point of some routes

    def log_message(self, format: str, *args: object) -> None:
        """Silent."""
