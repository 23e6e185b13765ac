"""A site that answers every request slowly on purpose: headers at once, then one byte of the
body every `interval` seconds, for `seconds` at most. A per-read timeout never fires on it;
only a deadline for the whole answer does."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

from flows.testsite.background import BackgroundServer


class DripSite(BackgroundServer):
    __test__ = False

    def __init__(
        self, host: str = "127.0.0.2", interval: float = 0.5, seconds: float = 30.0
    ) -> None:
        self.host = host
        self.port = 0
        self.interval = interval
        self.seconds = seconds
        self.stopping = threading.Event()
        self.requests: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _make_server(self) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer((self.host, self.port), _DripHandler)
        server.daemon_threads = True
        server.site = self  # type: ignore[attr-defined]
        return server

    def stop(self) -> None:
        self.stopping.set()  # ends the dripping handlers too
        super().stop()


class UnsizedSite(DripSite):
    """Answers every page with `size` bytes of HTML and no Content-Length (the end of the
    connection ends the body), as a streaming server may."""

    def __init__(self, host: str = "127.0.0.3", size: int = 50 * 1024 * 1024) -> None:
        super().__init__(host=host)
        self.size = size

    def _make_server(self) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer((self.host, self.port), _UnsizedHandler)
        server.daemon_threads = True
        server.site = self  # type: ignore[attr-defined]
        return server


class _UnsizedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        site = cast(UnsizedSite, self.server.site)  # type: ignore[attr-defined]
        site.requests.append(self.path)
        if self.path == "/robots.txt":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        chunk = b"<p>" + b"news " * 2000 + b"</p>\n"
        try:
            self.wfile.write(b"<html><body>")
            sent = 0
            while sent < site.size and not site.stopping.is_set():
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            return  # the client stopped reading

    def log_message(self, format: str, *args: object) -> None:
        """Silent."""


class _DripHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        site = cast(DripSite, self.server.site)  # type: ignore[attr-defined]
        site.requests.append(self.path)
        body = b"<html><body>" + b"x" * 4000 + b"</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain" if "robots" in self.path else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        deadline = time.monotonic() + site.seconds
        try:
            for position in range(len(body)):
                if site.stopping.wait(site.interval) or time.monotonic() > deadline:
                    return
                self.wfile.write(body[position : position + 1])
                self.wfile.flush()
        except OSError:
            return  # the client gave up

    def log_message(self, format: str, *args: object) -> None:
        """Silent."""
