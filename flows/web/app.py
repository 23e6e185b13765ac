"""The newswatch web app: recipients' pages, editors' pages, archive and feeds (Starlette).

Server-rendered pages and plain forms; app.js only adds the live preview. Configuration is
resolved once here and reaches the pages through `app.state.web`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from flows.config.settings import Settings
from flows.notify.links import LinkMaker
from flows.store import db
from flows.store.db import Connection
from flows.web import archive, auth_pages, editor_pages, feeds, recipient_pages
from flows.web.common import WebConfig, message_page
from flows.web.security import SecurityHeaders
from flows.web.tokens import LinkSigner, web_secret

SESSION_MAX_AGE = 12 * 3600
STATIC_DIR = Path(__file__).with_name("static")


async def home(request: Request) -> Response:
    if request.session.get("editor_id"):
        return RedirectResponse("/watches", status_code=303)
    if request.session.get("recipient"):
        return RedirectResponse("/me", status_code=303)
    return RedirectResponse("/login", status_code=303)


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (301, 302, 303, 307) and exc.headers:
        return Response(status_code=exc.status_code, headers=exc.headers)
    titles = {403: "Not allowed", 404: "Not found", 405: "Not allowed"}
    return message_page(
        request, titles.get(exc.status_code, "Error"), str(exc.detail), exc.status_code
    )


def create_app(settings: Settings, database_url: str | None = None) -> Starlette:
    url = database_url or db.prepare(settings)
    secret = web_secret(settings)
    pool: ConnectionPool[Connection] = ConnectionPool(
        url,
        min_size=1,
        max_size=8,
        kwargs={"row_factory": dict_row},
        open=False,
        name="newswatch-web",
    )
    web = WebConfig(
        settings=settings,
        database_url=url,
        signer=LinkSigner.from_settings(settings),
        links=LinkMaker.from_settings(settings),
        pool=pool,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool.open(wait=True, timeout=30)
        try:
            yield
        finally:
            pool.close()

    # Cookies get their own key, derived from the secret, never the links' one.
    session_key = hmac.new(secret.encode(), b"newswatch-session", hashlib.sha256).hexdigest()
    routes = [
        Route("/", home),
        Route("/healthz", health),
        *auth_pages.ROUTES,
        *recipient_pages.ROUTES,
        *editor_pages.ROUTES,
        *archive.ROUTES,
        *feeds.ROUTES,
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=session_key,
                session_cookie="newswatch_session",
                max_age=SESSION_MAX_AGE,
                same_site="lax",
                https_only=(
                    settings.public_url.startswith("https://")
                    if settings.web_secure_cookies is None
                    else settings.web_secure_cookies
                ),
            ),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.web = web
    return app
