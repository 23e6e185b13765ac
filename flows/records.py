"""Plain records passed between the stages: fetch -> extract -> store -> match -> notify."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FetchedPage:
    """A page as the crawler got it; the body stays bytes until the extractor decodes it."""

    source: str
    url: str
    status: int
    fetched_at: datetime
    body: bytes
    encoding: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class FetchError:
    """A URL that gave no usable page, and why; recorded so nothing fails silently."""

    source: str
    url: str
    reason: str


@dataclass(frozen=True)
class Article:
    source: str
    url: str
    canonical_url: str
    title: str
    body: str
    content_hash: str
    language: str
    fetched_at: datetime
    publisher: str | None = None
    published_at: datetime | None = None
    hashtags: tuple[str, ...] = ()
    # LSH band keys for story deduplication (flows.store.stories); computed at store time if empty.
    story_keys: tuple[int, ...] = ()
    # Who wrote it, as the page names them (flows.extract.structured), in the page's order.
    authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class SeenCopy:
    """A page whose article another page of the same batch already gave (same canonical URL or
    same text): not stored again, but its address is remembered as the article's."""

    url: str
    canonical_url: str
    content_hash: str
    fetched_at: datetime


@dataclass
class CrawlResult:
    source: str
    pages: list[FetchedPage] = field(default_factory=list)
    errors: list[FetchError] = field(default_factory=list)
    stats: dict[str, object] = field(default_factory=dict)
    # Requests not made, by reason (known_url, not_modified, robots, ...).
    skipped: dict[str, int] = field(default_factory=dict)
    # HTTP validators of entry points to remember once the pages are stored.
    validators: list[Validator] = field(default_factory=list)


@dataclass(frozen=True)
class Validator:
    """What a server said identifies a version of a page (ETag, Last-Modified)."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


# A run's outcome, as stored in `runs.status` and shown as the flow run's state.
COMPLETED = "completed"
COMPLETED_WITH_ERRORS = "completed with errors"
FAILED = "failed"


@dataclass
class RunSummary:
    """What a run did; written to Postgres, printed, and published as a Prefect artifact."""

    run_id: int | None = None
    sources: list[str] = field(default_factory=list)
    pages_fetched: int = 0
    articles_new: int = 0
    articles_duplicate: int = 0
    alerts_new: int = 0
    watches_matched: int = 0
    emails_sent: int = 0
    outbox_dir: str | None = None
    errors: list[FetchError] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    # Sources whose crawl failed or all of whose requests failed.
    failed_sources: list[str] = field(default_factory=list)
    # Alerting (matching, queueing, sending) left something undone this run.
    alerting_failed: bool = False

    def count_skipped(self, skipped: dict[str, int]) -> None:
        for reason, count in skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count

    @property
    def outcome(self) -> str:
        """ "failed" when no source could be crawled, "completed with errors" when a source
        failed or alerting did not finish, else "completed" (page errors are counted, not
        a failure: one broken page never fails a run)."""
        if self.sources and set(self.failed_sources) >= set(self.sources):
            return FAILED
        if self.failed_sources or self.alerting_failed:
            return COMPLETED_WITH_ERRORS
        return COMPLETED

    def as_dict(self) -> dict[str, object]:
        """Every field, nested records as dicts, and the outcome: the JSON of `--json`,
        `runs.summary`, the logs."""
        return {**asdict(self), "outcome": self.outcome}
