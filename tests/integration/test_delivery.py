"""Alerts per story, delivered exactly once: reruns, crashes, concurrent runs, SMTP outages."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from flows.config.settings import REPO_ROOT, Settings
from flows.match import matcher
from flows.match.watches import add_watch, set_muted
from flows.notify import outbox as notify
from flows.notify.mailer import SmtpTransport, Transport, transport_for
from flows.store import articles as store
from flows.store import db
from flows.store.stories import SAME_STORY_JACCARD, jaccard, shingles
from tests.support import alert_fixtures as fx
from tests.support.smtp import SmtpSink, free_port

ANALYST = "analyst@example.com"
EDITOR = "editor@example.com"


def run_stages(
    url: str,
    articles: list,
    settings: Settings,
    now: datetime | None = None,
    transport: Transport | None = None,
) -> notify.DeliveryResult:
    """What one flow run does after extraction: store, match, queue, deliver."""
    with db.connect(url) as connection:
        run_id = store.start_run(connection, ["daily8"])
        store.store_articles(connection, articles, run_id)
        matcher.match_new_articles(connection, run_id)
        notify.queue_emails(connection, run_id, settings.mail_from, now=now)
        return notify.deliver_pending(
            connection, transport or transport_for(settings), settings.mail_from
        )


def received(sink: SmtpSink) -> list[EmailMessage]:
    messages = []
    for _, _, raw in sink.messages:
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        messages.append(message)
    return messages


def story_message_ids(messages: list[EmailMessage]) -> dict[tuple[str, str], set[str]]:
    """(recipient, story id) -> the distinct Message-IDs that told the recipient of it."""
    told: dict[tuple[str, str], set[str]] = defaultdict(set)
    for message in messages:
        for story in str(message["X-Newswatch-Stories"]).split():
            told[(str(message["To"]), story)].add(str(message["Message-ID"]))
    return told


def assert_each_story_once(messages: list[EmailMessage]) -> dict[tuple[str, str], set[str]]:
    told = story_message_ids(messages)
    assert told, "no story was told to anyone"
    repeated = {key: ids for key, ids in told.items() if len(ids) != 1}
    assert not repeated, f"told more than once: {repeated}"
    return told


def stored_story_count(url: str) -> int:
    with db.connect(url) as connection:
        row = connection.execute("SELECT count(DISTINCT story_id) AS n FROM articles").fetchone()
    assert row is not None
    return int(row["n"])


@pytest.fixture
def watches(clean_db: str) -> str:
    with db.connect(clean_db) as connection:
        add_watch(connection, "ferry", "ferry OR harbour", [ANALYST, EDITOR])
        # Same recipient, a second watch matching the same story: still told once.
        add_watch(connection, "island", '"island council" -volcano', ANALYST)
        add_watch(connection, "frost", "frost orchards", ANALYST)
        add_watch(connection, "water-ar", "المياه", EDITOR, language="ar")
    return clean_db


def test_rewrite_fixture_is_a_near_copy() -> None:
    similarity = jaccard(
        shingles(fx.FERRY.title, fx.FERRY.body),
        shingles(fx.FERRY_REWRITE.title, fx.FERRY_REWRITE.body),
    )
    assert SAME_STORY_JACCARD <= similarity < 1


def test_one_alert_per_story_across_copies_and_reruns(watches: str, smtp_server: SmtpSink) -> None:
    settings = Settings()
    first = run_stages(watches, fx.FIRST_RUN, settings)
    assert first.sent == 2 and first.failed == 0  # one e-mail per recipient
    # Later copies of the ferry story (a rewrite, a staging-host alias) and a new story.
    second = run_stages(watches, fx.SECOND_RUN, settings)
    assert second.sent == 0  # nothing new matches: rail matches no watch
    rerun = run_stages(watches, fx.ALL, settings)
    assert rerun.sent == 0
    messages = received(smtp_server)
    told = assert_each_story_once(messages)
    assert {recipient for recipient, _ in told} == {ANALYST, EDITOR}
    with db.connect(watches) as connection:
        counts = connection.execute(
            """SELECT (SELECT count(*) FROM alerts) AS alerts,
                      (SELECT count(*) FROM alerts al JOIN watches w ON w.id = al.watch_id
                       WHERE w.name = 'ferry') AS ferry_alerts,
                      (SELECT count(*) FROM articles) AS articles,
                      (SELECT count(DISTINCT story_id) FROM articles) AS stories"""
        ).fetchone()
    assert counts is not None
    # ferry + island (ferry story), frost (orchard), water-ar: four (watch, story) pairs.
    assert counts["alerts"] == 4 and counts["ferry_alerts"] == 1
    # Five stored articles (the alias is an exact copy), four stories (the rewrite joined).
    assert counts["articles"] == 5 and counts["stories"] == 4


def test_email_names_the_other_carriers(watches: str, smtp_server: SmtpSink) -> None:
    settings = Settings()
    # All copies arrive before the e-mail is queued: the e-mail names the other carrier.
    with db.connect(watches) as connection:
        run_id = store.start_run(connection, ["daily8"])
        store.store_articles(connection, fx.ALL, run_id)
    run_stages(watches, [], settings)
    analyst = [m for m in received(smtp_server) if str(m["To"]) == ANALYST]
    assert len(analyst) == 1
    body = analyst[0].get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Also carried by Coastal Courier" in text
    assert text.count("electric ferry") == 1  # the story once, though two watches matched it


def test_crash_after_smtp_accepted_resends_same_message_once(
    watches: str, smtp_server: SmtpSink
) -> None:
    settings = Settings()
    with db.connect(watches) as connection:
        run_id = store.start_run(connection, ["daily8"])
        store.store_articles(connection, fx.FIRST_RUN, run_id)
        matcher.match_new_articles(connection, run_id)
        queued = notify.queue_emails(connection, run_id, settings.mail_from)
    assert queued.instant == 2
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.support.stage_worker", "crash-after-send", watches],
        env=_worker_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -9, crashed.stderr  # killed, not a clean exit
    assert len(smtp_server.messages) == 1  # the server accepted one message before the crash
    with db.connect(watches) as connection:
        unsent = connection.execute("SELECT count(*) AS n FROM emails WHERE sent_at IS NULL")
        assert unsent.fetchone() == {"n": 2}  # the accepted one was never marked
    with db.connect(watches) as connection:
        recovery = notify.deliver_pending(connection, SmtpTransport(settings), settings.mail_from)
    assert recovery.sent == 2
    again = run_stages(watches, fx.ALL, settings)
    assert again.sent == 0
    raw = [content for _, _, content in smtp_server.messages]
    assert len(raw) == 3
    messages = received(smtp_server)
    # The resend is the same message: same Message-ID, same bytes, so the recipient's mail
    # system shows it once; no story was ever put into a second, different message.
    by_id: dict[str, list[bytes]] = defaultdict(list)
    for message, content in zip(messages, raw, strict=True):
        by_id[str(message["Message-ID"])].append(content)
    assert sorted(len(copies) for copies in by_id.values()) == [1, 2]
    resent = next(copies for copies in by_id.values() if len(copies) == 2)
    assert resent[0] == resent[1]
    assert_each_story_once(messages)


def test_smtp_refusing_then_back_delivers_once(watches: str, smtp_server: SmtpSink) -> None:
    settings = Settings()
    smtp_server.refuse = True
    down = run_stages(watches, fx.FIRST_RUN, settings)
    assert down.sent == 0 and down.failed == 2
    assert "451" in down.errors[0]
    still_down = run_stages(watches, [], settings)
    assert still_down.failed == 2  # retried, still queued
    with db.connect(watches) as connection:
        row = connection.execute(
            "SELECT count(*) AS n, min(attempts) AS attempts FROM emails WHERE sent_at IS NULL"
        ).fetchone()
    assert row == {"n": 2, "attempts": 2}
    smtp_server.refuse = False
    back = run_stages(watches, fx.SECOND_RUN, settings)
    assert back.sent == 2
    assert run_stages(watches, fx.ALL, settings).sent == 0
    assert len(smtp_server.messages) == 2
    assert_each_story_once(received(smtp_server))


def test_smtp_server_unreachable_keeps_alerts_queued(
    watches: str, smtp_server: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSWATCH_SMTP_PORT", str(free_port()))  # nothing listens there
    monkeypatch.setenv("NEWSWATCH_SMTP_TIMEOUT_SECONDS", "5")
    down = run_stages(watches, fx.FIRST_RUN, Settings())
    # The first refusal stops the run's sending: the second e-mail is not tried in vain.
    assert down.sent == 0 and down.failed == 1
    assert "ConnectionRefusedError" in down.errors[0]
    assert "sending stopped: the mail server is unreachable" in down.errors[-1]
    monkeypatch.setenv("NEWSWATCH_SMTP_PORT", str(smtp_server.port))
    back = run_stages(watches, [], Settings())
    assert back.sent == 2
    assert_each_story_once(received(smtp_server))


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def test_two_runs_at_once_tell_each_story_once(
    watches: str, smtp_server: SmtpSink, tmp_path: Path
) -> None:
    """Two processes run every stage over the same articles at the same moment, twice over."""
    for round_number, batch in enumerate(("FIRST_RUN", "ALL")):
        go_file = tmp_path / f"go-{round_number}"
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.support.stage_worker",
                    "run",
                    watches,
                    str(go_file),
                    batch,
                ],
                env=_worker_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        go_file.touch()
        for worker in workers:
            _, stderr = worker.communicate(timeout=180)
            assert worker.returncode == 0, stderr
    messages = received(smtp_server)
    message_ids = [str(m["Message-ID"]) for m in messages]
    assert len(message_ids) == len(set(message_ids))  # no crash here: nothing sent twice
    told = assert_each_story_once(messages)
    assert len(told) == 4  # analyst: ferry, orchard; editor: ferry, water
    assert stored_story_count(watches) == 4


def test_two_senders_at_once_send_each_email_once(
    watches: str, smtp_server: SmtpSink, tmp_path: Path
) -> None:
    settings = Settings()
    many = [
        fx.article(
            f"{n:032x}",
            f"Harbour notice {n}",
            f"{fx.FERRY_BODY} Notice number {n}x{n}.",
            "Harbour Herald",
        )
        for n in range(40)
    ]
    with db.connect(watches) as connection:
        for number in range(12):
            add_watch(connection, f"desk-{number}", "ferry", f"desk{number}@example.com")
        run_id = store.start_run(connection, ["daily8"])
        store.store_articles(connection, [fx.ORCHARD, *many], run_id)
        matcher.match_new_articles(connection, run_id)
        queued = notify.queue_emails(connection, run_id, settings.mail_from)
    assert queued.instant == 14
    go_file = tmp_path / "go"
    senders = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.support.stage_worker", "deliver", watches, str(go_file)],
            env=_worker_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    go_file.touch()
    for sender in senders:
        _, stderr = sender.communicate(timeout=180)
        assert sender.returncode == 0, stderr
    messages = received(smtp_server)
    message_ids = [str(m["Message-ID"]) for m in messages]
    assert len(message_ids) == 14 == len(set(message_ids))
    assert_each_story_once(messages)


def test_digest_once_a_day_at_its_hour(clean_db: str, settings: Settings) -> None:
    with db.connect(clean_db) as connection:
        add_watch(connection, "ferry-digest", "ferry", ANALYST, mode="digest", digest_hour=9)
        add_watch(connection, "orchard-now", "orchard", EDITOR)
    outbox = transport_for(settings)
    day = datetime(2026, 11, 28, tzinfo=UTC)

    early = run_stages(clean_db, [fx.FERRY, fx.ORCHARD], settings, day.replace(hour=8), outbox)
    assert early.sent == 1  # the instant watch; the digest waits for 09:00
    due = run_stages(clean_db, [], settings, day.replace(hour=9, minute=30), outbox)
    assert due.sent == 1
    # More for the digest the same day: held for tomorrow's digest.
    run_stages(clean_db, [fx.RAIL], settings, day.replace(hour=15), outbox)
    with db.connect(clean_db) as connection:
        add_watch(connection, "rail-digest", "railway", ANALYST, mode="digest", digest_hour=9)
    later = run_stages(clean_db, [replace_slug(fx.RAIL)], settings, day.replace(hour=16), outbox)
    assert later.sent == 0
    next_day = run_stages(clean_db, [], settings, day.replace(day=29, hour=9, minute=1), outbox)
    assert next_day.sent == 1
    with db.connect(clean_db) as connection:
        rows = connection.execute(
            "SELECT recipient, kind, digest_day, content FROM emails ORDER BY id"
        ).fetchall()
    kinds = [(row["recipient"], row["kind"], str(row["digest_day"])) for row in rows]
    assert kinds == [
        (EDITOR, "instant", "None"),
        (ANALYST, "digest", "2026-11-28"),
        (ANALYST, "digest", "2026-11-29"),
    ]
    digest = message_from_bytes(rows[1]["content"], policy=policy.default)
    assert str(digest["Subject"]).startswith("newswatch daily digest: 1 story for ferry-digest")


def replace_slug(article: fx.Article) -> fx.Article:
    """The rail story again under another URL with slightly different text (a new article)."""
    from dataclasses import replace

    body = article.body + " The operator will publish the Sunday timetable next week."
    return replace(
        article,
        url=article.url + "0",
        canonical_url=article.canonical_url + "0",
        body=body,
        content_hash=fx.content_hash(body),
    )


def test_muted_watch_gets_nothing_until_unmuted(clean_db: str, settings: Settings) -> None:
    with db.connect(clean_db) as connection:
        add_watch(connection, "ferry", "ferry", ANALYST)
        set_muted(connection, "ferry", True)
    outbox = transport_for(settings)
    assert run_stages(clean_db, [fx.FERRY], settings, transport=outbox).sent == 0
    with db.connect(clean_db) as connection:
        set_muted(connection, "ferry", False)
    assert run_stages(clean_db, [fx.ORCHARD], settings, transport=outbox).sent == 0
    assert (
        run_stages(clean_db, [fx.RAIL, replace_slug(fx.FERRY)], settings, transport=outbox).sent
        == 1
    )
