"""The spool: how a crawl child hands pages to the flow, written once for both sides.

A spool is a folder. `manifest.jsonl` gets one line per fetched page or fetch error, in fetch
order, appended while the crawl runs (the extraction pool tails it); each page's bytes are
appended to its part's `pages.bin`, at the line's `body_offset` and `body_length`, before the line
is written. One file per part rather than one per page: creating a file costs about 0.8 ms of CPU
on an ext4 volume (measured here, 30 times an append), more than the crawl spends on a page. When the crawl ends, each
source leaves `stats.json` (its Scrapy stats) and `validators.json` (entry points' validators,
to keep once the pages are stored) in its part of the spool.

One source's crawl uses the spool folder itself as its part. A fleet crawl (many sources in one
Scrapy process) shares one manifest between them and gives each source the sub-folder named after
it, so one tail serves every source and each source's stats stay its own.

Files, not pipes or memory: a crawl of thousands of pages must not hold them, extraction starts
while the crawl goes on, and a crashed child leaves what it fetched readable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from flows.records import CrawlResult, FetchedPage, FetchError, Validator

MANIFEST = "manifest.jsonl"
VALIDATORS_FILE = "validators.json"
STATS_FILE = "stats.json"
PAGES_FILE = "pages.bin"


@dataclass(frozen=True)
class PageRecord:
    """A manifest line for a fetched page; `entry` is the entry point whose links led to it."""

    source: str
    url: str
    status: int
    fetched_at: str
    content_type: str | None
    body_file: str
    entry: str | None = None
    kind: str = "page"
    body_offset: int = 0
    body_length: int | None = None  # None: the whole file


@dataclass(frozen=True)
class ErrorRecord:
    """A manifest line for a URL that gave no page."""

    source: str
    url: str
    reason: str
    kind: str = "error"


SpoolRecord = PageRecord | ErrorRecord


def part_dir(spool_dir: Path, part: str = "") -> Path:
    """Where one source's pages, stats and validators go: the spool, or its sub-folder `part`."""
    return spool_dir / part if part else spool_dir


def parse_record(line: str) -> SpoolRecord:
    """One manifest line as its record; raises ValueError on a line that is not one."""
    raw = json.loads(line)
    kind = raw.get("kind")
    if kind == "error":
        return ErrorRecord(raw["source"], raw["url"], raw["reason"])
    if kind == "page":
        return PageRecord(
            source=raw["source"],
            url=raw["url"],
            status=int(raw["status"]),
            fetched_at=raw["fetched_at"],
            content_type=raw.get("content_type"),
            body_file=raw["body_file"],
            entry=raw.get("entry"),
            body_offset=int(raw.get("body_offset", 0)),
            body_length=None if raw.get("body_length") is None else int(raw["body_length"]),
        )
    raise ValueError(f"not a spool record: {line[:80]!r}")


# -- writing (the crawl child) ----------------------------------------------------------------


class _Manifest:
    """One append-only manifest per process, shared by every source writing to it.

    Each line goes out in one write(2) on an O_APPEND descriptor, so a reader never sees half a
    line from one writer joined to another's.
    """

    _open: dict[Path, _Manifest] = {}  # noqa: RUF012 - a registry, by design shared

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.users = 0

    @classmethod
    def acquire(cls, path: Path) -> _Manifest:
        manifest = cls._open.get(path)
        if manifest is None:
            manifest = cls._open[path] = cls(path)
        manifest.users += 1
        return manifest

    def release(self) -> None:
        self.users -= 1
        if self.users <= 0:
            os.close(self.fd)
            self._open.pop(self.path, None)

    def append(self, record: SpoolRecord) -> None:
        os.write(self.fd, (json.dumps(asdict(record), ensure_ascii=False) + "\n").encode("utf-8"))


def _append(path: Path, body: bytes) -> int:
    """Append `body` to `path` and return where it starts. O_APPEND places it at the end even
    when another process appends too; the descriptor's position then tells where it ended."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(descriptor, body)
        if written != len(body):  # a full disk: the record must not point at a short body
            raise OSError(f"spool: wrote {written} of {len(body)} bytes to {path}")
        return os.lseek(descriptor, 0, os.SEEK_CUR) - written
    finally:
        os.close(descriptor)


class SpoolWriter:
    """Writes one source's pages and errors into a spool (its part named by `part`)."""

    def __init__(self, spool_dir: Path, part: str = "") -> None:
        self.spool_dir = spool_dir
        self.part = part
        self._manifest: _Manifest | None = None

    @property
    def part_dir(self) -> Path:
        return part_dir(self.spool_dir, self.part)

    def open(self) -> None:
        self.part_dir.mkdir(parents=True, exist_ok=True)
        self._manifest = _Manifest.acquire(self.spool_dir / MANIFEST)

    def close(self) -> None:
        if self._manifest is not None:
            self._manifest.release()
            self._manifest = None

    def page(
        self,
        source: str,
        url: str,
        status: int,
        fetched_at: str,
        body: bytes,
        content_type: str | None,
        entry: str | None = None,
    ) -> PageRecord:
        assert self._manifest is not None, "SpoolWriter.open() first"
        body_file = "/".join(filter(None, [self.part, PAGES_FILE]))
        offset = _append(self.spool_dir / body_file, body)
        record = PageRecord(
            source,
            url,
            status,
            fetched_at,
            content_type,
            body_file,
            entry,
            "page",
            offset,
            len(body),
        )
        self._manifest.append(record)
        return record

    def error(self, source: str, url: str, reason: str) -> ErrorRecord:
        assert self._manifest is not None, "SpoolWriter.open() first"
        record = ErrorRecord(source, url, reason)
        self._manifest.append(record)
        return record


def write_stats(directory: Path, stats: dict[str, Any]) -> None:
    """A crawl's Scrapy stats, values made JSON-safe (datetimes become text)."""
    jsonable = {
        key: value if isinstance(value, int | float | str | bool | type(None)) else str(value)
        for key, value in stats.items()
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / STATS_FILE).write_text(json.dumps(jsonable, indent=1), encoding="utf-8")


def write_validators(directory: Path, validators: Iterable[Validator]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    rows = [asdict(validator) for validator in validators]
    (directory / VALIDATORS_FILE).write_text(json.dumps(rows), encoding="utf-8")


# -- reading (the flow) ---------------------------------------------------------------------


class ManifestTail:
    """New complete records of a manifest that another process is still appending to."""

    def __init__(self, spool_dir: Path) -> None:
        self.path = spool_dir / MANIFEST
        self._file: IO[str] | None = None
        self._partial = ""

    def read_new(self) -> list[SpoolRecord]:
        if self._file is None:
            if not self.path.exists():
                return []
            self._file = self.path.open(encoding="utf-8")
        chunk = self._file.read()
        if not chunk:
            return []
        lines = (self._partial + chunk).split("\n")
        self._partial = lines.pop()
        return [parse_record(line) for line in lines if line.strip()]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def iter_records(spool_dir: Path) -> Iterator[SpoolRecord]:
    manifest = spool_dir / MANIFEST
    if not manifest.exists():
        return
    with manifest.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield parse_record(line)


def fetched_page(record: PageRecord, spool_dir: Path, with_body: bool = True) -> FetchedPage:
    """The page a record describes; its body is read from the spool unless told not to."""
    return FetchedPage(
        source=record.source,
        url=record.url,
        status=record.status,
        fetched_at=datetime.fromisoformat(record.fetched_at),
        body=_read_body(record, spool_dir) if with_body else b"",
        content_type=record.content_type,
    )


def _read_body(record: PageRecord, spool_dir: Path) -> bytes:
    path = spool_dir / record.body_file
    if record.body_length is None:
        return path.read_bytes()
    with path.open("rb") as pages:
        pages.seek(record.body_offset)
        body = pages.read(record.body_length)
    if len(body) != record.body_length:
        raise OSError(f"spool: {path} holds {len(body)} of the page's {record.body_length} bytes")
    return body


def fetch_error(record: ErrorRecord) -> FetchError:
    return FetchError(record.source, record.url, record.reason)


def iter_spool(spool_dir: Path, with_bodies: bool = True) -> Iterator[FetchedPage | FetchError]:
    """Pages and errors in fetch order, bodies read one at a time (or not at all)."""
    for record in iter_records(spool_dir):
        if isinstance(record, ErrorRecord):
            yield fetch_error(record)
        else:
            yield fetched_page(record, spool_dir, with_bodies)


def read_stats(directory: Path) -> dict[str, object]:
    stats_file = directory / STATS_FILE
    if not stats_file.exists():
        return {}
    stats: dict[str, object] = json.loads(stats_file.read_text(encoding="utf-8"))
    return stats


def read_validators(directory: Path) -> list[Validator]:
    validators_file = directory / VALIDATORS_FILE
    if not validators_file.exists():
        return []
    return [Validator(**row) for row in json.loads(validators_file.read_text(encoding="utf-8"))]


def read_crawl(
    source_name: str, spool_dir: Path, with_pages: bool = True, part: str = ""
) -> CrawlResult:
    """One source's crawl: its pages (unless `with_pages` is False: bodies can be large),
    errors, stats and validators. In a shared spool, only that source's records count.
    `skipped` is left to the caller (flows.fetch.crawl derives it from the stats)."""
    result = CrawlResult(source=source_name)
    for record in iter_records(spool_dir):
        if part and record.source != source_name:
            continue
        if isinstance(record, ErrorRecord):
            result.errors.append(fetch_error(record))
            continue
        if with_pages:
            result.pages.append(fetched_page(record, spool_dir))
    directory = part_dir(spool_dir, part)
    result.stats = read_stats(directory)
    result.validators = read_validators(directory)
    return result
