"""Matching through the watch-term index gives exactly what a plain `@@` gives, per article language."""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import UTC, datetime

import pytest

from flows.config.sources import Source
from flows.extract.article import extract_article
from flows.match import matcher
from flows.match.index import MATCH_PAIRS_SQL, hash_joins, query_cover
from flows.match.watches import add_watch
from flows.records import FetchedPage
from flows.store import articles as store
from flows.store import db
from tests.support import alert_fixtures as fx

HAND_WRITTEN_QUERIES = [
    "ferry",
    "Ferries",  # stemming: english 'ferri' matches "ferry" in English articles only
    '"electric ferry"',
    '"ferry electric"',  # phrase in the wrong order
    '"island council" -volcano',
    "frost -apple",  # excluded word present: no match
    "railway OR orchards",
    "harbour pier tide",
    "the OR railway",  # a stop word in English, a word in the 'simple' configuration
    "-sunday railway",
    "ferry OR -harbour",  # no cover: checked against every article
    '"growers\' cooperative"',
    "المياه",
    "شبكة OR الأنابيب",
    '"الأحياء القديمة" -البلدية',
    "signalling replacing",
]


def _plain_matches(connection: db.Connection) -> set[tuple[int, int]]:
    rows = connection.execute(
        """SELECT w.id AS watch_id, a.id AS article_id FROM watches w JOIN articles a
           ON (w.ts_config IS NULL OR w.ts_config = a.ts_config)
           AND a.tsv @@ websearch_to_tsquery(a.ts_config, w.query)
           WHERE NOT w.muted"""
    ).fetchall()
    return {(row["watch_id"], row["article_id"]) for row in rows}


def _indexed_matches(connection: db.Connection) -> set[tuple[int, int]]:
    rows = connection.execute("SELECT watch_id, article_id FROM alerts").fetchall()
    return {(row["watch_id"], row["article_id"]) for row in rows}


def _stored(connection: db.Connection) -> None:
    run_id = store.start_run(connection, ["daily8"])
    # Distinct stories only, so that one alert per (watch, story) is one per (watch, article).
    store.store_articles(connection, [fx.FERRY, fx.ORCHARD, fx.RAIL, fx.WATER_AR], run_id)


def test_hand_written_queries_match_like_plain_websearch(clean_db: str) -> None:
    with db.connect(clean_db) as connection:
        for number, query in enumerate(HAND_WRITTEN_QUERIES):
            language = "en" if number % 5 == 1 else "ar" if number % 7 == 3 else None
            add_watch(connection, f"w{number}", query, "desk@example.com", language=language)
        _stored(connection)
        expected = _plain_matches(connection)
        matcher.match_new_articles(connection, run_id=1)
        found = _indexed_matches(connection)
    assert expected  # the sample does match something
    assert found == expected


def _jit_compiled(connection: db.Connection, ids: list[int]) -> bool:
    plan = connection.execute(
        f"EXPLAIN (ANALYZE, FORMAT JSON) {MATCH_PAIRS_SQL}", {"ids": ids}
    ).fetchone()
    assert plan is not None
    return "JIT" in next(iter(plan.values()))[0]


def test_matching_statement_is_planned_with_hash_joins_and_never_jit_compiled(
    clean_db: str,
) -> None:
    """Nested loops off prices the plan at 10^10, past any JIT threshold: without `jit = off`
    Postgres spent most of a match compiling it."""
    with db.connect(clean_db) as connection:
        add_watch(connection, "ferries", "ferry OR harbour", "desk@example.com")
        _stored(connection)
        ids = [row["id"] for row in connection.execute("SELECT id FROM articles")]
        with connection.transaction():
            connection.execute("SET LOCAL jit_above_cost = 0")  # JIT for any plan, where built in
            jit_available = connection.execute("SELECT pg_jit_available() AS on").fetchone()
            with hash_joins(connection):
                settings = connection.execute(
                    "SELECT current_setting('jit') AS jit, "
                    "current_setting('enable_nestloop') AS nestloop"
                ).fetchone()
                assert settings == {"jit": "off", "nestloop": "off"}
                assert not _jit_compiled(connection, ids)
            after = connection.execute("SELECT current_setting('enable_nestloop') AS nestloop")
            assert after.fetchone() == {"nestloop": "on"}
            if jit_available and jit_available["on"]:  # the control: this server does compile
                connection.execute("SET LOCAL jit = on")
                assert _jit_compiled(connection, ids)


def test_random_queries_match_like_plain_websearch(clean_db: str) -> None:
    """A sample of generated queries over the articles' own words, all syntax forms mixed."""
    chance = random.Random(7)
    words = sorted(
        {
            w
            for a in (fx.FERRY, fx.ORCHARD, fx.RAIL, fx.WATER_AR)
            for w in re.findall(r"\w{3,}", a.body)
        }
    )
    with db.connect(clean_db) as connection:
        for number in range(300):
            parts = []
            for _ in range(chance.randint(1, 4)):
                form = chance.random()
                if form < 0.2:
                    parts.append(f'"{chance.choice(words)} {chance.choice(words)}"')
                elif form < 0.35 and parts:
                    parts.append(f"-{chance.choice(words)}")
                elif form < 0.5 and parts:
                    parts.append(f"OR {chance.choice(words)}")
                else:
                    parts.append(chance.choice(words))
            query = " ".join(parts)
            try:
                add_watch(connection, f"r{number}", query, "desk@example.com")
            except ValueError:
                continue  # refused on the way in (e.g. only stop words): never matched
        _stored(connection)
        expected = _plain_matches(connection)
        matcher.match_new_articles(connection, run_id=1)
        found = _indexed_matches(connection)
    assert len(expected) > 50
    assert found == expected


@pytest.mark.parametrize(
    ("tsquery", "cover"),
    [
        ("'ferri'", {"ferri"}),
        ("'north' <-> 'korea' & !'sport'", {"korea"}),  # the rarer phrase word
        ("'solar' | 'photovolta'", {"solar", "photovolta"}),
        ("!'foo' & 'bar'", {"bar"}),
        ("'x' | !'y'", None),
        ("'a' & 'b' | 'c'", {"a", "c"}),
        ("'o''brien'", {"o'brien"}),
        ("", set()),
    ],
)
def test_query_cover(tsquery: str, cover: set[str] | None) -> None:
    result = query_cover(tsquery, {"korea": 5, "north": 9, "b": 3, "a": 1})
    assert (None if result is None else set(result)) == cover


def test_words_with_combining_marks_match_either_way(clean_db: str) -> None:
    """A page written with combining accents, a query typed precomposed or not: both match."""
    paragraph = (
        "Le café de la gare ferme après soixante ans : la propriétaire part à la retraite "
        "et personne n'a repris le fonds de commerce, malgré les efforts de la mairie. "
    ) * 3
    html = f"<html lang=fr><body><h1>Fermeture</h1><p>{paragraph}</p></body></html>"
    page = FetchedPage(
        source="news",
        url="https://news.example/a/1",
        status=200,
        fetched_at=datetime(2026, 11, 28, 12, tzinfo=UTC),
        body=unicodedata.normalize("NFD", html).encode(),
        content_type="text/html; charset=utf-8",
    )
    article = extract_article(page, Source(name="news", feeds=["https://news.example/rss"]))
    with db.connect(clean_db) as connection:
        precomposed = add_watch(connection, "nfc", "café", "desk@example.com")
        combining = add_watch(connection, "nfd", "cafe\u0301", "desk@example.com")
        run_id = store.start_run(connection, ["news"])
        store.store_articles(connection, [article], run_id)
        matcher.match_new_articles(connection, run_id=run_id)
        alerted = {row["watch_id"] for row in connection.execute("SELECT watch_id FROM alerts")}
    assert alerted == {precomposed.id, combining.id}


def test_every_postgres_stemming_configuration_has_a_language(clean_db: str) -> None:
    with db.connect(clean_db) as connection:
        configs = {row["cfgname"] for row in connection.execute("SELECT cfgname FROM pg_ts_config")}
    assert len(configs) > 20
    assert configs - {"simple"} <= set(store.TS_CONFIGS.values())


def test_undeclared_german_article_is_matched_stemmed(clean_db: str) -> None:
    """No lang attribute: the language is read from the text, so "Preis" finds "Preise"."""
    paragraph = (
        "Die Stadtwerke erhöhen die Preise für Fernwärme ab März, teilte der Versorger mit. "
        "Betroffen sind vor allem Mieter in den älteren Vierteln im Norden der Stadt. "
    ) * 3
    page = FetchedPage(
        source="news",
        url="https://news.example/a/2",
        status=200,
        fetched_at=datetime(2026, 11, 28, 12, tzinfo=UTC),
        body=f"<html><body><h1>Fernwärme</h1><p>{paragraph}</p></body></html>".encode(),
        content_type="text/html; charset=utf-8",
    )
    article = extract_article(page, Source(name="news", feeds=["https://news.example/rss"]))
    with db.connect(clean_db) as connection:
        watch = add_watch(connection, "preis", "Preis", "desk@example.com")
        run_id = store.start_run(connection, ["news"])
        store.store_articles(connection, [article], run_id)
        matcher.match_new_articles(connection, run_id=run_id)
        stored = connection.execute("SELECT ts_config::text AS config FROM articles").fetchone()
        alerted = [row["watch_id"] for row in connection.execute("SELECT watch_id FROM alerts")]
    assert stored == {"config": "german"}
    assert alerted == [watch.id]
