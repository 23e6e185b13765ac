"""Archive search (watch syntax plus filters), story pages, and CSV/JSON export, for editors.

CSV cells that a spreadsheet would run as a formula (starting =, +, -, @, tab or CR) are
prefixed with an apostrophe, as OWASP advises; JSON and HTML escape the rest.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flows.match import search
from flows.match.search import ArchiveFilters, StoryHit
from flows.store.db import Connection
from flows.web.common import current_editor, not_found, render, with_db

PER_PAGE = 25
EXPORT_ROWS = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def filters_from(request: Request) -> ArchiveFilters:
    params = request.query_params
    language = params.get("language", "any")[:20]
    return ArchiveFilters(
        query=params.get("q", "")[:600],
        language=None if language in ("", "any") else language,
        source=params.get("source", "")[:100],
        publisher=params.get("publisher", "")[:200],
        article_language=params.get("lang", "")[:10],
        date_from=_date(params.get("from", "")),
        date_to=_date(params.get("to", "")),
    )


def _page_number(request: Request) -> int:
    try:
        return max(1, min(int(request.query_params.get("page", "1")), 10000))
    except ValueError:
        return 1


async def archive_page(request: Request) -> Response:
    await current_editor(request)
    filters = filters_from(request)
    page = _page_number(request)

    def load(connection: Connection) -> tuple[list[StoryHit], bool, str]:
        try:
            hits, more = search.archive_page(connection, filters, page, PER_PAGE)
        except ValueError as error:
            return [], False, str(error)
        return hits, more, ""

    hits, more, error = await with_db(request, load)
    query_string = request.url.query
    base = "&".join(part for part in query_string.split("&") if not part.startswith("page="))
    return render(
        request,
        "archive.html",
        filters=filters,
        hits=hits,
        more=more,
        page=page,
        error=error,
        base=base,
    )


async def story_page(request: Request) -> Response:
    await current_editor(request)
    story_id = int(request.path_params["story_id"])
    copies = await with_db(request, lambda connection: search.story_copies(connection, story_id))
    if not copies:
        return not_found(request)
    seen = [copy.last_seen_at for copy in copies]
    seen += [alias.last_seen_at for copy in copies for alias in copy.also_at if alias.last_seen_at]
    return render(request, "story.html", story_id=story_id, copies=copies, last_seen=max(seen))


def _export_rows(connection: Connection, filters: ArchiveFilters) -> list[dict[str, Any]]:
    hits, _ = search.archive_page(connection, filters, 1, EXPORT_ROWS)
    rows = []
    for hit in hits:
        row = asdict(hit)
        row["snippet"] = " ".join(
            hit.snippet.replace(search.HIGHLIGHT_START, "")
            .replace(search.HIGHLIGHT_STOP, "")
            .split()
        )
        row["published_at"] = hit.published_at.isoformat() if hit.published_at else None
        row["fetched_at"] = hit.fetched_at.isoformat()
        rows.append(row)
    return rows


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


async def export(request: Request) -> Response:
    await current_editor(request)
    filters = filters_from(request)
    kind = request.path_params["kind"]
    if kind not in ("csv", "json"):
        return not_found(request)
    try:
        rows = await with_db(request, lambda connection: _export_rows(connection, filters))
    except ValueError as error:
        return Response(str(error), status_code=400, media_type="text/plain")
    disposition = {"content-disposition": f'attachment; filename="newswatch-archive.{kind}"'}
    if kind == "json":
        return Response(
            json.dumps(rows, ensure_ascii=False, indent=1),
            media_type="application/json",
            headers=disposition,
        )
    buffer = io.StringIO()
    columns = list(StoryHit.__dataclass_fields__)
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(row[column]) for column in columns])
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=disposition)


ROUTES = [
    Route("/archive", archive_page, methods=["GET"]),
    Route("/archive.{kind:str}", export, methods=["GET"]),
    Route("/stories/{story_id:int}", story_page, methods=["GET"]),
]
