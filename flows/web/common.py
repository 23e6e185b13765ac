"""What every page module shares: the app's resolved configuration, templates, database access."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from flows.config.settings import Settings
from flows.match.search import HIGHLIGHT_START, HIGHLIGHT_STOP
from flows.notify.links import LinkMaker
from flows.store.db import Connection
from flows.web.accounts import Editor, get_editor
from flows.web.security import csrf_token
from flows.web.tokens import LinkSigner

T = TypeVar("T")


@dataclass
class WebConfig:
    """Resolved once when the app is made, then passed to every page through app.state."""

    settings: Settings
    database_url: str
    signer: LinkSigner
    links: LinkMaker
    pool: ConnectionPool[Connection]


def config(request: Request) -> WebConfig:
    web: WebConfig = request.app.state.web
    return web


async def with_db(request: Request, work: Callable[[Connection], T]) -> T:
    """Run database work off the event loop, in one transaction (commit unless it raises)."""
    pool = config(request).pool

    def run() -> T:
        with pool.connection() as connection:  # commits on success, rolls back on error
            return work(connection)

    return await run_in_threadpool(run)


def highlighted(snippet: str) -> Markup:
    """A ts_headline snippet as HTML: the text escaped, then the match marks made <mark>."""
    text = str(escape(" ".join(snippet.split())))
    return Markup(text.replace(HIGHLIGHT_START, "<mark>").replace(HIGHLIGHT_STOP, "</mark>"))


def safe_url(url: str | None) -> str:
    """Only http(s) links: a stored `javascript:` URL must not become a clickable link."""
    text = (url or "").strip()
    return text if urlsplit(text).scheme.lower() in ("http", "https") else "#"


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("flows.web", "templates"),
        autoescape=jinja2.select_autoescape(["html", "xml"], default=True),
        undefined=jinja2.StrictUndefined,
    )
    env.filters["highlighted"] = highlighted
    env.filters["when"] = when
    env.filters["safe_url"] = safe_url
    return env


_ENV = environment()


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    page = _ENV.get_template(template).render(
        request=request,
        csrf=csrf_token(request),
        editor_name=request.session.get("editor_name"),
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


def render_text(template: str, **context: Any) -> str:
    return _ENV.get_template(template).render(**context)


def message_page(request: Request, title: str, text: str, status_code: int = 200) -> HTMLResponse:
    return render(request, "message.html", status_code, title=title, text=text)


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def current_editor(request: Request) -> Editor:
    """The signed-in editor; anyone else is sent to the login page."""
    editor_id = request.session.get("editor_id")
    editor = None
    if isinstance(editor_id, int):
        editor = await with_db(request, lambda connection: get_editor(connection, editor_id))
    if editor is None:
        request.session.pop("editor_id", None)
        request.session.pop("editor_name", None)
        raise HTTPException(303, headers={"Location": "/login"})
    return editor


def form_text(form: Any, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def not_found(request: Request) -> Response:
    return message_page(request, "Not found", "There is nothing here.", 404)
