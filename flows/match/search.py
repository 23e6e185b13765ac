"""Stored stories a watch query matches: the preview while a query is typed, and the archive.

The predicate is the matcher's own (flows/match/index.py): an article matches a watch when
`tsv @@ websearch_to_tsquery(config, query)` for the article's text-search configuration, and
a watch with a language matches only articles of that language's configuration. It is written
here as one `ts_config = ANY(cs) AND tsv @@ q` branch per tsquery the stored articles'
configurations make of the query, so Postgres can use the GIN index of `tsv` (a query computed
from each row's own configuration could not). A test checks that the preview finds exactly the stories the matcher alerts on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flows.match.query import check_with_postgres, validate_query
from flows.match.watches import _language
from flows.store.db import Connection

HIGHLIGHT_START = "\x02"
HIGHLIGHT_STOP = "\x03"
HEADLINE_OPTIONS = (
    f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, "
    'MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'
)
WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


@dataclass(frozen=True)
class QueryBranch:
    """The configurations under which the query parses to one same tsquery (its text form)."""

    tsquery: str
    configs: tuple[str, ...]


@dataclass(frozen=True)
class CheckedQuery:
    query: str
    language: str | None
    ts_config: str | None
    branches: tuple[QueryBranch, ...] = ()


def configs_in_use(connection: Connection) -> list[str]:
    """The configurations stored articles have (kept exact by triggers, migration 0011)."""
    rows = connection.execute(
        "SELECT ts_config::text AS ts_config FROM article_ts_configs ORDER BY 1"
    ).fetchall()
    return [str(row["ts_config"]) for row in rows]


def query_branches(
    connection: Connection, query: str, ts_config: str | None
) -> tuple[QueryBranch, ...]:
    """What Postgres makes of `query` under each configuration an article may have, grouped.

    Each branch is one scan of the GIN index, and an exclusion of a common word reads that
    word's whole posting list each time: so only the configurations articles are stored under
    are searched, and those that parse the query alike share a branch. One under which the
    query parses to nothing (stop words only there) can match nothing and is left out.
    """
    configs = [ts_config] if ts_config else configs_in_use(connection)
    rows = connection.execute(
        """SELECT websearch_to_tsquery(cfg::regconfig, %s)::text AS tsquery,
                  array_agg(cfg ORDER BY cfg) AS configs
           FROM unnest(%s::text[]) AS cfg GROUP BY 1 ORDER BY 1""",
        (query, configs),
    ).fetchall()
    return tuple(
        QueryBranch(str(row["tsquery"]), tuple(row["configs"])) for row in rows if row["tsquery"]
    )


def checked_watch_query(
    connection: Connection, query: str, language: str | None, ts_config: str | None
) -> CheckedQuery:
    """A stored watch's query, already validated when it was saved, ready to search with."""
    return CheckedQuery(query, language, ts_config, query_branches(connection, query, ts_config))


def check_query(connection: Connection, query: str, language: str | None) -> CheckedQuery:
    """What saving the watch would check (InvalidQuery/WatchError with the reason)."""
    text = validate_query(query)
    code, ts_config = _language(connection, language)
    check_with_postgres(connection, text, ts_config)
    return checked_watch_query(connection, text, code, ts_config)


def plain_snippet(snippet: str) -> str:
    return " ".join(snippet.replace(HIGHLIGHT_START, "*").replace(HIGHLIGHT_STOP, "*").split())


def match_condition(checked: CheckedQuery, alias: str = "a") -> tuple[str, dict[str, Any]]:
    """SQL true for exactly the articles the matcher would match, and its parameters.

    The matcher's predicate is `tsv @@ websearch_to_tsquery(ts_config, query)` with each
    article's own configuration; written with constant tsqueries, one branch each, Postgres
    can answer every branch from the GIN index of `tsv`.
    """
    params: dict[str, Any] = {"match_query": checked.query}
    branches = []
    for index, branch in enumerate(checked.branches):
        params[f"match_cfgs_{index}"] = list(branch.configs)
        params[f"match_tsq_{index}"] = branch.tsquery
        branches.append(
            f"({alias}.ts_config = ANY(%(match_cfgs_{index})s::regconfig[]) AND "
            f"{alias}.tsv @@ %(match_tsq_{index})s::tsquery)"
        )
    return "(" + (" OR ".join(branches) or "false") + ")", params


@dataclass(frozen=True)
class StoryHit:
    story_id: int
    article_id: int
    title: str
    publisher: str | None
    source: str
    language: str
    url: str
    original_url: str | None
    published_at: datetime | None
    fetched_at: datetime
    snippet: str


@dataclass(frozen=True)
class Preview:
    counts: dict[str, int]
    newest: list[StoryHit]


def preview(
    connection: Connection, checked: CheckedQuery, now: datetime, limit: int = 10
) -> Preview:
    """Stories stored in the last 24 h / 7 d / 30 d that the query matches, and the newest ten.

    A story counts once (the matcher alerts once per story), dated by its first stored copy.
    """
    condition, params = match_condition(checked)
    params |= {"since": now - WINDOWS["30d"], "now": now}
    params |= {f"w_{name}": now - span for name, span in WINDOWS.items()}
    counts_sql = ", ".join(
        f"count(*) FILTER (WHERE first_seen > %(w_{name})s) AS c_{name}" for name in WINDOWS
    )
    row = connection.execute(
        f"""SELECT {counts_sql} FROM (
                SELECT a.story_id, min(a.fetched_at) AS first_seen FROM articles a
                WHERE a.fetched_at > %(since)s AND a.fetched_at <= %(now)s AND {condition}
                GROUP BY a.story_id) stories""",
        params,
    ).fetchone()
    assert row is not None
    counts = {name: int(row[f"c_{name}"]) for name in WINDOWS}
    hits = _hits(
        connection,
        f"""SELECT DISTINCT ON (a.story_id) a.id FROM articles a
            WHERE a.fetched_at > %(since)s AND a.fetched_at <= %(now)s AND {condition}
            ORDER BY a.story_id, a.id""",
        params,
        checked,
        limit,
    )
    return Preview(counts, hits)


def _hits(
    connection: Connection,
    ids_sql: str,
    params: dict[str, Any],
    checked: CheckedQuery | None,
    limit: int,
    offset: int = 0,
    order_by_ids: bool = False,
) -> list[StoryHit]:
    headline = (
        "ts_headline(a.ts_config, left(a.body, 20000), "
        "websearch_to_tsquery(a.ts_config, %(match_query)s), %(headline)s)"
        if checked
        else "left(a.body, 240)"
    )
    order = (
        "array_position(%(ordered)s::bigint[], a.id)"
        if order_by_ids
        else "coalesce(a.published_at, a.fetched_at) DESC, a.id DESC"
    )
    rows = connection.execute(
        f"""SELECT a.story_id, a.id AS article_id, a.title, a.publisher, a.source, a.language,
                   a.canonical_url AS url, a.original_url, a.published_at, a.fetched_at,
                   {headline} AS snippet
            FROM articles a WHERE a.id IN ({ids_sql})
            ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s""",
        params | {"headline": HEADLINE_OPTIONS, "limit": limit, "offset": offset},
    ).fetchall()
    return [StoryHit(**row) for row in rows]


def matching_story_ids(
    connection: Connection, checked: CheckedQuery, since: datetime, until: datetime
) -> list[int]:
    condition, params = match_condition(checked)
    rows = connection.execute(
        f"""SELECT DISTINCT a.story_id FROM articles a
            WHERE a.fetched_at > %(since)s AND a.fetched_at <= %(until)s AND {condition}""",
        params | {"since": since, "until": until},
    ).fetchall()
    return sorted(int(row["story_id"]) for row in rows)


def matching_article_ids(
    connection: Connection, checked: CheckedQuery, since: datetime
) -> list[int]:
    condition, params = match_condition(checked)
    rows = connection.execute(
        f"SELECT a.id FROM articles a WHERE a.fetched_at > %(since)s AND {condition} ORDER BY a.id",
        params | {"since": since},
    ).fetchall()
    return [int(row["id"]) for row in rows]


@dataclass(frozen=True)
class ArchiveFilters:
    query: str = ""
    language: str | None = None  # the watch's stemming language (None: each article's own)
    source: str = ""
    publisher: str = ""
    article_language: str = ""
    date_from: date | None = None
    date_to: date | None = None


def archive_page(
    connection: Connection, filters: ArchiveFilters, page: int, per_page: int = 25
) -> tuple[list[StoryHit], bool]:
    """One page of stored articles, newest first (published, else stored), and whether more follow."""
    conditions: list[str] = []
    params: dict[str, Any] = {}
    checked = None
    if filters.query.strip():
        checked = check_query(connection, filters.query, filters.language)
        condition, params = match_condition(checked)
        conditions.append(condition)
    if filters.source:
        conditions.append("a.source = %(source)s")
        params["source"] = filters.source
    if filters.publisher:
        conditions.append("a.publisher = %(publisher)s")
        params["publisher"] = filters.publisher
    if filters.article_language:
        conditions.append("a.language = %(article_language)s")
        params["article_language"] = filters.article_language
    if filters.date_from:
        conditions.append("coalesce(a.published_at, a.fetched_at) >= %(date_from)s")
        params["date_from"] = filters.date_from
    if filters.date_to:
        conditions.append("coalesce(a.published_at, a.fetched_at) < %(date_to)s")
        params["date_to"] = filters.date_to + timedelta(days=1)
    where = " AND ".join(conditions) or "true"
    ids = connection.execute(
        f"""SELECT a.id FROM articles a WHERE {where}
            ORDER BY coalesce(a.published_at, a.fetched_at) DESC, a.id DESC
            LIMIT %(limit)s OFFSET %(offset)s""",
        params | {"limit": per_page + 1, "offset": max(page - 1, 0) * per_page},
    ).fetchall()
    ordered = [int(row["id"]) for row in ids]
    more = len(ordered) > per_page
    ordered = ordered[:per_page]
    if not ordered:
        return [], False
    hits = _hits(
        connection,
        "SELECT unnest(%(ordered)s::bigint[])",
        params | {"ordered": ordered, "match_query": checked.query if checked else ""},
        checked,
        per_page,
        order_by_ids=True,
    )
    return hits, more


@dataclass(frozen=True)
class AlsoSeenAt:
    """Another URL that carried a stored copy's very text (another outlet, a tracking variant)."""

    url: str
    first_seen_at: datetime | None  # None: met before first-seen times were kept
    last_seen_at: datetime | None


@dataclass(frozen=True)
class StoryCopy:
    article_id: int
    title: str
    source: str
    publisher: str | None
    url: str
    original_url: str | None
    language: str
    published_at: datetime | None
    stored_at: datetime
    last_seen_at: datetime
    also_at: tuple[AlsoSeenAt, ...] = ()


def story_copies(connection: Connection, story_id: int) -> list[StoryCopy]:
    """Every stored copy of a story (outlet, URL, first stored, last seen), first stored first,
    each with the other URLs that carried its exact text.

    A copy was last seen when a crawl last met its URL in its outlet's listings or feeds
    (flows/store/articles.py's SEEN_PRECISION), or when it was stored. An exact duplicate met
    under another URL is not stored again: it is one of `also_at`, with its own times.
    """
    rows = connection.execute(
        """SELECT a.id AS article_id, a.title, a.source, a.publisher, a.canonical_url AS url,
                  a.original_url, a.language, a.published_at, a.fetched_at AS stored_at,
                  greatest(a.fetched_at, (SELECT max(u.last_seen_at) FROM article_urls u
                                          WHERE u.article_id = a.id
                                            AND u.url IN (a.url, a.canonical_url)))
                      AS last_seen_at
           FROM articles a WHERE a.story_id = %s ORDER BY a.fetched_at, a.id""",
        (story_id,),
    ).fetchall()
    aliases: dict[int, list[AlsoSeenAt]] = {}
    for alias in connection.execute(
        """SELECT u.article_id, u.url, u.first_seen_at, u.last_seen_at
           FROM article_urls u JOIN articles a ON a.id = u.article_id
           WHERE a.story_id = %s AND u.url NOT IN (a.url, a.canonical_url)
           ORDER BY u.first_seen_at NULLS FIRST, u.url""",
        (story_id,),
    ):
        article_id = int(alias.pop("article_id"))
        aliases.setdefault(article_id, []).append(AlsoSeenAt(**alias))
    return [StoryCopy(**row, also_at=tuple(aliases.get(row["article_id"], ()))) for row in rows]
