"""The web app served by a real uvicorn on loopback, for tests (and the browser walk)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from flows.config.settings import Settings
from flows.web.app import create_app
from flows.web.server import serve_in_thread


@contextmanager
def serve_web(settings: Settings, database_url: str) -> Iterator[str]:
    """Yield the base URL of a running app; stop it (and its thread) afterwards."""
    with serve_in_thread(create_app(settings, database_url)) as base_url:
        yield base_url


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
