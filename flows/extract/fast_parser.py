"""trafilatura's HTML parser, with each element's Python class chosen in C.

lxml.html's parser picks the class of every element proxy by calling a Python method
(`HtmlElementClassLookup.lookup`), and lxml makes a new proxy each time a walk meets an element:
trafilatura walks a page's tree dozens of times, so on the shared Scrapinghub corpus these calls
were about a tenth of an extraction's CPU (3,100 a page). lxml's `ElementDefaultClassLookup`
answers in C with the same `HtmlElement`, `HtmlComment`, `HtmlProcessingInstruction` and
`HtmlEntity` classes; only the form-control subclasses (`FormElement`, `InputElement`, ...),
which no extraction step uses, become plain `HtmlElement`. Stored articles come out
byte-identical on both shared corpora (1,171 pages); tests/unit/test_fast_parser.py compares
every fixture page both ways.

Installed with the fast selectors, at the first extraction (`NEWSWATCH_TRAFILATURA_SELECTORS=xpath`
keeps trafilatura's own parser too); the benchmark's bare trafilatura never installs it.
"""

from __future__ import annotations

from lxml.etree import ElementDefaultClassLookup
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction

from flows.extract.fast_selectors import trafilaturas_own

__all__ = ["C_LOOKUP", "active", "install"]

C_LOOKUP = ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
)
_tried = False
_active = False


def install() -> None:
    """Give trafilatura's parser the C lookup, once per process."""
    global _tried, _active
    if _tried:
        return
    _tried = True
    if trafilaturas_own():
        return
    from trafilatura.utils import HTML_PARSER

    HTML_PARSER.set_element_class_lookup(C_LOOKUP)
    _active = True


def active() -> bool:
    """True once this process's trafilatura parser has the C lookup."""
    return _active
