"""Display times, URL canonicalization and watch-query checks."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from flows.extract.reltime import parse_display_time
from flows.fetch import urls
from flows.fetch.urls import canonicalize_url, resolve_canonical
from flows.match.query import InvalidAddress, InvalidQuery, validate_email, validate_query

FETCHED = datetime(2025, 8, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 minutes ago", datetime(2025, 8, 15, 11, 50, tzinfo=UTC)),
        ("3 hours ago", datetime(2025, 8, 15, 9, 0, tzinfo=UTC)),
        ("an hour ago", datetime(2025, 8, 15, 11, 0, tzinfo=UTC)),
        ("3 days ago", datetime(2025, 8, 12, 12, 0, tzinfo=UTC)),
        ("BBC News3 days ago", datetime(2025, 8, 12, 12, 0, tzinfo=UTC)),
        ("time20 hours ago", datetime(2025, 8, 14, 16, 0, tzinfo=UTC)),
        ("27-07-2025", datetime(2025, 7, 27, tzinfo=UTC)),
        ("The National16-05-2025", datetime(2025, 5, 16, tzinfo=UTC)),
        ("منذ ساعة واحدة", datetime(2025, 8, 15, 11, 0, tzinfo=UTC)),
        ("منذ 3 ساعات", datetime(2025, 8, 15, 9, 0, tzinfo=UTC)),
        ("منذ ٣ ساعات", datetime(2025, 8, 15, 9, 0, tzinfo=UTC)),
        ("منذ يومين", datetime(2025, 8, 13, 12, 0, tzinfo=UTC)),
        ("منذ 10 دقائق", datetime(2025, 8, 15, 11, 50, tzinfo=UTC)),
    ],
)
def test_display_times_become_absolute(text: str, expected: datetime) -> None:
    assert parse_display_time(text, FETCHED) == expected


@pytest.mark.parametrize(
    "text", [None, "", "Reuters", "31-02-2025", "no time here", "99999999999 years ago"]
)
def test_unknown_times_give_none(text: str | None) -> None:
    assert parse_display_time(text, FETCHED) is None


def test_canonical_url_drops_tracking_and_fragment() -> None:
    url = "HTTPS://WWW.Daily8.com:443/en/article/abc?utm_source=x&b=2&a=1#top"
    assert canonicalize_url(url, ["utm_*"]) == "https://www.daily8.com/en/article/abc?a=1&b=2"


def test_canonical_link_trusted_on_same_site_only() -> None:
    page = "https://test.daily8.com/en/article/abc?utm_medium=listing"
    same_site = resolve_canonical(page, "https://www.daily8.com/en/article/abc", ["utm_*"])
    assert same_site == "https://www.daily8.com/en/article/abc"
    elsewhere = resolve_canonical(page, "https://other.example/x", ["utm_*"])
    assert elsewhere == "https://test.daily8.com/en/article/abc"
    relative = resolve_canonical(page, "/en/article/abc", ["utm_*"])
    assert relative == "https://test.daily8.com/en/article/abc"


@pytest.mark.parametrize(
    ("page", "canonical", "trusted"),
    [
        ("https://www.bbc.co.uk/news/a-1", "https://spam.co.uk/news/a-1", False),
        ("https://www.bbc.co.uk/news/a-1", "https://bbc.co.uk/news/a-1", True),
        ("https://m.news.com.au/a/1", "https://www.news.com.au/a/1", True),
        ("https://alice.github.io/post", "https://mallory.github.io/post", False),
        ("https://staging.ledger.test/a", "https://www.ledger.test/a", True),
        ("https://ledger.test/a", "https://other.test/a", False),
        ("http://127.0.0.1:8000/a", "http://127.0.0.2:8000/a", False),
    ],
)
def test_same_site_by_the_public_suffix_list(page: str, canonical: str, trusted: bool) -> None:
    assert (resolve_canonical(page, canonical) == canonicalize_url(canonical)) is trusted


def test_public_suffix_list_is_never_fetched(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    urls._public_suffixes.cache_clear()
    assert urls.site("https://www.example.co.uk/x") == "example.co.uk"
    assert attempts == []


@pytest.mark.parametrize(
    "query", ["Kursk", '"north korea" -sport', "Kursk OR Belgorod", "المياه", "-war peace"]
)
def test_valid_queries(query: str) -> None:
    assert validate_query(f"  {query} ") == query


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ('"north korea', "unbalanced quote"),
        ("OR Kursk", "OR needs a term"),
        ("Kursk OR", "OR needs a term"),
        ("kursk or", "OR needs a term"),  # Postgres reads a lower-case "or" as OR too
        ("or kursk", "OR needs a term"),
        ("Kursk OR OR Belgorod", "OR needs a term"),
        ("-sport", "only excludes"),
        ('-"north korea" -sport', "only excludes"),
        ("Kursk - sport", "must be followed"),
        ('Kursk ""', "empty phrase"),
        ("!!!", "no letters"),
        ("x" * 501, "longer than"),
    ],
)
def test_invalid_queries_say_why(query: str, reason: str) -> None:
    with pytest.raises(InvalidQuery, match=reason):
        validate_query(query)


def test_queries_are_stored_nfc() -> None:
    """A query typed with a combining accent matches bodies stored precomposed (NFC)."""
    assert validate_query("Cafe\u0301 -Mu\u0308ller") == "Caf\u00e9 -M\u00fcller"


def test_email_addresses() -> None:
    assert validate_email(" desk@example.com ") == "desk@example.com"
    assert validate_email("Desk@Example.COM") == "Desk@example.com"
    for bad in (
        "desk",
        "desk@",
        "@example.com",
        "a b@example.com",
        "x@y@z",
        "analyst@example",  # no dot: not a domain mail can reach
        "desk@example..com",
        "desk@-example.com",
        "ops@newsroom.local",  # special-use name
    ):
        with pytest.raises(InvalidAddress):
            validate_email(bad)
