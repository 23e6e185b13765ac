"""Extraction: a fetched page becomes an Article, with the source's boilerplate cut off first.

Aggregator pages carry other stories' full bodies under "Related Articles"; a density-based
extractor may pick one of those. So the page is cut at the source's marker lines (data in the
sources file) before trafilatura sees it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

import lxml.etree
from lxml.cssselect import CSSSelector
from lxml.html import HtmlElement

from flows.config.sources import Source
from flows.extract.body import TRAFILATURA_OPTIONS, extract_body, parse_html
from flows.extract.charset import charset_from_content_type, decode_html
from flows.extract.dates import exact_time, parse_published
from flows.extract.language import page_language
from flows.extract.structured import read_article_data
from flows.fetch.urls import resolve_canonical
from flows.records import Article, FetchedPage
from flows.store.stories import story_keys, words

__all__ = ["TRAFILATURA_OPTIONS", "ExtractionError", "extract_article"]

# Marker lines inside these are navigation, not the end of the article.
_NOT_CONTENT = {"nav", "header", "footer", "a", "button", "option", "label", "script", "style"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")  # UTF-16 and UTF-32


# (tag, attribute naming it, its value) -> (fact, attribute holding the fact's value)
_FACTS = {
    ("link", "rel", "canonical"): ("canonical", "href"),
    ("meta", "property", "og:title"): ("og_title", "content"),
    ("meta", "property", "og:site_name"): ("site_name", "content"),
    ("meta", "property", "article:published_time"): ("published", "content"),
    ("meta", "itemprop", "datePublished"): ("published", "content"),
}


class ExtractionError(ValueError):
    """A page that holds no article we can store; the message says why."""


def _normalized_line(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def normalized_text(text: str) -> str:
    """Words only, case-folded: the same article with other spacing or punctuation hashes alike."""
    return " ".join(words(text))


def content_hash(text: str, text_words: list[str] | None = None) -> str:
    """`text_words`: `words(text)`, when the caller has them already."""
    normalized = normalized_text(text) if text_words is None else " ".join(text_words)
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


def decode_page(page: FetchedPage) -> str:
    """The page's text, whatever its declared charset (see flows.extract.charset), without the control
    characters lxml refuses."""
    declared = page.encoding or charset_from_content_type(page.content_type)
    body = page.body
    if b"\x1b" in body or body.startswith(_WIDE_BOMS):  # ISO-2022 escapes, UTF-16/32
        return _CONTROL.sub("", decode_html(body, declared)[0])
    # In UTF-8 and the other ASCII-compatible encodings these bytes only ever stand for the
    # control characters themselves: deleting them before decoding is the same, 3x cheaper.
    return decode_html(body.translate(None, _CONTROL_BYTES), declared)[0]


def _is_navigation(element: HtmlElement) -> bool:
    return any(ancestor.tag in _NOT_CONTENT for ancestor in element.iterancestors()) or (
        element.tag in _NOT_CONTENT
    )


def _find_marker(root: HtmlElement, markers: Iterable[str]) -> HtmlElement | None:
    """The first element, after the page's h1 when there is one, whose whole text is a marker."""
    wanted = {_normalized_line(marker) for marker in markers}
    if not wanted:
        return None
    seen_heading = root.find(".//h1") is None
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == "h1":
            seen_heading = True
            continue
        if not seen_heading:
            continue
        own = _normalized_line(element.text or "")
        if (
            own in wanted
            and _normalized_line(element.text_content()) == own
            and not _is_navigation(element)
        ):
            return element
    return None


def cut_from(marker: HtmlElement) -> None:
    """Remove the marker and everything after it in document order."""
    node: HtmlElement | None = marker
    while node is not None and node.getparent() is not None:
        parent = node.getparent()
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        node.tail = None
        node = parent
    marker_parent = marker.getparent()
    if marker_parent is not None:
        marker_parent.remove(marker)


def _hashtags(root: HtmlElement, source: Source, stop: HtmlElement | None) -> tuple[str, ...]:
    if not source.hashtag_url_pattern:
        return ()
    pattern = re.compile(source.hashtag_url_pattern)
    tags: list[str] = []
    for element in root.iter():
        if stop is not None and element is stop:
            break
        if element.tag == "a" and not any(
            a.tag in ("nav", "header", "footer") for a in element.iterancestors()
        ):
            match = pattern.search(element.get("href", ""))
            if match and match.group(1) not in tags:
                tags.append(match.group(1))
    return tuple(tags)


def _first_text(root: HtmlElement, css: str | None) -> str | None:
    if not css:
        return None
    found = CSSSelector(css)(root)
    if not found:
        return None
    text = " ".join(found[0].text_content().split())
    return text or None


def _language(root: HtmlElement, title: str, body: str) -> str:
    return page_language(root.get("lang"), f"{title}\n{body}")


def page_facts(root: HtmlElement) -> dict[str, str]:
    """The first canonical link, og:title, og:site_name, <title> text, <h1> text and
    publication time (meta or <time datetime>) in document order: one pass instead of an XPath
    each."""
    facts: dict[str, str] = {}
    for element in root.iter("link", "meta", "title", "time", "h1"):
        tag, name, value = element.tag, "", None
        if tag == "title":
            name, value = "title", element.text
        elif tag == "h1":
            name, value = "h1", element.text_content()
        elif tag == "time":
            name, value = "published", element.get("datetime")
        else:
            for attribute in ("rel", "property", "itemprop"):
                fact = _FACTS.get((tag, attribute, element.get(attribute) or ""))
                if fact is not None:
                    name, value = fact[0], element.get(fact[1])
                    break
        if value is not None and name not in facts:
            facts[name] = " ".join(value.split())
    return facts


def extract_article(page: FetchedPage, source: Source) -> Article:
    """Parse, cut, extract; raise ExtractionError for pages that hold no storable article."""
    content_type = (page.content_type or "text/html").lower()
    if "html" not in content_type and "xml" not in content_type:
        raise ExtractionError(f"not an HTML page ({page.content_type})")
    html_text = decode_page(page)
    if not html_text.strip():
        raise ExtractionError("empty page")
    try:
        root = parse_html(html_text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc
    if root is None:
        raise ExtractionError("unparseable HTML")

    facts = page_facts(root)
    article_data = read_article_data(root, html_text)  # before the cut: scripts may follow it
    canonical_href = facts.get("canonical")
    canonical_url = resolve_canonical(page.url, canonical_href, source.strip_query_params)
    publisher = _first_text(root, source.byline.publisher_css)
    displayed_time = _first_text(root, source.byline.time_css)
    og_title = facts.get("og_title")
    # Cheap stand-ins for trafilatura's metadata pass, which costs about a third of extraction.
    page_title = facts.get("title")
    site_name = facts.get("site_name")
    meta_date = facts.get("published") or article_data.published
    h1_title = facts.get("h1")

    related = _find_marker(root, source.related_markers)
    hashtags = _hashtags(root, source, related)
    marker = _find_marker(root, source.cut_markers)
    if marker is not None:
        cut_from(marker)

    body = extract_body(root, page.url, article_data)
    # NFC, as trafilatura's own extract() returns text: a word typed with a combining mark
    # then matches the same word precomposed, in queries and in the content hash.
    body = unicodedata.normalize("NFC", _CONTROL.sub("", body))
    if len(body) < source.min_body_chars:
        raise ExtractionError(
            f"no article text: {len(body)} characters extracted, {source.min_body_chars} needed"
        )
    title = h1_title or og_title or page_title or body[:80]
    title = unicodedata.normalize("NFC", " ".join(title.split()))[:1000]
    body_words = words(body)
    language = _language(root, title, body)
    # A declared ISO time is exact; a displayed relative one is only as exact as the fetch time.
    published_at = (
        exact_time(meta_date)
        or parse_published(displayed_time, page.fetched_at, language)
        or parse_published(meta_date, page.fetched_at, language)
    )
    return Article(
        source=page.source,
        url=page.url,
        canonical_url=canonical_url,
        title=title,
        body=body,
        content_hash=content_hash(body, body_words),
        language=language,
        fetched_at=page.fetched_at,
        publisher=publisher or site_name or source.publisher,
        published_at=published_at,
        hashtags=hashtags,
        story_keys=story_keys(title, body, body_words),
        authors=article_data.authors,
    )
