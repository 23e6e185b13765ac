"""Publication times: ISO kept with time and offset, words read in the page's language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from flows.config.sources import Byline, Source
from flows.extract.article import extract_article
from flows.extract.dates import parse_published
from flows.records import FetchedPage

FETCHED = datetime(2025, 8, 15, 12, 0, tzinfo=UTC)
MOSCOW = timezone(timedelta(hours=3))
NEW_YORK = timezone(timedelta(hours=-4))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-07-27T10:15+03:00", datetime(2025, 7, 27, 10, 15, tzinfo=MOSCOW)),
        ("2025-07-27T10:15:30Z", datetime(2025, 7, 27, 10, 15, 30, tzinfo=UTC)),
        (
            "2025-07-27T10:15:00.250-04:00",
            datetime(2025, 7, 27, 10, 15, 0, 250000, tzinfo=NEW_YORK),
        ),
        ("2025-07-27 10:15", datetime(2025, 7, 27, 10, 15, tzinfo=UTC)),  # no offset: UTC
        ("Updated 2025-07-27T10:15+0300", datetime(2025, 7, 27, 10, 15, tzinfo=MOSCOW)),
    ],
)
def test_iso_times_keep_time_and_offset(text: str, expected: datetime) -> None:
    parsed = parse_published(text, FETCHED)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("27. Juli 2025", "de", datetime(2025, 7, 27, tzinfo=UTC)),
        ("Sonntag, 27. Juli 2025 um 10:15 Uhr", "de", datetime(2025, 7, 27, 10, 15, tzinfo=UTC)),
        ("27 juillet 2025", "fr", datetime(2025, 7, 27, tzinfo=UTC)),
        ("27 июля 2025 года", "ru", datetime(2025, 7, 27, tzinfo=UTC)),
        ("15 de marzo de 2024", "es", datetime(2024, 3, 15, tzinfo=UTC)),
        ("vor 3 Stunden", "de", datetime(2025, 8, 15, 9, 0, tzinfo=UTC)),
        ("July 27, 2025", None, datetime(2025, 7, 27, tzinfo=UTC)),
    ],
)
def test_dates_in_words(text: str, language: str | None, expected: datetime) -> None:
    assert parse_published(text, FETCHED, language) == expected


@pytest.mark.parametrize("text", ["Reuters", "Mai 2025", "Juli", "", "   "])
def test_no_guess_from_partial_or_no_dates(text: str) -> None:
    assert parse_published(text, FETCHED, "de") is None


def test_relative_times_keep_the_fast_path() -> None:
    assert parse_published("3 hours ago", FETCHED) == datetime(2025, 8, 15, 9, tzinfo=UTC)
    assert parse_published("منذ يومين", FETCHED) == datetime(2025, 8, 13, 12, tzinfo=UTC)


def _article(head: str, byline: str, source: Source) -> datetime | None:
    paragraph = "Die Hafenbehörde teilte mit, der neue Kai werde im Frühjahr eröffnet. " * 4
    html = f"""<html lang="de"><head>{head}</head><body><h1>Kai</h1>
      <p class="byline"><span class="time">{byline}</span></p><p>{paragraph}</p></body></html>"""
    page = FetchedPage(
        "news", "https://news.example/a", 200, FETCHED, html.encode(), None, "text/html"
    )
    return extract_article(page, source).published_at


def test_article_published_time_is_stored_with_its_offset() -> None:
    source = Source(name="news", feeds=["https://news.example/rss"], min_body_chars=50)
    head = '<meta property="article:published_time" content="2025-07-27T10:15+03:00">'
    published = _article(head, "", source)
    assert published == datetime(2025, 7, 27, 10, 15, tzinfo=MOSCOW)
    assert published is not None and published.utcoffset() == timedelta(hours=3)


def test_displayed_date_in_words_is_read() -> None:
    source = Source(
        name="news",
        feeds=["https://news.example/rss"],
        min_body_chars=50,
        byline=Byline(time_css=".byline .time"),
    )
    assert _article("", "27. Juli 2025", source) == datetime(2025, 7, 27, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wed, 04 May 2022 02:41:00 GMT", datetime(2022, 5, 4, 2, 41, tzinfo=UTC)),
        (
            "Tue, 4 May 2021 19:18:00 +0200",
            datetime(2021, 5, 4, 19, 18, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("4 May 2021 19:18 -0400", datetime(2021, 5, 4, 19, 18, tzinfo=NEW_YORK)),
        ("20210504T132005+0300", datetime(2021, 5, 4, 13, 20, 5, tzinfo=MOSCOW)),
        ("20210504T1320Z", datetime(2021, 5, 4, 13, 20, tzinfo=UTC)),
    ],
)
def test_rfc_2822_and_basic_iso_keep_their_offset(text: str, expected: datetime) -> None:
    parsed = parse_published(text, FETCHED, "de")
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == expected.utcoffset()


def test_dates_in_words_load_only_the_pages_language_and_english() -> None:
    from dateparser.languages.loader import default_loader

    assert parse_published("3. März 2025", FETCHED, "de") == datetime(2025, 3, 3, tzinfo=UTC)
    loaded = set(default_loader._loaded_languages)
    assert {"de", "en"} <= loaded
    assert "ja" not in loaded and "fi" not in loaded
