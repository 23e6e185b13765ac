"""The article body from a parsed page: trafilatura, a recall-mode retry, and a headline trim.

Measured with the shingle metric (flows/bench/metrics.py) on a third-party corpus of real news pages
(see docs/benchmarks.md); each step is generic and stayed only because it helped there:

- trafilatura's precision mode (comments off) is the best single setting, but on some layouts
  it keeps almost nothing (a copyright line instead of the story), or only the intro of a live
  blog. When it returns less than `RETRY_BELOW_CHARS`, or less than `RETRY_BELOW_SHARE`
  of the text the page holds in paragraphs, or much less than the publisher's own `articleBody`
  says the article holds, the recall mode runs too and wins if it finds much more text.
- When even that is far shorter than a complete `articleBody` whose opening the page shows, the
  publisher's text is the body (flows.extract.structured reads it; a teaser never counts).
- The standfirst and lead paragraphs above the first paragraph kept are put back
  (flows.extract.opening).
- A story split into several containers of one tag and class (an advertisement between its
  halves) gets the later containers' paragraphs too (flows.extract.continuation).
- "Read also" prompts and the headlines under them are dropped (flows.extract.prompts), and so
  are the newsletter, follow-us and copyright lines that end a story (flows.extract.trailer) and
  the reading time, date stamp and byline that open it (flows.extract.leader).
- A live blog's body is its intro and its listed posts (flows.extract.liveblog).
- With a whole `articleBody` of about the extraction's length, short lines it lacks (captions,
  credits, "read more" prompts) are dropped (flows.extract.evidence).
- The headline is not part of the body: a leading block whose text is the page's title (h1,
  <title>, og:title, twitter:title) is dropped.
Subheadings are kept (dropping them lost more recall than it gained precision).

trafilatura's regex selectors are swapped for flows.extract.fast_selectors' equivalents, and its
parser's Python class lookup for flows.extract.fast_parser's C one, at the first extraction (not
at import: the benchmark's bare trafilatura imports the options from here).
"""

from __future__ import annotations

import re
from typing import Any

import trafilatura
from lxml.etree import _Element
from lxml.html import HtmlElement
from trafilatura.settings import Document
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from flows.extract import fast_parser, fast_selectors
from flows.extract.continuation import continuation_paragraphs
from flows.extract.evidence import comparable, trim_to_publisher_text, trusted_body
from flows.extract.leader import drop_leader
from flows.extract.liveblog import live_blog_body
from flows.extract.opening import opening_paragraphs
from flows.extract.prompts import drop_prompts
from flows.extract.structured import ArticleData
from flows.extract.trailer import drop_trailer

# Measured on ../shared/corpus (see docs/benchmarks.md): comments off and precision favoured.
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "include_comments": False,
    "favor_precision": True,
    "include_tables": True,
}
RETRY_BELOW_CHARS = 400
# Precision mode keeping less than this share of the page's paragraph text is retried.
RETRY_BELOW_SHARE = 0.3
# The retry replaces the precision extraction when it finds this many times as much text.
RETRY_WINS_AT = 2.0
# A complete articleBody this much longer than the extraction replaces it (when the page shows it).
STRUCTURED_BODY_RATIO = 2.0
# The retry runs recall mode. Balanced mode (which escalates to recall mode and justext itself)
# found a little more on trafilatura's evaluation set, but cost five times as much CPU a retried
# page on the Scrapinghub corpus (docs/benchmarks.md).
_RETRY_OPTIONS: dict[str, Any] = {
    **{k: v for k, v in TRAFILATURA_OPTIONS.items() if k != "favor_precision"},
    "favor_recall": True,
}
_LEADING_BLOCKS_CHECKED = 3
_WORDS = re.compile(r"\w+")


def parse_html(html_text: str) -> HtmlElement | None:
    """Parse as trafilatura does (comments and processing instructions dropped)."""
    fast_parser.install()
    return load_html(html_text)


def _words(text: str) -> str:
    return " ".join(_WORDS.findall(text.casefold()))


def page_titles(root: HtmlElement) -> set[str]:
    """The page's headline candidates (h1, <title>, og:title and twitter:title), as lower-case
    word sequences; one pass of lxml's tag iterator (an XPath union costs twice as much)."""
    titles = set()
    for element in root.iter("h1", "title", "meta"):
        if element.tag != "meta":
            text: str | None = element.text_content()
        elif element.get("property") == "og:title" or element.get("name") == "twitter:title":
            text = element.get("content")
        else:
            continue
        words = _words(text or "")
        if words:
            titles.add(words)
    return titles


def _is_title(block: _Element, titles: set[str]) -> bool:
    words = _words("".join(block.itertext()))
    # A <title> is often "Headline | Site name": a long enough block inside it counts too.
    return bool(words) and any(words == t or (len(words) > 15 and words in t) for t in titles)


def _drop_leading_title(body: _Element, titles: set[str]) -> None:
    for block in list(body)[:_LEADING_BLOCKS_CHECKED]:
        if _is_title(block, titles):
            body.remove(block)


def _extracted_body(root: HtmlElement, url: str | None, options: dict[str, Any]) -> _Element | None:
    document = trafilatura.bare_extraction(root, url=url, with_metadata=False, **options)
    return document.body if isinstance(document, Document) else None


def _text_length(body: _Element | None) -> int:
    return 0 if body is None else sum(len(piece.strip()) for piece in body.itertext())


def page_paragraphs(root: HtmlElement) -> list[tuple[HtmlElement, str]]:
    """The page's <p> elements and their text: what it holds as running text (read once, for
    the relative retry, the continuation and the articleBody check)."""
    return [(p, p.text_content()) for p in root.iter("p")]


def _visible(paragraphs: list[tuple[HtmlElement, str]]) -> str:
    return " ".join(text for _, text in paragraphs)


def extract_body(root: HtmlElement, url: str | None, article: ArticleData | None = None) -> str:
    """The body text of a parsed, cut page (metadata is read elsewhere, much more cheaply);
    `article` is the page's own article data (flows.extract.structured), read before the page
    was cut."""
    fast_selectors.install()
    titles = page_titles(root)
    paragraphs = page_paragraphs(root)
    page_chars = sum(len(text) for _, text in paragraphs)
    claimed = len(article.body) if article is not None and article.body else 0
    body = _extracted_body(root, url, TRAFILATURA_OPTIONS)
    length = _text_length(body)
    if (
        length < RETRY_BELOW_CHARS
        or length < RETRY_BELOW_SHARE * page_chars
        or STRUCTURED_BODY_RATIO * length < claimed
    ):
        retried = _extracted_body(root, url, _RETRY_OPTIONS)
        if retried is not None and _text_length(retried) > RETRY_WINS_AT * length:
            body, length = retried, _text_length(retried)
    if STRUCTURED_BODY_RATIO * length < claimed:
        publisher_text = trusted_body(_visible(paragraphs), article)
        if publisher_text is not None:
            return publisher_text
    if body is None:
        return ""
    _drop_leading_title(body, titles)
    text = (xmltotxt(body, False) or "").strip()
    extra = continuation_paragraphs(text, paragraphs)
    if extra:
        text = "\n".join([text, *extra])
    opening = opening_paragraphs(text, paragraphs, titles)
    if opening:
        text = "\n".join([*opening, text])
    text = drop_leader(drop_trailer(drop_prompts(text)))
    if article is None:
        return text
    live_blog = live_blog_body(text, article)
    if live_blog is not None:
        return live_blog
    if article.body and comparable(text, article.body):
        publisher_text = trusted_body(_visible(paragraphs), article)
        if publisher_text is not None:
            return trim_to_publisher_text(text, publisher_text)
    return text
