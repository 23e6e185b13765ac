""" "Read also" prompts: links to other stories that publishers set between and after paragraphs.

"Lesen Sie auch: <headline>", "VEA TAMBIÉN: <headline>", or a "Related articles" line over a list
of headlines: trafilatura keeps them when they sit inside the story's container, and they put
other stories' words into the body (and into keyword matches). A line that starts with such a
prompt, followed by a separator and a headline, is dropped; a line that is the prompt alone is
dropped with the (at most three) headline-length lines without a full stop that follow it: a longer run is more
likely the article's own list. The phrases are the ordinary wording of
the languages newswatch stores most; no list of this kind exists in a kept library (trafilatura's
own are XPath class-name patterns, which these lines escape by having no telling class).
"""

from __future__ import annotations

import re

_PHRASES = (
    # English
    "read more", "read also", "also read", "see also", "related", "related articles",
    "related stories", "related content", "recommended", "more on this", "more on this story",
    "you may also like", "you might also like", "see more", "don't miss", "also on", "more",
    "also", "most read", "related post", "more stories", "more from",
    # German
    "lesen sie auch", "lesen sie mehr", "auch interessant", "das könnte sie auch interessieren",
    "das könnte dich auch interessieren", "mehr zum thema", "weitere artikel", "schon gelesen",
    "zum weiterlesen", "weiterlesen", "ebenfalls interessant", "passend zum thema",
    "auch lesen", "mehr themen", "weitere themen", "siehe auch", "mehr dazu",
    # French
    "à lire aussi", "a lire aussi", "lire aussi", "voir aussi", "à voir aussi", "sur le même sujet",
    # Spanish and Portuguese
    "lea también", "lee también", "vea también", "ve también", "le puede interesar",
    "te puede interesar", "también te puede interesar", "notas relacionadas",
    "noticias relacionadas", "contenido relacionado", "leia também", "veja também",
    "leia mais", "saiba mais",
    # Italian, Dutch, Polish
    "leggi anche", "leggi anche:", "lees ook", "czytaj też", "czytaj także", "zobacz też",
    "zobacz także",
)  # fmt: skip
_PHRASE = "|".join(sorted((re.escape(p) for p in set(_PHRASES)), key=len, reverse=True))
# The prompt, a separator, then the other story's headline.
_PREFIXED = re.compile(rf"^(?:{_PHRASE})\s*(?::|»|>>|\||–|—)\s*\S", re.IGNORECASE)
# The prompt alone, as a heading over a list of headlines ("Lesen Sie auch die folgenden
# Beiträge:" too: a few more words, then a colon).
_ALONE = re.compile(rf"^(?:{_PHRASE})(?:\s*[:?!.…»]*|(?:\s+[^\s:]+){{1,4}}\s*:)$", re.IGNORECASE)
# A prompt line is a headline's length, not a paragraph.
MAX_PROMPT_CHARS = 200
# Lines under a bare prompt this short are the listed headlines, up to this many of them.
MAX_LISTED_CHARS = 150
MAX_LISTED = 3


def drop_prompts(text: str) -> str:
    """`text` without its "read also" lines and the headline lists under a bare prompt."""
    lines = text.splitlines()
    kept: list[str] = []
    listing = 0
    for line in lines:
        stripped = " ".join(line.split())
        # A headline has no full stop: a sentence under the prompt is the story again.
        if listing and stripped and len(stripped) <= MAX_LISTED_CHARS and stripped[-1] != ".":
            listing -= 1
            continue
        listing = 0
        if len(stripped) <= MAX_PROMPT_CHARS and _PREFIXED.match(stripped):
            continue
        if _ALONE.match(stripped):
            listing = MAX_LISTED
            continue
        kept.append(line)
    return "\n".join(kept) if len(kept) < len(lines) else text
