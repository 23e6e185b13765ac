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
_MAX_CONTAINERS = 20


def _key(text: str) -> str:
    return " ".join(_WORDS.findall(text.casefold()))


def continuation_paragraphs(root: HtmlElement, extracted: str) -> list[str]:
    """Paragraphs of the containers that continue the one `extracted` was taken from."""
    lines = [line for line in extracted.splitlines() if len(line.strip()) >= ANCHOR_CHARS]
    if not lines:
        return []
    anchor = _key(lines[-1])  # the last long line: the one nearest the break
    container = None
    for paragraph in root.iter("p"):
        if _key(paragraph.text_content()) == anchor:
            container = paragraph.getparent()
            break
    if container is None or not (container.get("class") or "").strip():
        return []
    tag, css_class = container.tag, container.get("class")
    inside = set(container.iter())
    have = {_key(line) for line in extracted.splitlines()}
    extra: list[str] = []
    after = False
    containers = 0
    for element in root.iter(tag):
        if element is container:
            after = True
            continue
        if not after or element in inside or element.get("class") != css_class:
            continue
        if any(
            ancestor is container
            or ancestor.tag in _FURNITURE_TAGS
            or _COMMENTS.search(f"{ancestor.get('id', '')} {ancestor.get('class', '')}")
            for ancestor in element.iterancestors()
        ):
            continue
        containers += 1
        if containers > _MAX_CONTAINERS:
            break
        for paragraph in element.iter("p"):
            text = " ".join(paragraph.text_content().split())
            key = _key(text)
            if len(text) >= MIN_PARAGRAPH_CHARS and "©" not in text and key not in have:
                extra.append(text)
                have.add(key)
    return extra
