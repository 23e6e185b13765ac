"""The web app served by a real uvicorn on loopback, for tests (and the browser walk)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from flows.config.settings import Settings
from flows.web.app import create_app
from tests.support.smtp import free_port


@contextmanager
def serve_web(settings: Settings, database_url: str) -> Iterator[str]:
    """Yield the base URL of a running app; stop it (and its thread) afterwards."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, database_url),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web app did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def signed_in(base_url: str, name: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=20)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"csrf": token, "name": name, "password": password})
    assert response.status_code == 303, response.text
    return client
