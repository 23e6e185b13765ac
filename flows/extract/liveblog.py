"""Live blogs: one page, many short dated posts, newest first, and a short intro at the top.

A main-text extractor sees a live blog as an intro followed by "noise", so precision mode keeps the
intro alone and recall mode keeps every post plus the page's subscription and sharing boilerplate.
What newswatch stores as a live blog's body (docs/extraction.md): the text the extractor found
outside the listed posts (the intro, and older posts the data no longer lists), then each post the
publisher lists in its `LiveBlogPosting` data (headline, then text), in the publisher's order,
each once. Watches then match words of any post, and an updated live blog
(new posts) is a new version of the same page, found by its changed content hash.
"""

from __future__ import annotations

import re

from flows.extract.structured import ArticleData

_SPACE = re.compile(r"\s+")
# Posts beyond this are dropped: a months-old live blog can list thousands.
MAX_POSTS = 500


def _spaced(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def live_blog_body(extracted: str, article: ArticleData) -> str | None:
    """The stored body of a live blog, or None when the page lists no posts in its data (the
    caller then keeps what the extractor found, with its retry)."""
    if not article.is_live_blog or not article.updates:
        return None
    posts: list[str] = []
    keys: list[str] = []
    for update in article.updates[:MAX_POSTS]:
        post = "\n".join(part for part in (update.headline, update.body) if part)
        key = _spaced(post)
        if key and key not in keys:
            posts.append(post)
            keys.append(key)
    listed = "\n".join(keys)
    # Lines the extractor took from a listed post are replaced by the whole post below.
    outside = [
        line for line in extracted.splitlines() if line.strip() and _spaced(line) not in listed
    ]
    return "\n\n".join(part for part in ("\n".join(outside), *posts) if part)
