"""The monitoring flow end to end on a real Prefect API, Postgres, test site and SMTP server."""

from __future__ import annotations

import email
import json
import re
import time
from email import policy
from typing import Any

import psycopg
import pytest

from flows.config.settings import REPO_ROOT, Settings
from flows.demo import DEMO_SCRAPY_SETTINGS, DEMO_WATCHES, ensure_demo_watches
from flows.extract.article import normalized_text
from flows.testsite import TestSite
from flows.testsite.stories import Story
from tests.support.smtp import SmtpSink

pytestmark = pytest.mark.slow


def matches(watch_query: str, story: Story) -> bool:
    """An independent reading of the demo watches' queries over a story's text."""
    text = normalized_text(story.title + " " + " ".join(story.paragraphs))
    words = set(text.split())
    if watch_query == "Kursk":
        return "kursk" in words
    if watch_query == '"north korea" -sport':
        return "north korea" in text and not words & {"sport", "sports", "sporting"}
    if watch_query == "solar OR photovoltaic":
        return bool(words & {"solar", "photovoltaic"})
    if watch_query == "المياه":
        return "المياه" in words
    raise AssertionError(f"no reading for {watch_query!r}")


def run_monitor(site: TestSite) -> dict[str, Any]:
    from flows.flow import monitor

    state = monitor(
        sources_file=str(REPO_ROOT / "sources.toml"),
        source_names=["daily8"],
        origin=site.base_url,
        scrapy_settings=DEMO_SCRAPY_SETTINGS,
        return_state=True,
    )
    assert state.is_completed(), state
    summary: dict[str, Any] = state.result()
    summary["flow_run_id"] = state.state_details.flow_run_id
    return summary


def _flow_run_logs(client: Any, flow_run_id: Any) -> list[Any]:
    """Every log record the API holds for the run, page by page (the API caps a page at 200)."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    logs: list[Any] = []
    while True:
        page = client.read_logs(
            LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
            limit=200,
            offset=len(logs),
        )
        logs += page
        if len(page) < 200:
            return logs


def _flow_run_log_messages(client: Any, flow_run_id: Any) -> list[str]:
    return [log.message for log in _flow_run_logs(client, flow_run_id)]


def assert_run_visible_in_prefect(summary: dict[str, Any]) -> None:
    """Scrapy's log lines and the summary table are in Prefect, where people look.

    Prefect ships log lines from a background worker in batches, so the last ones can still be
    on their way when the flow returns: drain the worker, then give the API a bounded time.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=30)
    flow_run_id = summary["flow_run_id"]
    wanted = "[scrapy.core.engine] Spider opened"  # an INFO record, without a second timestamp
    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            messages = _flow_run_log_messages(client, flow_run_id)
            if any(wanted in message for message in messages) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    assert any(wanted in message for message in messages), messages[-20:]
    (table,) = [artifact for artifact in artifacts if artifact.key == "newswatch-run-summary"]
    assert table.type == "table"
    assert '"articles_new"' in json.dumps(table.data) or "articles_new" in str(table.data)


def test_first_run_stores_and_alerts_second_run_does_nothing(
    prefect_api: None, settings: Settings, test_site: TestSite, smtp_server: SmtpSink
) -> None:
    settings = Settings()  # now with the SMTP server of the fixture
    ensure_demo_watches(settings)
    stories = {story.id: story for story in test_site.stories}

    first = run_monitor(test_site)
    assert_run_visible_in_prefect(first)

    with psycopg.connect(settings.database_url or "") as connection:
        stored = connection.execute("SELECT canonical_url, body FROM articles").fetchall()
        alert_rows = connection.execute(
            """SELECT w.query, a.canonical_url FROM alerts al
               JOIN watches w ON w.id = al.watch_id JOIN articles a ON a.id = al.article_id"""
        ).fetchall()
        run_row = connection.execute(
            "SELECT status, articles_new, emails_sent FROM runs WHERE id = %s", (first["run_id"],)
        ).fetchone()
    # Each distinct text of the site once: aliases and tracking URLs collapse onto their story.
    stored_ids = sorted(canonical.rsplit("/", 1)[1] for canonical, _ in stored)
    assert stored_ids == sorted(stories)
    assert first["articles_new"] == len(stories)
    assert first["articles_duplicate"] == sum(len(story.aliases) for story in stories.values())
    assert first["errors"] == []
    assert run_row == ("completed", len(stories), first["emails_sent"])

    # No stored body carries text of the Related Articles printed under it.
    for canonical, body in stored:
        story = stories[canonical.rsplit("/", 1)[1]]
        own = {normalized_text(p) for p in story.paragraphs}
        for related in test_site.related_to(story):
            for paragraph in related.paragraphs:
                if normalized_text(paragraph) not in own:
                    assert normalized_text(paragraph) not in normalized_text(body)

    # Alerts: one per story (an edited rewrite joins its base's story), exactly the stories each
    # watch's query describes.
    family = {story_id: story.edited_from or story_id for story_id, story in stories.items()}
    expected_alerts = {
        (watch.query, family[story_id])
        for watch in DEMO_WATCHES
        for story_id, story in stories.items()
        if matches(watch.query, story)
    }
    alerted = [(query, canonical.rsplit("/", 1)[1]) for query, canonical in alert_rows]
    assert len(alerted) == len({(query, family[sid]) for query, sid in alerted})
    assert {(query, family[sid]) for query, sid in alerted} == expected_alerts
    assert first["alerts_new"] == len(expected_alerts)

    # One e-mail per recipient, listing that recipient's stories.
    recipients = {
        watch.email for watch in DEMO_WATCHES if any(q == watch.query for q, _ in expected_alerts)
    }
    assert first["emails_sent"] == len(recipients) == len(smtp_server.messages)
    by_recipient = {rcpt[0]: raw for _, rcpt, raw in smtp_server.messages}
    assert set(by_recipient) == recipients
    for watch in DEMO_WATCHES:
        message = email.message_from_bytes(by_recipient[watch.email], policy=policy.default)
        plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for query, story_id in alerted:
            if query == watch.query:
                assert stories[story_id].title in plain
        # On the sender's domain (NEWSWATCH_MAIL_FROM's; the default's is localhost).
        assert re.fullmatch(r"<[^@<>\s]+@localhost>", message["Message-ID"])

    second = run_monitor(test_site)
    assert second["articles_new"] == 0
    assert second["alerts_new"] == 0
    assert second["emails_sent"] == 0
    # Nothing changed on the site: the entry page answers 304, no article page is fetched again.
    assert second["articles_duplicate"] == 0
    assert second["skipped"].get("not_modified", 0) + second["skipped"].get("known_url", 0) > 0
    assert second["pages_fetched"] < first["pages_fetched"] / 10
    assert len(smtp_server.messages) == len(recipients)
