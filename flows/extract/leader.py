"""The lines a story's container opens with before the story: reading time, a bare date or time
stamp, a byline.

newswatch stores the publication time and the authors apart (flows.extract.dates and
flows.extract.structured), so in the body these lines only add words a watch can match. From the
first line on, short lines of these kinds are dropped; the first other line ends the leader.
Reading-time labels are written in each language's words, as listed here (no kept library lists
them).
"""

from __future__ import annotations

import re

MAX_LEADER_CHARS = 80
MAX_LEADER_LINES = 4
_READING_TIME = re.compile(
    r"^(?:\d+\s*(?:min(?:ute)?s?\.?|minuten?)\s*(?:read|lesezeit|de lecture|de leitura|de lectura)"
    r"|(?:reading time|read time|lesezeit|lesedauer|temps de lecture|tempo de leitura|"
    r"tiempo de lectura|tempo di lettura|czas czytania)\s*:?\s*(?:ca\.\s*)?\d+\s*\w*)\.?$",
    re.IGNORECASE,
)
# A stamp: digits of a date or a time with at most a few words around them ("Updated 10:15 AM
# EST", "23.10.2018", "5:45 AM PST 11/19/2019").
_DATE = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{1,2}:\d{2}(?::\d{2})?\b")
_STAMP_WORDS = 4
_BYLINE = re.compile(r"^(?:by|von|par|por|di|door)\s+\w+(?:[ .'-]+\w+){0,4}$", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+")


def _is_stamp(line: str) -> bool:
    if not _DATE.search(line):
        return False
    rest = _DATE.sub(" ", line)
    rest = re.sub(r"\b(?:by|von|par|por)\s+\w+(?:\s+\w+)?$", " ", rest, flags=re.IGNORECASE)
    return len(_WORD.findall(rest)) <= _STAMP_WORDS


def _is_leader(line: str) -> bool:
    return len(line) <= MAX_LEADER_CHARS and bool(
        _READING_TIME.match(line) or _is_stamp(line) or _BYLINE.match(line)
    )


def drop_leader(text: str) -> str:
    """`text` without the reading-time, stamp and byline lines that open it."""
    lines = text.splitlines()
    start = 0
    while start < min(len(lines) - 1, MAX_LEADER_LINES):
        line = " ".join(lines[start].split())
        if line and not _is_leader(line):
            break
        start += 1
    return text if start == 0 else "\n".join(lines[start:]).lstrip()
