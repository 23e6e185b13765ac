"""The opening of a story that trafilatura leaves out: the standfirst and lead paragraphs above
the first paragraph it kept.

Publishers set the standfirst (the summary under the headline) and often the first paragraphs
in a container of their own, a header or a "lead" block, and trafilatura's precision mode
keeps only the main container. Walking back from the paragraph that opens the extraction, the
page's preceding `<p>` elements are taken while they read as prose: long enough, mostly not
link text, outside navigation, forms and asides, not in an element whose class or id names a
consent banner, a newsletter or a promotion, and close to the paragraph after them. A picture's
caption on the way is passed over; the first other paragraph that is not prose ends the walk.
The stored body of a story therefore opens with its standfirst (docs/extraction.md, "The
opening"); a watch matches the words the publisher chose to summarise it with.
Readability-style extractors score siblings of the chosen node in the same spirit; none walks
back across containers, hence the hand-written rule.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from flows.extract.continuation import ANCHOR_CHARS, paragraph_of, text_key
from flows.extract.trailer import is_trailer

# An opening paragraph is at least this long: shorter ones are labels, datelines, prompts.
MIN_OPENING_CHARS = 80
MAX_OPENING_PARAGRAPHS = 5
# At most this share of an opening paragraph's text is link text.
MAX_LINK_SHARE = 0.3
_FURNITURE_TAGS = frozenset({"nav", "footer", "aside", "form"})
_NOT_STORY = re.compile(
    r"cookie|consent|gdpr|privacy|newsletter|promo|advert|related|share|social", re.IGNORECASE
)
# A picture's caption or credit between the standfirst and the story is passed over.
_FIGURE_TAGS = frozenset({"figure", "figcaption"})
_CAPTION = re.compile(r"caption|credit", re.IGNORECASE)
# An opening paragraph is at most this many elements (in page order) above the paragraph after
# it: a standfirst sits just above the story, a paragraph past a hero image gallery, a share bar
# and a menu is the page's furniture (a site blurb, a newsletter pitch, an author's bio).
MAX_ELEMENTS_BETWEEN = 50
# How many of a paragraph's nearest ancestors (itself included) have their class and id read.
_NAMED_LEVELS = 4


def _names(element: HtmlElement) -> str:
    return f"{element.get('class', '')} {element.get('id', '')}"


def _is_caption(paragraph: HtmlElement) -> bool:
    chain = [paragraph, *paragraph.iterancestors()][:_NAMED_LEVELS]
    return any(element.tag in _FIGURE_TAGS or _CAPTION.search(_names(element)) for element in chain)


def _is_prose(paragraph: HtmlElement, text: str) -> bool:
    if len(text) < MIN_OPENING_CHARS or is_trailer(text):
        return False
    link_chars = sum(len(link.text_content()) for link in paragraph.iter("a"))
    if link_chars > MAX_LINK_SHARE * len(text):
        return False
    chain = [paragraph, *paragraph.iterancestors()]
    if any(element.tag in _FURNITURE_TAGS for element in chain):
        return False
    return not any(_NOT_STORY.search(_names(element)) for element in chain[:_NAMED_LEVELS])


def opening_paragraphs(
    extracted: str, paragraphs: list[tuple[HtmlElement, str]], titles: set[str]
) -> list[str]:
    """The prose paragraphs just before the one `extracted` opens with, in page order;
    `paragraphs` are the page's <p> elements with their text, `titles` its headline candidates
    (as flows.extract.body.page_titles gives them)."""
    lines = [line for line in extracted.splitlines() if len(line.strip()) >= ANCHOR_CHARS]
    if not lines:
        return []
    first = paragraph_of(lines[0], paragraphs)
    if first is None:
        return []
    have = {text_key(line) for line in extracted.splitlines()}
    candidates: list[tuple[HtmlElement, str]] = []
    for paragraph, raw_text in reversed(paragraphs[:first]):
        text = " ".join(raw_text.split())
        if not text or _is_caption(paragraph):
            continue
        key = text_key(text)
        if key in have or key in titles or not _is_prose(paragraph, text):
            break
        candidates.append((paragraph, text))
        if len(candidates) == MAX_OPENING_PARAGRAPHS:
            break
    if not candidates:
        return []
    anchor = paragraphs[first][0]
    positions = _positions(anchor, {paragraph for paragraph, _ in candidates})
    found: list[str] = []
    below = positions[anchor]
    for paragraph, text in candidates:
        if below - positions[paragraph] > MAX_ELEMENTS_BETWEEN:
            break
        found.append(text)
        below = positions[paragraph]
    return found[::-1]


def _positions(anchor: HtmlElement, wanted: set[HtmlElement]) -> dict[HtmlElement, int]:
    """Page-order indexes of `wanted` and `anchor` (all of them before it): one walk of the tree,
    to the anchor, and only on the pages that have a candidate."""
    positions: dict[HtmlElement, int] = {}
    for index, element in enumerate(anchor.getroottree().getroot().iter()):
        if element is anchor:
            positions[anchor] = index
            break
        if element in wanted:
            positions[element] = index
    return positions
