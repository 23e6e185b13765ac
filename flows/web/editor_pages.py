"""Editors' pages: sign in, then create, edit, mute and delete watches, with a live preview.

The preview shows what saving would do: the parse error, or how many stored stories the query
matches in 24 h / 7 d / 30 d and the ten newest, found by the matcher's own predicate
(flows/match/search.py). It works without JavaScript (the form's Preview button renders it
on the server); app.js asks /watches/preview as the query is typed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from flows.match import backfill as backfills
from flows.match import search
from flows.match.matcher import MatchResult
from flows.match.watches import (
    MODES,
    Watch,
    add_watch,
    edit_watch,
    list_watches,
    remove_watch,
    set_muted,
)
from flows.notify import channels
from flows.notify.recipients import check_time_zone, time_zones
from flows.store.articles import TS_CONFIGS
from flows.store.db import Connection
from flows.web.common import (
    config,
    current_editor,
    form_text,
    not_found,
    redirect,
    render,
    when,
    with_db,
)
from flows.web.security import checked_form

LANGUAGES = ("any", *sorted(TS_CONFIGS), "simple")
BACKFILL_CHOICES = ("", "24h", "7d", "30d")


@dataclass
class WatchForm:
    """The form's values as typed, shown again with the error when saving fails."""

    name: str = ""
    query: str = ""
    language: str = "any"
    mode: str = "instant"
    digest_hour: str = "7"
    time_zone: str = "UTC"
    recipients: str = ""
    channels: str = ""
    backfill: str = ""
    channel_labels: list[str] = field(default_factory=list)

    @classmethod
    def from_form(cls, form: FormData) -> WatchForm:
        return cls(
            name=form_text(form, "name", 200),
            query=form_text(form, "query", 600),
            language=form_text(form, "language", 20) or "any",
            mode=form_text(form, "mode", 20) or "instant",
            digest_hour=form_text(form, "digest_hour", 4) or "7",
            time_zone=form_text(form, "time_zone", 60) or "UTC",
            recipients=form_text(form, "recipients", 20000),
            channels=form_text(form, "channels", 20000),
            backfill=form_text(form, "backfill", 10),
        )

    @classmethod
    def from_watch(cls, watch: Watch, time_zone: str, labels: list[str]) -> WatchForm:
        return cls(
            name=watch.name,
            query=watch.query,
            language=watch.language or "any",
            mode=watch.mode,
            digest_hour=str(watch.digest_hour),
            time_zone=time_zone,
            recipients="\n".join(watch.recipients),
            channel_labels=labels,
        )

    def emails(self) -> list[str]:
        return [
            line.strip() for line in self.recipients.replace(",", "\n").splitlines() if line.strip()
        ]


def _watch_by_id(connection: Connection, watch_id: int) -> Watch | None:
    return next((watch for watch in list_watches(connection) if watch.id == watch_id), None)


def _time_zone(connection: Connection, watch_id: int) -> str:
    row = connection.execute("SELECT time_zone FROM watches WHERE id = %s", (watch_id,)).fetchone()
    return str(row["time_zone"]) if row else "UTC"


def save_watch(
    connection: Connection, existing: Watch | None, typed: WatchForm
) -> tuple[Watch, MatchResult | None]:
    """Validate and save in one transaction; the backfill follows once the watch is saved."""
    span = backfills.parse_span(typed.backfill) if typed.backfill else None
    zone = check_time_zone(typed.time_zone)
    try:
        hour = int(typed.digest_hour)
    except ValueError:
        raise ValueError(f"digest hour must be a number 0-23, got {typed.digest_hour!r}") from None
    language = None if typed.language == "any" else typed.language
    with connection.transaction():
        if existing is None:
            watch = add_watch(
                connection,
                typed.name,
                typed.query,
                typed.emails(),
                language=language,
                mode=typed.mode,
                digest_hour=hour,
            )
        else:
            watch = edit_watch(
                connection,
                existing.name,
                query=typed.query,
                emails=typed.emails(),
                language=typed.language,
                mode=typed.mode,
                digest_hour=hour,
            )
        connection.execute("UPDATE watches SET time_zone = %s WHERE id = %s", (zone, watch.id))
        if typed.channels.strip():
            channels.set_channels(connection, watch.id, typed.channels.splitlines())
    result = backfills.backfill(connection, watch, span) if span else None
    return watch, result


def _preview_context(connection: Connection, query: str, language: str) -> dict[str, Any]:
    try:
        checked = search.check_query(connection, query, None if language == "any" else language)
    except ValueError as error:
        return {"error": str(error)}
    found = search.preview(connection, checked, datetime.now(UTC))
    return {"counts": found.counts, "stories": found.newest}


async def watches_page(request: Request) -> Response:
    await current_editor(request)
    watches = await with_db(request, list_watches)
    return render(
        request, "watches.html", watches=watches, notice=request.query_params.get("done", "")[:60]
    )


def _form_page(
    request: Request,
    typed: WatchForm,
    watch: Watch | None,
    error: str = "",
    preview: Any = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "watch_form.html",
        status,
        form=typed,
        watch=watch,
        error=error,
        preview=preview,
        languages=LANGUAGES,
        modes=MODES,
        backfills=BACKFILL_CHOICES,
        time_zones=time_zones(),
        feed_url=None,
    )


async def new_watch_page(request: Request) -> Response:
    await current_editor(request)
    return _form_page(request, WatchForm(), None)


async def edit_watch_page(request: Request) -> Response:
    await current_editor(request)
    watch_id = int(request.path_params["watch_id"])

    def load(connection: Connection) -> tuple[Watch | None, str, list[str], int]:
        watch = _watch_by_id(connection, watch_id)
        if watch is None:
            return None, "UTC", [], 1
        row = connection.execute(
            "SELECT feed_generation FROM watches WHERE id = %s", (watch_id,)
        ).fetchone()
        generation = int(row["feed_generation"]) if row else 1
        return (
            watch,
            _time_zone(connection, watch_id),
            channels.labels(connection, watch_id),
            generation,
        )

    watch, zone, labels, generation = await with_db(request, load)
    if watch is None:
        return not_found(request)
    page = render(
        request,
        "watch_form.html",
        form=WatchForm.from_watch(watch, zone, labels),
        watch=watch,
        error="",
        preview=None,
        languages=LANGUAGES,
        modes=MODES,
        backfills=BACKFILL_CHOICES,
        time_zones=time_zones(),
        feed_url=config(request).links.feed_url(watch.id, generation),
    )
    return page


async def submit_watch(request: Request) -> Response:
    await current_editor(request)
    form = await checked_form(request)
    typed = WatchForm.from_form(form)
    watch_id = request.path_params.get("watch_id")

    def act(connection: Connection) -> tuple[Watch | None, Any, str, MatchResult | None]:
        existing = _watch_by_id(connection, int(watch_id)) if watch_id else None
        if watch_id and existing is None:
            return None, None, "no such watch", None
        if form.get("action") == "preview":
            return existing, _preview_context(connection, typed.query, typed.language), "", None
        try:
            watch, result = save_watch(connection, existing, typed)
        except ValueError as error:
            return existing, None, str(error), None
        return watch, None, "", result

    watch, preview, error, result = await with_db(request, act)
    if preview is not None or error:
        return _form_page(
            request, typed, watch if watch_id else None, error, preview, 400 if error else 200
        )
    assert watch is not None
    done = f"saved {watch.name}"
    if result is not None:
        done += f"; backfill: {result.alerts_new} stories alerted"
    return redirect("/watches?done=" + _quote(done))


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text[:60], safe="")


async def watch_action(request: Request) -> Response:
    await current_editor(request)
    await checked_form(request)
    watch_id = int(request.path_params["watch_id"])
    action = request.path_params["action"]
    if action not in _ACTION_DONE:
        return not_found(request)

    def act(connection: Connection) -> str | None:
        watch = _watch_by_id(connection, watch_id)
        if watch is None:
            return None
        if action == "delete":
            remove_watch(connection, watch.name)
        elif action == "feed":
            connection.execute(
                "UPDATE watches SET feed_generation = feed_generation + 1 WHERE id = %s",
                (watch_id,),
            )
        else:
            set_muted(connection, watch.name, action == "mute")
        return watch.name

    name = await with_db(request, act)
    if name is None:
        return not_found(request)
    if action == "feed":
        return redirect(f"/watches/{watch_id}")
    return redirect("/watches?done=" + _quote(f"{_ACTION_DONE[action]} {name}"))


_ACTION_DONE = {"mute": "muted", "unmute": "unmuted", "delete": "deleted", "feed": "new feed for"}


async def preview_json(request: Request) -> Response:
    await current_editor(request)
    query = request.query_params.get("q", "")[:600]
    language = request.query_params.get("language", "any")[:20]
    found = await with_db(request, lambda connection: _preview_context(connection, query, language))
    if "error" in found:
        return JSONResponse({"error": found["error"]})
    return JSONResponse(
        {
            "counts": found["counts"],
            "stories": [
                {
                    "title": hit.title,
                    "url": hit.original_url or hit.url,
                    "publisher": hit.publisher or hit.source,
                    "when": when(hit.published_at or hit.fetched_at),
                    # [text, is-a-match] pieces: app.js builds text nodes and <mark>s from them.
                    "snippet": _pieces(hit.snippet),
                }
                for hit in found["stories"]
            ],
        }
    )


def _pieces(snippet: str) -> list[tuple[str, bool]]:
    pieces: list[tuple[str, bool]] = []
    for index, part in enumerate(" ".join(snippet.split()).split(search.HIGHLIGHT_START)):
        marked, _, rest = part.partition(search.HIGHLIGHT_STOP) if index else ("", "", part)
        if marked:
            pieces.append((marked, True))
        if rest:
            pieces.append((rest, False))
    return pieces


ROUTES = [
    Route("/watches", watches_page, methods=["GET"]),
    Route("/watches/new", new_watch_page, methods=["GET"]),
    Route("/watches/new", submit_watch, methods=["POST"]),
    Route("/watches/preview", preview_json, methods=["GET"]),
    Route("/watches/{watch_id:int}", edit_watch_page, methods=["GET"]),
    Route("/watches/{watch_id:int}", submit_watch, methods=["POST"]),
    Route("/watches/{watch_id:int}/{action:str}", watch_action, methods=["POST"]),
]
