"""Display times as aggregators print them ("3 hours ago", "منذ يومين", "27-07-2025") made absolute."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")

_EN_UNITS = {
    "second": "seconds",
    "sec": "seconds",
    "minute": "minutes",
    "min": "minutes",
    "hour": "hours",
    "hr": "hours",
    "day": "days",
    "week": "weeks",
    "month": "months",
    "year": "years",
}
_EN_RELATIVE = re.compile(
    r"(?P<count>\d+|an?|one)\s*(?P<unit>second|sec|minute|min|hour|hr|day|week|month|year)s?\s+ago",
    re.IGNORECASE,
)

# Arabic units: singular, dual and plural forms all name one unit.
_AR_UNITS: dict[str, str] = {}
for _unit, _forms in {
    "seconds": ("ثانية", "ثانيتين", "ثانيتان", "ثوان", "ثواني", "ثوانٍ"),
    "minutes": ("دقيقة", "دقيقتين", "دقيقتان", "دقائق"),
    "hours": ("ساعة", "ساعتين", "ساعتان", "ساعات"),
    "days": ("يوم", "يومين", "يومان", "أيام", "ايام"),
    "weeks": ("أسبوع", "اسبوع", "أسبوعين", "اسبوعين", "أسابيع", "اسابيع"),
    "months": ("شهر", "شهرين", "شهران", "أشهر", "اشهر", "شهور"),
    "years": ("سنة", "سنتين", "سنتان", "سنوات", "عام", "عامين", "أعوام"),
}.items():
    for _form in _forms:
        _AR_UNITS[_form] = _unit
_AR_DUAL = {f for f in _AR_UNITS if f.endswith(("ين", "ان")) and f not in ("ثواني",)}
_AR_RELATIVE = re.compile(r"منذ\s+(?:(?P<count>\d+)\s+)?(?P<unit>[\u0600-\u06FF]+)")

_ABSOLUTE_FORMATS = (
    (re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)"), "ymd"),
    (re.compile(r"(?<!\d)(\d{1,2})-(\d{1,2})-(\d{4})(?!\d)"), "dmy"),
    (re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)"), "dmy"),
)


def parse_display_time(text: str | None, fetched_at: datetime) -> datetime | None:
    """Turn a displayed time into an aware UTC datetime, relative ones counted back from fetch time.

    Returns None when the text holds no time we understand: a wrong guess is worse than none.
    """
    if not text:
        return None
    text = " ".join(text.translate(_ARABIC_DIGITS).split())
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    lowered = text.lower()
    if re.search(r"\bjust now\b", lowered) or "الآن" in text:
        return fetched_at
    if "yesterday" in lowered or "أمس" in text:
        return fetched_at - timedelta(days=1)
    delta = _english_delta(lowered) or _arabic_delta(text)
    if delta is not None:
        try:
            return fetched_at - delta
        except OverflowError:
            return None  # "99999 years ago": no real date
    return _absolute(text)


def _english_delta(text: str) -> timedelta | None:
    match = _EN_RELATIVE.search(text)
    if not match:
        return None
    raw = match.group("count").lower()
    count = 1 if raw in ("a", "an", "one") else int(raw)
    return _delta(_EN_UNITS[match.group("unit").lower()], count)


def _arabic_delta(text: str) -> timedelta | None:
    match = _AR_RELATIVE.search(text)
    if not match:
        return None
    word = match.group("unit")
    unit = _AR_UNITS.get(word) or _AR_UNITS.get(word.removeprefix("ال"))
    if unit is None:
        return None
    if match.group("count"):
        count = int(match.group("count"))
    elif word in _AR_DUAL:
        count = 2
    else:
        count = 1
    return _delta(unit, count)


def _delta(unit: str, count: int) -> timedelta | None:
    try:
        if unit == "months":
            return timedelta(days=30 * count)
        if unit == "years":
            return timedelta(days=365 * count)
        return timedelta(**{unit: count})
    except OverflowError:
        return None


def _absolute(text: str) -> datetime | None:
    for pattern, order in _ABSOLUTE_FORMATS:
        match = pattern.search(text)
        if not match:
            continue
        first, second, third = (int(group) for group in match.groups())
        year, month, day = (third, second, first) if order == "dmy" else (first, second, third)
        try:
            return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            continue
    return None
