"""The web app's defences, each tried against a real server: CSRF, headers, login throttling,
escaping in HTML, Atom and CSV, secrets kept out of pages and logs, loopback binding."""

from __future__ import annotations

import csv
import io
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import psutil
import pytest

from flows.config.settings import Settings
from flows.match import matcher
from flows.match.watches import add_watch, get_watch
from flows.notify import channels
from flows.notify.links import LinkMaker
from flows.store import articles, db
from flows.web import accounts
from flows.web.tokens import web_secret
from tests.support import alert_fixtures as fx
from tests.support.smtp import free_port
from tests.support.web import csrf_of, serve_web, signed_in

PASSWORD = "a long enough password"
HOSTILE = '<script>alert(1)</script>=HYPERLINK("http://evil.example")'
SMTP_SECRET = "smtp-password-do-not-show"
CHANNEL_SECRET = "T0SECRETHOOKPART"
HOSTILE_URL = 'javascript:alert(2)//"><script>alert(3)</script>'


@pytest.fixture
def web(settings: Settings, clean_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("NEWSWATCH_SMTP_PASSWORD", SMTP_SECRET)
    with db.connect(clean_db) as connection:
        accounts.add_editor(connection, "editor", "editor@example.com", PASSWORD)
        hostile = replace(fx.FERRY, title=HOSTILE + " ferry", publisher="=cmd|' /C calc'!A0")
        run_id = articles.start_run(connection, ["daily8"])
        # The same text met under a hostile URL: kept as the story's "also at" URL.
        alias = replace(hostile, url=HOSTILE_URL, canonical_url=HOSTILE_URL)
        articles.store_articles(connection, [hostile, fx.ORCHARD, alias], run_id)
        watch = add_watch(connection, "<b>ferry</b>", "ferry", ["reader@example.com"])
        channels.set_channels(connection, watch.id, [f"json://127.0.0.1:9/hook/{CHANNEL_SECRET}"])
        matcher.match_new_articles(connection, run_id)
    with serve_web(Settings(), clean_db) as base_url:
        yield base_url


def test_security_headers_on_pages(web: str) -> None:
    for path in ("/login", "/static/app.css", "/no-such-page"):
        response = httpx.get(web + path)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert httpx.get(web + "/login").headers["cache-control"] == "no-store"
    cookie = httpx.get(web + "/login").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_every_state_changing_form_needs_its_csrf_token(web: str, clean_db: str) -> None:
    editor = signed_in(web, "editor", PASSWORD)
    with db.connect(clean_db) as connection:
        watch_id = get_watch(connection, "<b>ferry</b>").id
    forms = {
        "/logout": {},
        "/watches/new": {"name": "x", "query": "ferry", "recipients": "x@example.com"},
        f"/watches/{watch_id}": {"query": "harbour", "recipients": "x@example.com"},
        f"/watches/{watch_id}/mute": {},
        f"/watches/{watch_id}/delete": {},
        f"/watches/{watch_id}/feed": {},
        "/me/leave": {"watch_id": str(watch_id)},
        "/me/preferences": {"paused": "on"},
        "/me/rotate": {},
    }
    for path, fields in forms.items():
        for token in (None, "forged-token"):
            data = dict(fields) | ({"csrf": token} if token else {})
            response = editor.post(path, data=data)
            assert response.status_code == 403, (path, token, response.status_code)
    # The login form too: a page elsewhere cannot sign a visitor in as someone else.
    fresh = httpx.Client(base_url=web)
    assert fresh.post("/login", data={"name": "editor", "password": PASSWORD}).status_code == 403
    with db.connect(clean_db) as connection:
        watch = get_watch(connection, "<b>ferry</b>")  # still there, unchanged, not muted
        assert watch.query == "ferry" and not watch.muted
    assert editor.get("/watches").status_code == 200  # still signed in


def test_login_is_rate_limited(web: str) -> None:
    client = httpx.Client(base_url=web)
    token = csrf_of(client.get("/login").text)
    codes = [
        client.post(
            "/login", data={"csrf": token, "name": "editor", "password": f"wrong {i}"}
        ).status_code
        for i in range(accounts.MAX_FAILURES_PER_USER)
    ]
    assert codes == [401] * accounts.MAX_FAILURES_PER_USER
    # Over the limit, even the right password gets no answer for a while.
    blocked = client.post("/login", data={"csrf": token, "name": "editor", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "/watches" not in blocked.headers.get("location", "")


def test_pages_need_an_editor(web: str) -> None:
    for path in (
        "/watches",
        "/watches/new",
        "/archive",
        "/archive.csv",
        "/stories/1",
        "/watches/preview?q=ferry",
    ):
        response = httpx.get(web + path)
        assert response.status_code == 303 and response.headers["location"] == "/login", path


def test_page_values_are_escaped_in_html_atom_csv_and_json(
    web: str, clean_db: str, settings: Settings
) -> None:
    editor = signed_in(web, "editor", PASSWORD)
    for path in ("/archive?q=ferry", "/watches", "/stories/1"):
        page = editor.get(path).text
        assert "<script>alert(1)</script>" not in page and "<b>ferry</b>" not in page
        assert "<script>alert(3)" not in page and 'href="javascript:' not in page
    assert "also at" in editor.get("/stories/1").text
    archive = editor.get("/archive?q=ferry").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in archive
    preview = editor.get("/watches/preview", params={"q": "ferry"}).json()
    assert preview["stories"][0]["title"].startswith("<script>")  # data, made text by app.js
    rows = list(csv.reader(io.StringIO(editor.get("/archive.csv?q=ferry").text)))
    header, first = rows[0], rows[1]
    assert first[header.index("title")].startswith("<script>")  # not a formula: kept as is
    assert first[header.index("publisher")] == "'=cmd|' /C calc'!A0"
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows[1:] for cell in row)
    assert editor.get("/archive.json?q=ferry").json()[0]["publisher"] == "=cmd|' /C calc'!A0"
    with db.connect(clean_db) as connection:
        watch = get_watch(connection, "<b>ferry</b>")
    feed_url = LinkMaker.from_settings(settings).feed_url(watch.id, 1)
    feed = httpx.get(web + feed_url.removeprefix(settings.public_url))
    assert feed.headers["content-type"].startswith("application/atom+xml")
    assert "<script>" not in feed.text and "&lt;script&gt;" in feed.text
    assert "<title>newswatch: &lt;b&gt;ferry&lt;/b&gt;</title>" in feed.text
    assert httpx.get(web + "/feed/" + "x" * 40).status_code == 403


def test_secrets_never_in_pages_or_logs(
    web: str, clean_db: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = web_secret(settings)
    editor = signed_in(web, "editor", PASSWORD)
    with db.connect(clean_db) as connection:
        watch_id = get_watch(connection, "<b>ferry</b>").id
    pages = [
        editor.get(path).text
        for path in ("/watches", f"/watches/{watch_id}", "/archive", "/archive.json", "/login")
    ]
    for text in [*pages, caplog.text]:
        assert secret not in text and SMTP_SECRET not in text and CHANNEL_SECRET not in text
    assert PASSWORD not in caplog.text
    assert "json://127.0.0.1:9/…" in pages[1]  # the channel is shown, its secret part not


def test_newswatch_web_binds_to_loopback_unless_told(
    settings: Settings, clean_db: str, tmp_path: Path
) -> None:
    port = free_port()
    environment = os.environ | {"DATABASE_URL": clean_db}
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "web", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        listening: list[str] = []
        while not listening and time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            listening = [
                connection.laddr.ip
                for connection in psutil.Process(process.pid).net_connections("inet")
                if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
            ]
            time.sleep(0.1)
        assert listening == ["127.0.0.1"]
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").text == "ok"
    finally:
        process.terminate()
        process.wait(timeout=20)
