"""trafilatura's HTML parser, with each element's Python class chosen in C, and its
invalid-character scrub skipped on pages that have none.

lxml.html's parser picks the class of every element proxy by calling a Python method
(`HtmlElementClassLookup.lookup`), and lxml makes a new proxy each time a walk meets an element:
trafilatura walks a page's tree dozens of times, so on the shared Scrapinghub corpus these calls
were about a tenth of an extraction's CPU (3,100 a page). lxml's `ElementDefaultClassLookup`
answers in C with the same `HtmlElement`, `HtmlComment`, `HtmlProcessingInstruction` and
`HtmlEntity` classes; only the form-control subclasses (`FormElement`, `InputElement`, ...),
which no extraction step uses, become plain `HtmlElement`. Stored articles come out
byte-identical on both shared corpora (1,171 pages); tests/unit/test_fast_parser.py compares
every fixture page both ways.

Before parsing, trafilatura deletes the characters XML forbids (`INVALID_XML_CHARS.sub`) from the
whole page: one regular-expression scan, 0.44 ms on an average 173 KB page of the Scrapinghub
corpus, more than half the cost of the parse itself. Real pages almost never hold one (none of
its 181 do). `ScrubWhenNeeded` first asks whether any of those 31 characters occurs at all
(`str.__contains__`, a C memory search: 0.12 ms for all of them) and runs trafilatura's own
substitution only when one does, so the parsed text is the same.

Installed with the fast selectors, at the first extraction (`NEWSWATCH_TRAFILATURA_SELECTORS=xpath`
keeps trafilatura's own parser too); the benchmark's bare trafilatura never installs it.
"""

from __future__ import annotations

import re

from lxml.etree import ElementDefaultClassLookup
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction

from flows.extract.fast_selectors import trafilaturas_own

__all__ = ["C_LOOKUP", "ScrubWhenNeeded", "active", "install"]

# trafilatura's INVALID_XML_CHARS, the text ScrubWhenNeeded's character list was derived from.
_SCRUB_WRITTEN_FOR = r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"

C_LOOKUP = ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
)
_tried = False
_active = False


class ScrubWhenNeeded:
    """Stands in for trafilatura's compiled INVALID_XML_CHARS: same `sub`, scanning only pages
    that hold one of its characters."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        # The class of _SCRUB_WRITTEN_FOR names only C0 controls and U+FFFE, U+FFFF (the test
        # tries every code point); those it keeps (tab, newline, return) are left out here.
        candidates = [*range(0x20), 0xFFFE, 0xFFFF]
        self.characters = tuple(chr(c) for c in candidates if pattern.fullmatch(chr(c)))

    def sub(self, replacement: str, text: str, count: int = 0) -> str:
        if any(character in text for character in self.characters):
            return self.pattern.sub(replacement, text, count)
        return text


def install() -> None:
    """Give trafilatura's parser the C lookup and the scrub its pre-check, once per process."""
    global _tried, _active
    if _tried:
        return
    _tried = True
    if trafilaturas_own():
        return
    from trafilatura import utils

    utils.HTML_PARSER.set_element_class_lookup(C_LOOKUP)
    if getattr(utils.INVALID_XML_CHARS, "pattern", None) == _SCRUB_WRITTEN_FOR:
        utils.INVALID_XML_CHARS = ScrubWhenNeeded(utils.INVALID_XML_CHARS)  # type: ignore[assignment]
    _active = True


def active() -> bool:
    """True once this process's trafilatura parser has the C lookup."""
    return _active
