"""Publication times: ISO 8601 kept to the minute with its offset, RFC 2822 (the e-mail and HTTP
form, common in meta tags) read by the standard library, relative and numeric display times on
the fast path (flows.extract.reltime), dates in words in any language by dateparser.

dateparser costs milliseconds per call when told the language, seconds when it must guess among
all of them, so it runs last, only on text the fast paths did not read, and only in the page's
language (and English, common on pages of any language). Which languages it knows is read from
its static language list: asking its loader for the locale map loads every locale (a second of
CPU in each extraction process), and a parser is made for just the page's language and English.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from flows.extract.reltime import parse_display_time

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

# An ISO 8601 date and time, anywhere in the text ("2025-07-27T10:15+03:00", "... 10:15:30.5Z").
_ISO_TIME = re.compile(
    r"(?<!\d)\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?(?:Z|[+-]\d{2}(?::?\d{2})?))?"
    # the basic format: "20210504T132005+0200"
    r"|(?<!\d)\d{8}T\d{4}(?:\d{2})?(?:Z|[+-]\d{4})?(?!\d)"
)
_LETTER = re.compile(r"[^\W\d_]")
_MAX_WORDS_CHARS = 120  # a displayed date, not a paragraph: longer text is not worth the time
# RFC 2822: "Wed, 04 May 2022 02:41:00 GMT", "4 May 2022 19:18:00 +0200" (weekday optional).
_RFC_2822 = re.compile(
    r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"\s+(?:[+-]\d{4}|GMT|UT|UTC|Z)$"
)


def exact_time(text: str | None) -> datetime | None:
    """An ISO 8601 date with a time in the text, aware (UTC when no offset is given), or None."""
    match = _ISO_TIME.search(text or "")
    if match is None:
        return None
    value = match.group().replace(",", ".").replace(" ", "T", 1).replace(" ", "")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def rfc2822_time(text: str) -> datetime | None:
    """An RFC 2822 date and time ("Wed, 04 May 2022 02:41:00 GMT"), aware, or None."""
    if _RFC_2822.match(text) is None:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@cache
def _dateparser_languages() -> frozenset[str]:
    from dateparser.data.languages_info import language_order

    return frozenset(language_order)


_SETTINGS: dict[str, Any] = {
    "RETURN_AS_TIMEZONE_AWARE": True,
    "TIMEZONE": "UTC",
    "TO_TIMEZONE": "UTC",
    "PREFER_DATES_FROM": "past",
    # "May" or "Mai 2025" alone is no publication date: a wrong guess is worse than none.
    "REQUIRE_PARTS": ["day", "month", "year"],
}


def _parser(languages: tuple[str, ...], relative_base: datetime) -> DateDataParser:
    """A parser for these languages; cheap to make (dateparser's loader keeps the locales it
    has loaded, once per process)."""
    from dateparser.date import DateDataParser

    settings = {**_SETTINGS, "RELATIVE_BASE": relative_base}
    return DateDataParser(languages=list(languages), settings=settings)


def _in_words(text: str, fetched_at: datetime, language: str | None) -> datetime | None:
    known = _dateparser_languages()
    languages = tuple(code for code in dict.fromkeys((language or "", "en")) if code in known)
    relative_base = fetched_at.astimezone(UTC).replace(tzinfo=None)
    try:
        parsed: datetime | None = _parser(languages, relative_base).get_date_data(text).date_obj
    except (ValueError, OverflowError):
        return None
    return parsed


def parse_published(
    text: str | None, fetched_at: datetime, language: str | None = None
) -> datetime | None:
    """A displayed or declared publication time as an aware datetime, or None when unreadable.

    `language`: the page's ISO 639-1 code, for dates written in words.
    """
    if not text or not text.strip():
        return None
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    text = " ".join(text.split())
    found = exact_time(text) or rfc2822_time(text) or parse_display_time(text, fetched_at)
    if found is not None or len(text) > _MAX_WORDS_CHARS or not _LETTER.search(text):
        return found
    return _in_words(text, fetched_at, language)
