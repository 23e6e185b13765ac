"""The lines publishers put after a story inside its container: newsletter and follow-us prompts,
comment counters, copyright notices, credits and sources, e-mail and social handles of the
reporter.

trafilatura keeps them when they share the story's container, and a watch on "newsletter" or
"Twitter" would then match every story of such a site. Only the end of the body is read: from the
last line back, lines of at most `MAX_TRAILER_CHARS` that match one of these patterns are dropped,
and the first line that does not match ends the trailer. A word a story may use ("newsletter",
"comments") counts only in a heading-length line, the other patterns are prompts or notices. The wording is that of the languages newswatch stores
most; trafilatura's own boilerplate rules are class-name XPaths, which such unlabelled lines
escape, and no kept library lists them.
"""

from __future__ import annotations

import re

MAX_TRAILER_CHARS = 250
# The trailer is at most this many lines: a longer run of matches is more likely the story's.
MAX_TRAILER_LINES = 6
_TRAILER = re.compile(
    "|".join(
        (
            # subscriptions
            r"\bsubscrib(?:e|ing) (?:to|now|here|today)\b",
            r"\bsign up (?:for|to|here|now|today)\b",
            r"\bdelivered to your inbox\b",
            r"\b(?:newsletter|abo) (?:abonnieren|bestellen)\b",
            r"\bzum newsletter anmelden\b",
            r"\babonnez-vous\b",
            r"\bsuscr[ií]bete\b",
            r"\biscriviti\b",
            # follow-us prompts and handles
            r"\bfollow (?:us|him|her|them|\w+(?: \w+){0,6} on (?:twitter|facebook|instagram|x))\b",
            r"\bfolgen sie uns\b",
            r"\bsuivez-nous\b",
            r"\bs[ií]guenos\b",
            r"\bseguici\b",
            # a line that is only a profile address: host/handle, or host/@handle
            r"^(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)+/@?\w+/?$",
            r"^\S+@\S+\.\w+$",
            r"\b(?:write to|email|e-mail|reach) .{0,60}\S+@\S+\.\w+",
            r"\S+@\S+\.\w+.{0,80}\b(?:twitter|facebook|instagram)\b",
            # credits and sources
            r"\b(?:additional )?reporting by\b|\bcontributed (?:reporting|to this report)\b",
            r"\bediting by\b|^filed under\b",
            r"^(?:source|sources|quelle|quellen|fuente|fonte)\s*:",
            # copyright notices
            r"©|\bcopyright\b|\ball rights reserved\b|\balle rechte vorbehalten\b",
            r"\btous droits réservés\b|\btodos los derechos reservados\b",
            # sharing prompts
            r"^(?:share this|like this story\?|share on)\b",
        )
    ),
    re.IGNORECASE,
)
# Words that make a trailer line only in a heading-length line ("Pick Six Newsletter",
# "12 Comments"): a sentence of the story may mention them.
MAX_HEADING_CHARS = 60
_TRAILER_HEADING = re.compile(
    r"\bnewsletters?\b|^(?:\d+\s+)?(?:comments?|kommentare?|commentaires?|comentarios?)\s*:?\s*\d*$",
    re.IGNORECASE,
)


def is_trailer(line: str) -> bool:
    """A boilerplate line of the kinds listed above (heading-length for the story words)."""
    if len(line) <= MAX_HEADING_CHARS and _TRAILER_HEADING.search(line):
        return True
    return len(line) <= MAX_TRAILER_CHARS and _TRAILER.search(line) is not None


def drop_trailer(text: str) -> str:
    """`text` without the boilerplate lines that end it."""
    lines = text.splitlines()
    end = len(lines)
    dropped = 0
    while end > 1:
        line = " ".join(lines[end - 1].split())
        if line and not is_trailer(line):
            break
        end -= 1
        dropped += bool(line)
    if end == len(lines) or dropped > MAX_TRAILER_LINES:
        return text
    return "\n".join(lines[:end]).rstrip()
