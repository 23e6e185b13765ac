"""Publication times: ISO 8601 kept to the minute with its offset, relative and numeric display
times on the fast path (flows.extract.reltime), dates in words in any language by dateparser.

dateparser costs milliseconds per call when told the language, seconds when it must guess among
all of them, so it runs last, only on text the fast paths did not read, and only in the page's
language (and English, common on pages of any language).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

from flows.extract.reltime import parse_display_time

# An ISO 8601 date and time, anywhere in the text ("2025-07-27T10:15+03:00", "... 10:15:30.5Z").
_ISO_TIME = re.compile(
    r"(?<!\d)\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s?(?:Z|[+-]\d{2}(?::?\d{2})?))?"
)
_LETTER = re.compile(r"[^\W\d_]")
_MAX_WORDS_CHARS = 120  # a displayed date, not a paragraph: longer text is not worth the time


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


@cache
def _dateparser_languages() -> frozenset[str]:
    from dateparser.languages.loader import default_loader

    return frozenset(default_loader.get_locale_map())


def _in_words(text: str, fetched_at: datetime, language: str | None) -> datetime | None:
    import dateparser

    known = _dateparser_languages()
    languages = [code for code in dict.fromkeys((language or "", "en")) if code in known]
    settings: Any = {
        "RETURN_AS_TIMEZONE_AWARE": True,
        "TIMEZONE": "UTC",
        "TO_TIMEZONE": "UTC",
        "RELATIVE_BASE": fetched_at.astimezone(UTC).replace(tzinfo=None),
        "PREFER_DATES_FROM": "past",
        # "May" or "Mai 2025" alone is no publication date: a wrong guess is worse than none.
        "REQUIRE_PARTS": ["day", "month", "year"],
    }
    try:
        parsed: datetime | None = dateparser.parse(text, languages=languages, settings=settings)
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
    found = exact_time(text) or parse_display_time(text, fetched_at)
    if found is not None or len(text) > _MAX_WORDS_CHARS or not _LETTER.search(text):
        return found
    return _in_words(" ".join(text.split()), fetched_at, language)
