"""The publisher's own article data: JSON-LD (schema.org), microdata and meta tags.

Many news pages describe themselves: a `NewsArticle` with its `author`, `datePublished` and often
the whole `articleBody`; a `LiveBlogPosting` with its updates. It is written for search engines,
so it is usually right about who wrote a page and when, but its `articleBody` is sometimes a
teaser, HTML, or another page's text. So this module only reads; flows.extract.evidence decides
what to trust. JSON-LD is parsed by extruct (the parser Scrapy's makers keep, tolerant of
comments in scripts), one `<script>` at a time so one broken block loses nothing else.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import lxml.etree
import lxml.html
from extruct.jsonld import JsonLdExtractor
from lxml.etree import XPath
from lxml.html import HtmlElement

# schema.org types whose `articleBody` is the page's main text (subtypes of Article).
_ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "reviewnewsarticle",
        "backgroundnewsarticle",
        "askpublicnewsarticle",
        "blogposting",
        "socialmediaposting",
        "liveblogposting",
        "report",
        "scholarlyarticle",
        "techarticle",
    }
)
_LIVE_BLOG = "liveblogposting"
_NESTED_KEYS = ("@graph", "mainEntity", "mainEntityOfPage", "hasPart")
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
_BLOCK_TAG = re.compile(r"</?(p|div|br|li|h[1-6]|blockquote|tr)\b[^>]*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
_URL_LIKE = re.compile(r"^(https?:)?//|^www\.|@|\.(com|org|net)\b", re.IGNORECASE)
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bund\b|\bet\b|\by\b|&| e )\s*")
_BY_PREFIX = re.compile(r"^(by|von|par|por|di|door|af|av)\s+", re.IGNORECASE)
MAX_AUTHORS = 10
_MAX_AUTHOR_CHARS = 80
_jsonld = JsonLdExtractor()
_AUTHOR_ITEMPROP = re.compile(r"itemprop\s*=\s*[\"']?author\b")
_MICRODATA_AUTHOR = XPath("//*[@itemprop='author']")
_MICRODATA_NAME = XPath(".//*[@itemprop='name']")


@dataclass(frozen=True)
class LiveUpdate:
    """One post of a live blog, as the publisher lists it."""

    headline: str
    body: str
    published: str | None = None


@dataclass(frozen=True)
class ArticleData:
    """What the page says about its own article; empty fields when it says nothing."""

    types: frozenset[str] = frozenset()
    headline: str | None = None
    body: str | None = None
    authors: tuple[str, ...] = ()
    published: str | None = None
    updates: tuple[LiveUpdate, ...] = field(default=())

    @property
    def is_live_blog(self) -> bool:
        return _LIVE_BLOG in self.types


def _types(item: dict[str, Any]) -> set[str]:
    raw = item.get("@type")
    names = raw if isinstance(raw, list) else [raw]
    return {str(name).rsplit("/", 1)[-1].lower() for name in names if name}


def _walk(value: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every object of a JSON-LD document that may be the article (graphs, main entities)."""
    if depth > 4:
        return
    if isinstance(value, list):
        for element in value:
            yield from _walk(element, depth + 1)
    elif isinstance(value, dict):
        yield value
        for key in _NESTED_KEYS:
            if key in value:
                yield from _walk(value[key], depth + 1)


def _jsonld_items(root: HtmlElement) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for script in root.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        try:
            items.extend(_walk(_jsonld.extract_items(script)))
        except (ValueError, TypeError, RecursionError):
            continue  # one broken block: the others still count
    return items


def _microdata_authors(root: HtmlElement) -> list[str]:
    """Names in `itemprop="author"` of an article item (not of its comments or reviews).

    Read with two XPath queries rather than through a full microdata parse (extruct's costs
    more than a tenth of an extraction): the author is all newswatch takes from microdata.
    """
    names: list[str] = []
    for element in _MICRODATA_AUTHOR(root):
        owner = next((a for a in element.iterancestors() if a.get("itemscope") is not None), None)
        owner_type = (owner.get("itemtype") or "") if owner is not None else ""
        if owner is not None and owner_type.rstrip("/").rsplit("/", 1)[-1].lower() not in (
            _ARTICLE_TYPES
        ):
            continue
        named = element
        if element.get("itemscope") is not None:
            found = _MICRODATA_NAME(element)
            if not found:
                continue
            named = found[0]
        names.extend(split_names(named.get("content") or named.text_content()))
    return names


def plain_text(value: Any) -> str:
    """Text out of a JSON-LD string that may hold HTML or entities; paragraphs on their own lines."""
    if isinstance(value, list):
        value = "\n".join(str(part) for part in value if isinstance(part, str))
    if not isinstance(value, str):
        return ""
    text = value
    if _TAG.search(text):
        text = _BLOCK_TAG.sub("\n", text)
        try:
            text = lxml.html.fromstring(f"<div>{text}</div>").text_content()
        except (lxml.etree.ParserError, ValueError):
            text = _TAG.sub(" ", text)
    text = html.unescape(html.unescape(text)) if "&" in text else text
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _names(value: Any) -> list[str]:
    """Person names out of a schema.org author value: a string, a Person, or a list of them."""
    if isinstance(value, list):
        return [name for element in value for name in _names(element)]
    if isinstance(value, dict):
        if "organization" in _types(value):
            return []
        value = value.get("name")
        if isinstance(value, list | dict):
            return _names(value)
    if not isinstance(value, str):
        return []
    return split_names(value)


def split_names(text: str) -> list[str]:
    """ "By Ann Lee and Bo Chen" -> ["Ann Lee", "Bo Chen"]; URLs, e-mail addresses and sentences
    are not names."""
    text = _BY_PREFIX.sub("", " ".join(plain_text(text).split()))
    names = []
    for part in _AUTHOR_SPLIT.split(text):
        name = part.strip(" .:-|")
        if (
            name
            and len(name) <= _MAX_AUTHOR_CHARS
            and not _URL_LIKE.search(name)
            and any(character.isalpha() for character in name)
        ):
            names.append(name)
    return names


def unique_authors(names: list[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.casefold(), name)
    return tuple(seen.values())[:MAX_AUTHORS]


def _updates(item: dict[str, Any]) -> tuple[LiveUpdate, ...]:
    raw = item.get("liveBlogUpdate") or ()
    updates = []
    for update in raw if isinstance(raw, list) else [raw]:
        if not isinstance(update, dict):
            continue
        body = plain_text(update.get("articleBody") or update.get("text") or "")
        headline = plain_text(update.get("headline") or "")
        if body or headline:
            published = update.get("datePublished")
            updates.append(
                LiveUpdate(headline, body, published if isinstance(published, str) else None)
            )
    return tuple(updates)


def _meta_authors(root: HtmlElement) -> list[str]:
    names: list[str] = []
    for meta in root.iter("meta"):
        key = (meta.get("name") or meta.get("property") or "").strip().lower()
        if key in ("author", "article:author", "dc.creator", "sailthru.author", "parsely-author"):
            names.extend(split_names(meta.get("content") or ""))
    return names


def read_article_data(root: HtmlElement, page_text: str | None = None) -> ArticleData:
    """The page's own description of its article: JSON-LD first; authors from microdata or meta
    tags when JSON-LD names none.

    `page_text`, the HTML the tree was parsed from, lets a page without JSON-LD or microdata skip
    the tree walks that look for them (a substring test costs a hundredth of a walk).
    """
    jsonld = page_text is None or "ld+json" in page_text
    microdata = page_text is None or _AUTHOR_ITEMPROP.search(page_text) is not None
    items = (
        [item for item in _jsonld_items(root) if _types(item) & _ARTICLE_TYPES] if jsonld else []
    )
    types: set[str] = set()
    headline = body = published = None
    authors: list[str] = []
    updates: tuple[LiveUpdate, ...] = ()
    for item in items:
        types |= _types(item)
        headline = headline or (plain_text(item.get("headline")) or None)
        candidate = plain_text(item.get("articleBody"))
        if len(candidate) > len(body or ""):
            body = candidate
        date = item.get("datePublished")
        published = published or (date if isinstance(date, str) and date.strip() else None)
        authors.extend(_names(item.get("author")))
        updates = updates or _updates(item)
    if not authors:
        authors = (_microdata_authors(root) if microdata else []) or _meta_authors(root)
    return ArticleData(
        types=frozenset(types),
        headline=headline,
        body=body or None,
        authors=unique_authors(authors),
        published=published,
        updates=updates,
    )
