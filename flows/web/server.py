"""The web app on uvicorn in a background thread: for benches, tests and the demo."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette

_TOKEN_PATH = re.compile(r"^/(r|u|feed)/[^/?\s]+")


class RedactLinkTokens(logging.Filter):
    """Access log lines name /r/…, /u/…, /feed/…, never the signed token: it is a key."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            path = str(record.args[2])
            record.args = (*record.args[:2], _TOKEN_PATH.sub(r"/\1/…", path), *record.args[3:])
        return True


def install_log_redaction() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, RedactLinkTokens) for existing in access.filters):
        access.addFilter(RedactLinkTokens())


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Yield the base URL once the server listens; stop it and join its thread afterwards."""
    port = port or _free_port(host)
    install_log_redaction()
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="newswatch-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"the web app did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
