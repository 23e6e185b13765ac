"""What a run shows in the Prefect UI: tables of new stories, alerts and crawl statistics, a
markdown report, and a progress bar while a crawl runs.

Artifacts are keyed by source (or "all-sources"), so the Artifacts page lists each key's
history run after run. Row building is plain code over Postgres; only `publish_run` and
`CrawlProgress` talk to Prefect.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from flows.store.db import Connection
from flows.store.runs import SourceRunStats

PROGRESS_MARKER = "newswatch-progress "
MAX_TABLE_ROWS = 200


def artifact_prefix(sources: list[str]) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    if len(sources) == 1:
        return re.sub(r"[^a-z0-9-]+", "-", sources[0].lower()).strip("-") or "source"
    return "all-sources"


def human_size(count: int) -> str:
    """Bytes as a person reads them: 999 B, 12.3 kB, 4.5 MB (powers of 1000, as browsers do)."""
    size = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def markdown_link(text: str, url: str) -> str:
    """A link for a table cell or a report (the UI renders cell markdown); page text escaped."""
    label = re.sub(r"([\\`*_{}\[\]()<>#|!])", r"\\\1", " ".join(text.split())) or url
    if not url.lower().startswith(("http://", "https://")):
        return label
    return f"[{label}]({url.replace(')', '%29').replace(' ', '%20')})"


def new_story_rows(connection: Connection, run_id: int) -> list[dict[str, str]]:
    """Articles this run stored first (one per story), newest publication first."""
    rows = connection.execute(
        """SELECT title, publisher, source, language, published_at, canonical_url
           FROM articles WHERE run_id = %s AND (story_id IS NULL OR story_id = id)
           ORDER BY published_at DESC NULLS LAST, id LIMIT %s""",
        (run_id, MAX_TABLE_ROWS),
    ).fetchall()
    return [
        {
            "title": markdown_link(row["title"], row["canonical_url"]),
            "publisher": row["publisher"] or "",
            "source": row["source"],
            "language": row["language"],
            "published": row["published_at"].isoformat(timespec="minutes")
            if row["published_at"]
            else "",
            "url": row["canonical_url"],
        }
        for row in rows
    ]


def alert_rows(connection: Connection, run_id: int) -> list[dict[str, str]]:
    """Alerts this run created, with the e-mail that carries each and whether it went out."""
    rows = connection.execute(
        """SELECT w.name AS watch, d.recipient, ar.title, ar.canonical_url,
                  e.message_id, e.sent_at, e.delivered_via, e.last_error
           FROM alerts al
           JOIN watches w ON w.id = al.watch_id
           JOIN articles ar ON ar.id = al.article_id
           LEFT JOIN deliveries d ON d.alert_id = al.id
           LEFT JOIN emails e ON e.id = d.email_id
           WHERE al.run_id = %s ORDER BY w.name, al.id LIMIT %s""",
        (run_id, MAX_TABLE_ROWS),
    ).fetchall()
    result = []
    for row in rows:
        if row["sent_at"] is not None:
            status = f"sent {row['sent_at'].isoformat(timespec='seconds')}"
        elif row["message_id"] is None:
            status = "not queued"
        else:
            status = f"pending: {row['last_error']}" if row["last_error"] else "pending"
        result.append(
            {
                "watch": row["watch"],
                "recipient": row["recipient"],
                "title": markdown_link(row["title"], row["canonical_url"]),
                "url": row["canonical_url"],
                "e-mail": status,
            }
        )
    return result


def crawl_stat_rows(stats: list[SourceRunStats]) -> list[dict[str, Any]]:
    return [
        {
            "source": line.source,
            "crawl": "FAILED" if line.failed else "ok",
            "pages": line.pages_fetched,
            "size": human_size(line.bytes_received),
            "status codes": ", ".join(f"{code}: {n}" for code, n in line.status_counts.items()),
            "errors": line.errors,
            "skipped": line.skipped,
            "new articles": line.articles_new,
            "duplicates": line.articles_duplicate,
            "seconds": round(line.seconds, 1),
        }
        for line in stats
    ]


def report_markdown(
    summary: dict[str, Any], stats: list[SourceRunStats], stories: int, alerts: int
) -> str:
    """The run in a few lines: headline counts, one line per source, the first errors."""
    errors = summary.get("errors") or []
    outcome = str(summary.get("outcome") or "")
    lines = [
        f"# newswatch run {summary.get('run_id')}" + (f": {outcome}" if outcome else ""),
        "",
        f"**{summary.get('articles_new', 0)} new articles** ({stories} listed under new stories), "
        f"{summary.get('articles_duplicate', 0)} duplicates skipped, "
        f"**{summary.get('alerts_new', 0)} alerts** for {summary.get('watches_matched', 0)} "
        f"watches ({alerts} listed), {summary.get('emails_sent', 0)} e-mails sent, "
        f"{len(errors)} errors.",
        "",
        "| source | crawl | pages | new | duplicates | errors | skipped |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for line in stats:
        lines.append(
            f"| {line.source} | {'**FAILED**' if line.failed else 'ok'} | "
            f"{line.pages_fetched} | {line.articles_new} | {line.articles_duplicate} | "
            f"{line.errors} | {line.skipped} |"
        )
    if errors:
        lines += ["", "## First errors", ""]
        for error in errors[:10]:
            url = error.get("url") or ""
            where = markdown_link(url, url) if url else f"`{error.get('source') or 'run'}`"
            lines.append(f"- {where}: {error.get('reason', '')}")
    return "\n".join(lines) + "\n"


def summary_rows(summary: dict[str, Any]) -> list[dict[str, str]]:
    keys = (
        *("outcome", "sources", "failed_sources", "pages_fetched", "articles_new"),
        *("articles_duplicate", "alerts_new", "watches_matched", "emails_sent"),
    )
    rows = [{"measure": key, "value": str(summary.get(key, ""))} for key in keys]
    rows.append({"measure": "errors", "value": str(len(summary.get("errors") or []))})
    return rows


def publish_run(connection: Connection, summary: dict[str, Any]) -> None:
    """Create this run's table and markdown artifacts (inside a flow run, linked to it)."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from flows.store import runs as source_runs

    run_id = int(summary["run_id"])
    prefix = artifact_prefix(list(summary.get("sources") or []))
    stories = new_story_rows(connection, run_id)
    alerts = alert_rows(connection, run_id)
    stats = source_runs.for_run(connection, run_id)
    errors = len(summary.get("errors") or [])
    outcome = str(summary.get("outcome") or "")
    failed = [line.source for line in stats if line.failed]
    unsent = sum(1 for row in alerts if not row["e-mail"].startswith("sent "))
    create_table_artifact(
        key=f"{prefix}-new-stories",
        table=stories,
        description=f"Run {run_id}: {len(stories)} new stories"
        + (f" (first {MAX_TABLE_ROWS})" if len(stories) == MAX_TABLE_ROWS else "")
        + f"; {errors} errors in the run",
    )
    create_table_artifact(
        key=f"{prefix}-alerts-sent",
        table=alerts,
        description=f"Run {run_id}: {len(alerts)} alerts, {unsent} not sent",
    )
    create_table_artifact(
        key=f"{prefix}-crawl-stats",
        table=crawl_stat_rows(stats),
        description=f"Run {run_id}: {len(stats)} sources, "
        + (f"FAILED: {', '.join(failed)}, " if failed else "")
        + f"{sum(line.errors for line in stats)} errors",
    )
    create_markdown_artifact(
        key=f"{prefix}-run-report",
        markdown=report_markdown(summary, stats, len(stories), len(alerts)),
        description=f"Run {run_id}: {outcome or 'report'}, {errors} errors",
    )
    create_table_artifact(
        key="newswatch-run-summary",
        table=summary_rows(summary),
        description=f"newswatch run {run_id}: {outcome}, {errors} errors",
    )


def parse_progress_line(line: str) -> dict[str, float] | None:
    """The numbers of a progress line the crawl child prints, or None for any other line."""
    if not line.startswith(PROGRESS_MARKER):
        return None
    try:
        values = json.loads(line[len(PROGRESS_MARKER) :])
    except json.JSONDecodeError:
        return None
    if not isinstance(values, dict):
        return None
    return {k: float(v) for k, v in values.items() if isinstance(v, int | float)}


def progress_percent(values: dict[str, float]) -> float:
    """How far the crawl is towards whichever limit (pages or seconds) it will hit first."""
    shares = []
    if values.get("max_pages"):
        shares.append(values.get("pages", 0.0) / values["max_pages"])
    if values.get("max_seconds"):
        shares.append(values.get("elapsed", 0.0) / values["max_seconds"])
    return round(min(max(shares, default=0.0), 0.99) * 100, 1)


class CrawlProgress:
    """A line sink for the crawl child: progress lines move a progress artifact (and go to
    `on_values`), the rest (Scrapy's log) go to `log_line`. Updates are sent at most every
    `min_interval` seconds; 100% only for a crawl that finished, a failed one says so."""

    def __init__(
        self,
        source: str,
        log_line: Callable[[str], None],
        min_interval: float = 2.0,
        on_values: Callable[[dict[str, float]], None] | None = None,
    ) -> None:
        from prefect.artifacts import create_progress_artifact

        self.source = source
        self.log_line = log_line
        self.on_values = on_values
        self.min_interval = min_interval
        self.percent = 0.0
        self.pages = 0
        self._last_update = 0.0
        # Called from sync code, so Prefect's dispatch returns the id, not a coroutine.
        self.artifact_id: UUID = create_progress_artifact(  # type: ignore[assignment]
            progress=0.0,
            key=f"{artifact_prefix([source])}-crawl-progress",
            description=f"Crawl of {source}: running (share of its page or time limit used)",
        )

    def __call__(self, line: str) -> None:
        values = parse_progress_line(line)
        if values is None:
            self.log_line(line)
            return
        self.percent = progress_percent(values)
        self.pages = int(values.get("pages", 0))
        if self.on_values is not None:
            self.on_values(values)
        now = time.monotonic()
        if now - self._last_update >= self.min_interval:
            self._update(self.percent)
            self._last_update = now

    def finish(self, errors: int = 0) -> None:
        self.percent = 100.0
        self._update(
            100.0,
            f"Crawl of {self.source}: finished, {self.pages} pages, {errors} errors",
        )

    def fail(self, reason: str) -> None:
        self._update(
            self.percent,
            f"Crawl of {self.source}: FAILED at {self.percent:g}% ({reason[:300]})",
        )

    def _update(self, percent: float, description: str | None = None) -> None:
        from prefect.artifacts import update_progress_artifact

        update_progress_artifact(
            artifact_id=self.artifact_id, progress=percent, description=description
        )
