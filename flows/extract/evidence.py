"""When the publisher's own `articleBody` (flows.extract.structured) can be believed, and what
it then changes in the extracted body.

It is believed when it is whole (no teaser ending) and the page itself shows its opening words in
its paragraphs: the JSON-LD is a script, so it never vouches for itself, and a block copied from
another page or a template fails the test. A believed body that is much longer than the extraction replaces it
(flows.extract.body); one of about the same length is a list of what the article says, so an
extracted short line it does not contain (a caption, a credit, a "read more" prompt) is dropped.
Long lines stay whatever the data says: publishers' bodies often omit a paragraph or two.
"""

from __future__ import annotations

import re

from flows.extract.structured import ArticleData

_WORDS = re.compile(r"\w+")
_TEASER_ENDINGS = ("…", "...", "[…]", "[...]")
_OPENING_WORDS = 8
# Lines shorter than this that the publisher's body lacks are dropped.
SHORT_LINE_CHARS = 100
# The trim applies when the publisher's body is this close to the extraction's length.
COMPARABLE_LENGTHS = (0.6, 1.6)


def _words(text: str) -> str:
    return " ".join(_WORDS.findall(text.casefold()))


def page_shows(visible: str, text: str) -> bool:
    """Whether the opening words of `text` are among the `visible` text's words, in order."""
    opening = _words(text).split()[:_OPENING_WORDS]
    if len(opening) < _OPENING_WORDS:
        return False
    return " ".join(opening) in _words(visible)


def trusted_body(visible: str, article: ArticleData | None) -> str | None:
    """The publisher's articleBody when it is whole and `visible` (the text of the page's
    paragraphs) holds its opening; else None."""
    if article is None or not article.body or article.is_live_blog:
        return None
    text = article.body.strip()
    if text.endswith(_TEASER_ENDINGS) or not page_shows(visible, text):
        return None
    return text


def comparable(extracted: str, publisher_text: str) -> bool:
    low, high = COMPARABLE_LENGTHS
    return bool(extracted) and low <= len(publisher_text) / len(extracted) <= high


def trim_to_publisher_text(extracted: str, publisher_text: str) -> str:
    """`extracted` without the short lines that a comparable publisher's body lacks."""
    if not comparable(extracted, publisher_text):
        return extracted
    known = _words(publisher_text)
    kept = [
        line
        for line in extracted.splitlines()
        if len(line.strip()) >= SHORT_LINE_CHARS or _words(line) in known
    ]
    return "\n".join(kept) if kept else extracted
