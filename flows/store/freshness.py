"""How fresh each source is: its poll interval, last news, error streak and publication-to-alert
lag, from Postgres; shown by `newswatch sources` and kept up to date as a Prefect artifact.

The lag runs from a story's stated publication time (the page's or feed's) to the moment the
first e-mail carrying its alert was accepted by the mail server, over the last `days` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flows.store.db import Connection


@dataclass(frozen=True)
class Freshness:
    source: str
    shard: int | None
    interval_seconds: float | None  # the shortest of its entry points' current intervals
    next_poll_at: datetime | None
    last_polled_at: datetime | None
    last_news_at: datetime | None
    error_streak: int
    last_error: str | None
    polls: int
    alerts: int
    lag_p50_seconds: float | None
    lag_p95_seconds: float | None

    def as_row(self) -> dict[str, str]:
        return {
            "source": self.source,
            "shard": "" if self.shard is None else str(self.shard),
            "interval": describe_seconds(self.interval_seconds),
            "next poll": _when(self.next_poll_at),
            "last polled": _when(self.last_polled_at),
            "last news": _when(self.last_news_at),
            "error streak": str(self.error_streak),
            "alert lag p50": describe_seconds(self.lag_p50_seconds),
            "alert lag p95": describe_seconds(self.lag_p95_seconds),
            "alerts": str(self.alerts),
            "last error": (self.last_error or "")[:120],
        }


_QUERY = """
WITH lags AS (
    SELECT ar.source, extract(epoch FROM min(e.sent_at) - ar.published_at) AS lag
    FROM alerts al
    JOIN articles ar ON ar.id = al.article_id
    JOIN deliveries d ON d.alert_id = al.id
    JOIN emails e ON e.id = d.email_id
    WHERE e.sent_at IS NOT NULL AND ar.published_at IS NOT NULL
      AND e.sent_at > now() - %(days)s * interval '1 day'
      AND (%(names)s::text[] IS NULL OR ar.source = ANY(%(names)s::text[]))
    GROUP BY al.id, ar.source, ar.published_at
), lag_figures AS (
    SELECT source, count(*) AS alerts,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY lag) AS p95
    FROM lags GROUP BY source
), intervals AS (
    SELECT source, min(interval_seconds) AS interval_seconds FROM entry_polls GROUP BY source
)
SELECT p.source, p.shard, i.interval_seconds, p.next_poll_at, p.last_polled_at,
       p.last_news_at, p.error_streak, p.last_error, p.polls,
       coalesce(l.alerts, 0) AS alerts, l.p50, l.p95
FROM source_polls p
LEFT JOIN intervals i ON i.source = p.source
LEFT JOIN lag_figures l ON l.source = p.source
WHERE %(names)s::text[] IS NULL OR p.source = ANY(%(names)s::text[])
ORDER BY p.source
"""


def freshness(
    connection: Connection, names: list[str] | None = None, days: float = 7.0
) -> list[Freshness]:
    """One line per polled source (of `names`, all when None), by name."""
    rows = connection.execute(_QUERY, {"names": names, "days": days}).fetchall()
    return [
        Freshness(
            source=row["source"],
            shard=row["shard"],
            interval_seconds=row["interval_seconds"],
            next_poll_at=row["next_poll_at"],
            last_polled_at=row["last_polled_at"],
            last_news_at=row["last_news_at"],
            error_streak=int(row["error_streak"]),
            last_error=row["last_error"],
            polls=int(row["polls"]),
            alerts=int(row["alerts"]),
            lag_p50_seconds=float(row["p50"]) if row["p50"] is not None else None,
            lag_p95_seconds=float(row["p95"]) if row["p95"] is not None else None,
        )
        for row in rows
    ]


def describe_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"
