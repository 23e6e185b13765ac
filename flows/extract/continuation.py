"""An article body split into several containers: the parts trafilatura leaves behind.

Publishers that put an advertisement or a newsletter box between two halves of a story often close
the story's container and open a second one just like it (same tag, same class) after the box.
trafilatura picks one container and keeps the first half only. Here the container of the text it
kept is found in the page, and the paragraphs of later containers with exactly the same tag and
class are added, in page order. Readability-style extractors merge siblings in the same spirit;
none does it for this layout, hence the hand-written rule.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

_WORDS = re.compile(r"\w+")
# A line this long identifies its paragraph in the page; shorter ones are too common.
ANCHOR_CHARS = 80
# Paragraphs shorter than this in a continuation are captions, credits or prompts: left out.
MIN_PARAGRAPH_CHARS = 80
# Same-class containers inside these are page furniture or readers' comments, not the story.
_FURNITURE_TAGS = frozenset({"footer", "aside", "nav", "form", "header"})
_COMMENTS = re.compile(r"comment|respon|reply|discuss", re.IGNORECASE)
# A continuation holds at least this many such paragraphs.
MIN_PARAGRAPHS = 2
_MAX_CONTAINERS = 20
# Where a continuation may be: among the next few siblings, at most three levels up.
_SIBLINGS_AHEAD = 3
_LEVELS_UP = 3


def text_key(text: str) -> str:
    """A text's words, case-folded: the same paragraph whatever its spacing and punctuation."""
    return " ".join(_WORDS.findall(text.casefold()))


def paragraph_of(line: str, paragraphs: list[tuple[HtmlElement, str]]) -> int | None:
    """The index in `paragraphs` of the page paragraph whose words are exactly the line's."""
    anchor = text_key(line)
    # A substring test on the raw text first: the word regex runs on a few candidates only.
    probe = max(line.split()[:6], key=len, default="")
    for index, (_, text) in enumerate(paragraphs):
        if probe in text and text_key(text) == anchor:
            return index
    return None


def continuation_paragraphs(extracted: str, paragraphs: list[tuple[HtmlElement, str]]) -> list[str]:
    """Paragraphs of the containers that continue the one `extracted` was taken from;
    `paragraphs` are the page's <p> elements with their text, in page order."""
    lines = [line for line in extracted.splitlines() if len(line.strip()) >= ANCHOR_CHARS]
    if not lines:
        return []
    found_at = paragraph_of(lines[-1], paragraphs)  # the last long line: nearest the break
    container = None if found_at is None else paragraphs[found_at][0].getparent()
    if container is None or not (container.get("class") or "").strip():
        return []
    tag, css_class = container.tag, container.get("class")
    if _following_match(container, tag, css_class) is None:
        return []
    have = {text_key(line) for line in extracted.splitlines()}
    extra: list[str] = []
    for element in _next_containers(container, tag, css_class):
        if any(
            ancestor.tag in _FURNITURE_TAGS
            or _COMMENTS.search(f"{ancestor.get('id', '')} {ancestor.get('class', '')}")
            for ancestor in element.iterancestors()
        ):
            break
        found = []
        for paragraph in element.iter("p"):
            text = " ".join(paragraph.text_content().split())
            key = text_key(text)
            if len(text) >= MIN_PARAGRAPH_CHARS and "©" not in text and key not in have:
                found.append(text)
                have.add(key)
        if len(found) < MIN_PARAGRAPHS:
            break  # a prompt or a teaser box, not the story going on
        extra.extend(found)
    return extra


def _next_containers(container: HtmlElement, tag: str, css_class: str) -> list[HtmlElement]:
    """Elements of `tag` and `css_class` just after `container`: among the next few siblings of
    the container or of one of its two nearest ancestors (or inside them), in page order, each
    continuing the previous one."""
    found: list[HtmlElement] = []
    current = container
    while len(found) < _MAX_CONTAINERS:
        following = _following_match(current, tag, css_class)
        if following is None:
            break
        found.append(following)
        current = following
    return found


def _following_match(element: HtmlElement, tag: str, css_class: str) -> HtmlElement | None:
    level: HtmlElement | None = element
    for _ in range(_LEVELS_UP + 1):
        if level is None:
            return None
        for sibling in list(level.itersiblings())[:_SIBLINGS_AHEAD]:
            if not isinstance(sibling.tag, str):
                continue
            if sibling.tag == tag and sibling.get("class") == css_class:
                return sibling
            for inner in sibling.iter(tag):
                if inner.get("class") == css_class:
                    return inner
        level = level.getparent()
    return None
