"""The spool contract: what the crawl child writes, the flow reads back, alone or shared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.fetch.spool import (
    MANIFEST,
    ErrorRecord,
    ManifestTail,
    PageRecord,
    SpoolWriter,
    fetched_page,
    iter_spool,
    read_crawl,
    write_stats,
    write_validators,
)
from flows.records import FetchError, Validator

FETCHED_AT = "2026-03-01T10:00:00+00:00"


def test_one_source_round_trip(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path)
    writer.open()
    page = writer.page("s", "http://a/1", 200, FETCHED_AT, b"<p>one</p>", "text/html", "http://a/")
    writer.error("s", "http://a/2", "HTTP 404")
    writer.close()
    write_stats(tmp_path, {"response_received_count": 3, "start_time": object()})
    write_validators(tmp_path, [Validator("http://a/", etag='"x"')])

    assert (page.body_file, page.body_offset, page.body_length) == ("pages.bin", 0, 10)
    entries = list(iter_spool(tmp_path))
    assert entries[1] == FetchError("s", "http://a/2", "HTTP 404")
    assert entries[0].body == b"<p>one</p>"  # type: ignore[union-attr]
    crawl = read_crawl("s", tmp_path)
    assert [p.url for p in crawl.pages] == ["http://a/1"]
    assert crawl.stats["response_received_count"] == 3
    assert crawl.validators == [Validator("http://a/", etag='"x"')]
    assert isinstance(crawl.stats["start_time"], str)  # made JSON-safe, not dropped


def test_sources_share_one_manifest_and_keep_their_parts(tmp_path: Path) -> None:
    first, second = SpoolWriter(tmp_path, "alpha"), SpoolWriter(tmp_path, "beta")
    first.open()
    second.open()
    first.page("alpha", "http://a/1", 200, FETCHED_AT, b"A1", None)
    second.page("beta", "http://b/1", 200, FETCHED_AT, b"B1", None)
    second.error("beta", "http://b/2", "timeout")
    first.close()
    second.page("beta", "http://b/3", 200, FETCHED_AT, b"B3", None)  # the file stays open for it
    second.close()
    write_stats(tmp_path / "beta", {"response_received_count": 2})

    lines = (tmp_path / MANIFEST).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    beta = read_crawl("beta", tmp_path, part="beta")
    assert [p.body for p in beta.pages] == [b"B1", b"B3"]
    assert beta.errors == [FetchError("beta", "http://b/2", "timeout")]
    assert beta.stats == {"response_received_count": 2}
    alpha = read_crawl("alpha", tmp_path, part="alpha")
    assert [p.url for p in alpha.pages] == ["http://a/1"] and alpha.stats == {}
    assert (tmp_path / "alpha" / "pages.bin").read_bytes() == b"A1"
    assert (tmp_path / "beta" / "pages.bin").read_bytes() == b"B1B3"


def test_tail_returns_only_complete_records(tmp_path: Path) -> None:
    tail = ManifestTail(tmp_path)
    assert tail.read_new() == []  # not created yet
    record = {"kind": "error", "source": "s", "url": "http://a/é", "reason": "r"}
    line = json.dumps(record, ensure_ascii=False)
    with (tmp_path / MANIFEST).open("w", encoding="utf-8") as manifest:
        manifest.write(line + "\n" + line[:10])
        manifest.flush()
        assert tail.read_new() == [ErrorRecord("s", "http://a/é", "r")]
        manifest.write(line[10:] + "\n")
        manifest.flush()
        assert tail.read_new() == [ErrorRecord("s", "http://a/é", "r")]
        assert tail.read_new() == []
    tail.close()


def test_page_record_reads_back_as_a_fetched_page(tmp_path: Path) -> None:
    (tmp_path / "x.html").write_bytes(b"body")
    record = PageRecord("s", "http://a/1", 200, FETCHED_AT, "text/html", "x.html", None)
    page = fetched_page(record, tmp_path)
    assert (page.body, page.fetched_at.isoformat()) == (b"body", FETCHED_AT)
    assert fetched_page(record, tmp_path, with_body=False).body == b""


def test_a_body_cut_short_is_an_error_not_a_shorter_page(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path)
    writer.open()
    writer.page("s", "http://a/1", 200, FETCHED_AT, b"<p>first</p>", "text/html")
    second = writer.page("s", "http://a/2", 200, FETCHED_AT, b"<p>second</p>", "text/html")
    writer.close()
    assert fetched_page(second, tmp_path).body == b"<p>second</p>"
    with (tmp_path / "pages.bin").open("r+b") as pages:  # a crash mid-write leaves a short tail
        pages.truncate(second.body_offset + 4)
    with pytest.raises(OSError, match="4 of the page's 13 bytes"):
        fetched_page(second, tmp_path)
