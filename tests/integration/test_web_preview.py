"""The preview finds what the matcher alerts on; backfill alerts on it once; `watch test`;
chat/webhook channels through Apprise to a real HTTP server, once per story, retried."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flows.config.settings import Settings
from flows.fetch import history
from flows.match import matcher, search
from flows.match.backfill import backfill, parse_span
from flows.match.watches import WatchError, add_watch, get_watch
from flows.notify import channels
from flows.store import articles, db
from tests.support import alert_fixtures as fx

QUERIES = [
    ("ferry", None),
    ('"electric ferry" -orchard', None),
    ("harvest OR railway", None),
    ("المياه", None),
    ("ferries", "en"),
    ("ferry", "de"),
    ("signalling -buses", "simple"),
]


def _store_all(connection: db.Connection) -> int:
    run_id = articles.start_run(connection, ["daily8"])
    articles.store_articles(connection, fx.ALL, run_id)
    return run_id


@pytest.mark.parametrize(("query", "language"), QUERIES)
def test_preview_finds_exactly_what_the_matcher_alerts_on(
    clean_db: str, query: str, language: str | None
) -> None:
    with db.connect(clean_db) as connection:
        watch = add_watch(connection, "w", query, ["a@example.com"], language=language)
        run_id = _store_all(connection)
        checked = search.check_query(connection, query, language)
        latest = connection.execute("SELECT max(fetched_at) AS t FROM articles").fetchone()
        assert latest is not None
        previewed = search.matching_story_ids(
            connection, checked, latest["t"] - timedelta(days=1), latest["t"]
        )
        matcher.match_new_articles(connection, run_id)
        alerted = sorted(
            row["story_id"]
            for row in connection.execute(
                "SELECT story_id FROM alerts WHERE watch_id = %s", (watch.id,)
            )
        )
        found = search.preview(connection, checked, latest["t"])
    assert previewed == alerted
    assert found.counts["24h"] == len(alerted)
    assert sorted(hit.story_id for hit in found.newest) == alerted


def test_a_search_over_every_language_branches_only_on_configurations_in_use(
    clean_db: str,
) -> None:
    """The triggers keep `article_ts_configs` equal to the configurations stored (inserts and
    a changed configuration), and a search over every language has one branch per tsquery
    those make of it: not one per configuration the server has."""
    with db.connect(clean_db) as connection:
        assert search.query_branches(connection, "ferry -orchard", None) == ()
        _store_all(connection)
        stored = connection.execute(
            "SELECT array_agg(DISTINCT ts_config::text ORDER BY ts_config::text) AS c FROM articles"
        ).fetchone()
        assert stored is not None and len(stored["c"]) == 2  # english and arabic
        assert search.configs_in_use(connection) == stored["c"]
        connection.execute(
            "UPDATE articles SET ts_config = 'german' WHERE id = (SELECT min(id) FROM articles)"
        )
        in_use = search.configs_in_use(connection)
        branches = search.query_branches(connection, "ferries -orchards", None)
        server = connection.execute("SELECT count(*) AS n FROM pg_ts_config").fetchone()
    assert in_use == sorted([*stored["c"], "german"])
    assert server is not None and server["n"] > len(in_use)
    assert sorted(config for branch in branches for config in branch.configs) == in_use
    by_config = {config: branch.tsquery for branch in branches for config in branch.configs}
    assert by_config["english"] == "'ferri' & !'orchard'"
    assert by_config["german"] == "'ferri' & !'orchard'"  # one branch for both
    assert len(branches) == 2


def test_a_copy_met_again_by_a_crawl_is_last_seen_then(clean_db: str) -> None:
    """The fixtures were stored days ago. The ferry story has two stored copies, and the exact
    duplicate under a staging host is one of the first copy's `also_at`. A crawl meeting the
    rewrite's URL marks that copy seen now, once within SEEN_PRECISION; meeting the duplicate's
    URL marks that URL alone; the original copy stays as stored."""
    with db.connect(clean_db) as connection:
        _store_all(connection)
        story = connection.execute(
            "SELECT story_id FROM articles WHERE canonical_url = %s", (fx.FERRY.canonical_url,)
        ).fetchone()
        assert story is not None
        before = search.story_copies(connection, story["story_id"])
        assert [copy.url for copy in before] == [
            fx.FERRY.canonical_url,
            fx.FERRY_REWRITE.canonical_url,
        ]
        assert before[0].also_at == (
            search.AlsoSeenAt(fx.FERRY_ALIAS.canonical_url, fx.FETCHED, fx.FETCHED),
        )
        met = before[-1]
        elsewhere = "https://elsewhere.example/x"
        assert history.known_urls(connection, [met.url, elsewhere]) == {met.url}
        after = search.story_copies(connection, story["story_id"])
        history.known_urls(connection, [met.url])
        again = search.story_copies(connection, story["story_id"])
        assert history.known_urls(connection, [fx.FERRY_ALIAS.url]) == {fx.FERRY_ALIAS.url}
        alias_met = search.story_copies(connection, story["story_id"])
    assert [copy.last_seen_at for copy in before] == [copy.stored_at for copy in before]
    assert after[-1].last_seen_at > met.stored_at + timedelta(days=1)
    assert after[0] == before[0]
    assert again == after  # not rewritten within SEEN_PRECISION
    (alias,) = alias_met[0].also_at
    assert alias.first_seen_at == fx.FETCHED
    assert alias.last_seen_at is not None and alias.last_seen_at > fx.FETCHED + timedelta(days=1)
    assert alias_met[0].last_seen_at == alias_met[0].stored_at  # the copy's own URL: not met


def test_preview_refuses_what_saving_refuses(clean_db: str) -> None:
    with db.connect(clean_db) as connection:
        for query in ('"unclosed', "-only", ""):
            with pytest.raises(ValueError):
                search.check_query(connection, query, None)


def test_backfill_alerts_on_stored_stories_once(clean_db: str, settings: Settings) -> None:
    with db.connect(clean_db) as connection:
        run_id = _store_all(connection)
        matcher.match_new_articles(connection, run_id)  # stored and matched, no watch yet
        watch = add_watch(connection, "ferry", "ferry", ["a@example.com", "b@example.com"])
        assert connection.execute("SELECT count(*) AS n FROM alerts").fetchone() == {"n": 0}
        # The fixtures are dated 2026-11-28: a span from a day after reaches them, a shorter one not.
        now = fx.FETCHED + timedelta(days=1)
        assert backfill(connection, watch, timedelta(hours=12), now).alerts_new == 0
        first = backfill(connection, watch, parse_span("7d"), now)
        again = backfill(connection, watch, parse_span("7d"), now)
        stories = connection.execute(
            "SELECT count(DISTINCT story_id) AS n FROM articles WHERE body ILIKE '%ferry%'"
        ).fetchone()
    assert stories is not None
    assert first.alerts_new == stories["n"] == 1  # three copies, one story
    assert first.deliveries_new == 2  # one per recipient
    assert (again.alerts_new, again.deliveries_new) == (0, 0)
    with pytest.raises(WatchError):
        parse_span("7 parsecs")


def test_watch_test_and_add_backfill_on_the_command_line(clean_db: str, settings: Settings) -> None:
    with db.connect(clean_db) as connection:
        connection.execute("SELECT 1")
        run_id = articles.start_run(connection, ["daily8"])
        recent = [
            fx.article(f"{index:x}" * 32, title, body, "Desk")
            for index, (title, body) in enumerate(
                [("Ferry timetable changes", fx.FERRY_BODY), ("Orchard frost", fx.ORCHARD_BODY)],
                start=3,
            )
        ]
        from dataclasses import replace
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        articles.store_articles(
            connection, [replace(item, fetched_at=now) for item in recent], run_id
        )
    command = [sys.executable, "-m", "flows.cli"]
    tested = subprocess.run(
        [*command, "watch", "test", "ferry"], capture_output=True, text=True, timeout=120
    )
    assert tested.returncode == 0, tested.stderr
    assert tested.stdout.startswith("ferry: 1 stories in 24 h, 1 in 7 days, 1 in 30 days")
    assert "Ferry timetable changes" in tested.stdout and "*ferry*" in tested.stdout.lower()
    bad = subprocess.run(
        [*command, "watch", "test", '"unclosed'], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and "unbalanced quote" in bad.stderr
    added = subprocess.run(
        [
            *command,
            "watch",
            "add",
            "ferry",
            "ferry",
            "--email",
            "a@example.com",
            "--backfill",
            "7d",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    assert "backfill 7d: 1 stories alerted, 1 deliveries queued" in added.stdout
    with db.connect(clean_db) as connection:
        assert get_watch(connection, "ferry").recipients == ("a@example.com",)


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, object]]
    refuse: list[bool]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.refuse[0]:
            self.send_response(503)
        else:
            self.received.append(json.loads(body))
            self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]], list[bool]]]:
    received: list[dict[str, object]] = []
    refuse = [True]
    handler = type("Hook", (_Hook,), {"received": received, "refuse": refuse})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_address[1]}/hook", received, refuse
    server.shutdown()
    server.server_close()


def test_webhook_channel_gets_each_story_once_and_retries(
    clean_db: str, webhook: tuple[str, list[dict[str, object]], list[bool]]
) -> None:
    url, received, refuse = webhook
    with db.connect(clean_db) as connection:
        watch = add_watch(connection, "ferry", "ferry", ["a@example.com"])
        channels.set_channels(connection, watch.id, [url])
        with pytest.raises(channels.ChannelError):
            channels.set_channels(connection, watch.id, ["nonsense://x"])
        run_id = articles.start_run(connection, ["daily8"])
        articles.store_articles(connection, fx.FIRST_RUN, run_id)
        matcher.match_new_articles(connection, run_id)
        assert channels.queue_channel_deliveries(connection) == 1
        failed = channels.deliver_channels(connection)  # the hook answers 503
        assert (failed.sent, failed.failed) == (0, 1) and received == []
        refuse[0] = False
        run_id = articles.start_run(connection, ["daily8"])
        articles.store_articles(connection, fx.SECOND_RUN, run_id)  # copies of the same story
        matcher.match_new_articles(connection, run_id)
        assert channels.queue_channel_deliveries(connection) == 0
        sent = channels.deliver_channels(connection)
        assert (sent.sent, sent.failed) == (1, 0)
        assert channels.deliver_channels(connection).sent == 0
    assert len(received) == 1
    assert received[0]["title"] == "newswatch: ferry"
    assert "electric ferry" in str(received[0]["message"]).lower()
