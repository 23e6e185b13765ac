"""A watch's Atom feed at a signed URL (a feed reader cannot sign in; the URL is the key).

The URL does not expire; "new feed address" on the watch's page raises its generation and
refuses the old one. Entries are the watch's alerts, newest first, each once per story.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flows.match.search import HIGHLIGHT_START, HIGHLIGHT_STOP
from flows.store.db import Connection
from flows.web.common import config, message_page, render_text, with_db
from flows.web.tokens import LinkError

FEED_ENTRIES = 50


def _feed(connection: Connection, watch_id: int, generation: int) -> dict[str, object] | None:
    watch = connection.execute(
        "SELECT id, name, query, feed_generation FROM watches WHERE id = %s", (watch_id,)
    ).fetchone()
    if watch is None or int(watch["feed_generation"]) != generation:
        return None
    entries = connection.execute(
        f"""SELECT al.id AS alert_id, al.story_id, al.created_at, ar.title,
                   coalesce(ar.publisher, ar.source) AS outlet,
                   coalesce(ar.original_url, ar.canonical_url) AS link, ar.published_at,
                   ts_headline(ar.ts_config, left(ar.body, 20000),
                               websearch_to_tsquery(ar.ts_config, %(query)s),
                               'StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, MaxWords=40, MinWords=15')
                       AS snippet
            FROM alerts al JOIN articles ar ON ar.id = al.article_id
            WHERE al.watch_id = %(watch)s ORDER BY al.id DESC LIMIT %(limit)s""",
        {"watch": watch_id, "query": watch["query"], "limit": FEED_ENTRIES},
    ).fetchall()
    for entry in entries:
        entry["snippet"] = " ".join(
            str(entry["snippet"]).replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_STOP, "").split()
        )
    updated = entries[0]["created_at"] if entries else datetime.now(UTC)
    return {"watch": watch, "entries": entries, "updated": updated}


async def feed(request: Request) -> Response:
    web = config(request)
    try:
        claims = web.signer.verify(request.path_params["token"], "feed", expires=False)
        watch_id = int(claims.subject)
    except (LinkError, ValueError):
        return message_page(request, "Feed not valid", "This feed address is not valid.", 403)
    found = await with_db(
        request, lambda connection: _feed(connection, watch_id, claims.generation)
    )
    if found is None:
        return message_page(request, "Feed not valid", "This feed address was replaced.", 403)
    body = render_text(
        "feed.xml",
        feed_url=str(request.url),
        public_url=web.links.public_url,
        **found,
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


ROUTES = [Route("/feed/{token}", feed, methods=["GET"])]
