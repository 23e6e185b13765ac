"""HTML of the Daily8-shaped test site: story data in, page text out, no I/O.

The markup is our own, shaped after the public description of daily8.com: a real-looking
header and footer, the original publisher's junk left inside article bodies, Daily8's fixed
boilerplate lines, and Related Articles carrying other stories' FULL bodies in article-like
markup, so a density-based extractor can be fooled the way it is on the real site. Class
names are deliberately neutral: removing the hard parts must take per-source configuration
(cutting at the marker lines), not a lucky class-name blacklist.

`site_url` is the scheme and host the client used ("http://127.0.0.1:8123"); it only goes into
absolute URLs (canonical, og:url). Internal links are root-relative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from .stories import Story

ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
HASHTAG_TRACKING_QUERY = "utm_source=hashtag&utm_medium=listing"
DRAFTS_PATH = "/private/drafts"

_PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="

_STYLE = """
body{margin:0;font-family:Arial,Helvetica,sans-serif;color:#222}
.container{max-width:1080px;margin:0 auto;padding:0 16px}
.site-header{background:#fff;border-bottom:3px solid #f60}
.main-menu ul{display:flex;gap:18px;list-style:none}
.article-source,.card-source{color:#777;font-size:13px}
.related-item,.story-card{border-top:1px solid #eee;padding:12px 0}
.orange{width:100%;height:6px}
"""

_COPY_LINK_SCRIPT = (
    "document.addEventListener('click',function(e){var b=e.target.closest('[data-copy-url]');"
    "if(b&&navigator.clipboard){navigator.clipboard.writeText(b.dataset.copyUrl);}});"
)


@dataclass(frozen=True)
class _Labels:
    """Daily8's fixed interface text in one language."""

    hashtags: str
    ai_title: str
    ai_intro: str
    ai_buttons: tuple[str, ...]
    comments: str
    comment_placeholder: str
    comment_submit: str
    no_comments: str
    related: str
    home: str
    latest: str
    arabic: str
    about: str


_LABELS = {
    "en": _Labels(
        hashtags="Hashtags",
        ai_title="Try Our AI Features",
        ai_intro="Explore what Daily8 AI can do for you:",
        ai_buttons=("Summarize", "Translate", "Key Points"),
        comments="Comments",
        comment_placeholder="Write a comment...",
        comment_submit="Post",
        no_comments="No comments yet...",
        related="Related Articles",
        home="Home",
        latest="Latest",
        arabic="العربية",
        about="About",
    ),
    "ar": _Labels(
        hashtags="هاشتاغز",
        ai_title="جرب ميزات الذكاء الاصطناعي لدينا",
        ai_intro="اكتشف ما يمكن أن يفعله Daily8 AI من أجلك:",
        ai_buttons=("تلخيص", "ترجمة"),
        comments="التعليقات",
        comment_placeholder="اكتب تعليقاً...",
        comment_submit="إرسال",
        no_comments="لا يوجد تعليقات بعد...",
        related="أخبار ذات صلة",
        home="الرئيسية",
        latest="آخر الأخبار",
        arabic="العربية",
        about="من نحن",
    ),
}


def hashtag_path(tag: str) -> str:
    """Listing path of a hashtag; Daily8 keeps the tag's case and uses /en for both languages."""
    return "/en/hashtag/" + quote(tag, safe="")


def tracked_path(story: Story) -> str:
    """How hashtag listings link a story: same page, another URL (tracking query)."""
    return f"{story.url_path}?{HASHTAG_TRACKING_QUERY}"


def render_article(story: Story, related: Sequence[Story], site_url: str) -> str:
    """A story's article page; aliases render this same page, so canonical is the primary URL."""
    labels = _LABELS[story.lang]
    canonical_url = site_url + story.url_path
    hashtag_block = ""
    if story.hashtags:  # the real site drops the "Hashtags" line when there are none
        links = " ".join(
            f'<a href="{escape(hashtag_path(tag))}">#{escape(tag)}</a>' for tag in story.hashtags
        )
        hashtag_block = (
            f'<div class="d8-hash">\n<h4 class="d8-label">{escape(labels.hashtags)}</h4>\n'
            f'<div class="d8-hash-links">{links}</div>\n</div>\n'
        )
    ai_buttons = "".join(
        f'<button type="button" class="d8-ai-action">{escape(name)}</button>'
        for name in labels.ai_buttons
    )
    related_items = "\n".join(_related_item(item) for item in related)
    main = f"""<div class="page-layout">
<div class="content-column">
<article class="news-article">
<div class="article-head">
<h1 class="article-title">{escape(story.title)}</h1>
<div class="article-source"><span class="publisher">{escape(story.publisher)}</span> \
<span class="time">{escape(story.published)}</span></div>
</div>
<div class="article-content">
{_body_with_junk(story)}
</div>
</article>
<img class="orange" src="{_PIXEL}" alt="Orange background">
<div class="d8-after">
{hashtag_block}<div class="d8-ai">
<h3 class="d8-label">{escape(labels.ai_title)}</h3>
<p>{escape(labels.ai_intro)}</p>
<div class="d8-ai-actions">{ai_buttons}</div>
</div>
<div class="d8-discuss">
<h3 class="d8-label">{escape(labels.comments)}</h3>
<form class="d8-discuss-form" method="post" onsubmit="return false">
<textarea name="comment" rows="3" placeholder="{escape(labels.comment_placeholder)}"></textarea>
<button type="submit">{escape(labels.comment_submit)}</button>
</form>
<div class="d8-discuss-list"><p class="d8-empty">{escape(labels.no_comments)}</p></div>
</div>
</div>
<div class="d8-more">
<h2 class="d8-label">{escape(labels.related)}</h2>
<div class="d8-more-list">
{related_items}
</div>
</div>
</div>
</div>"""
    return _page(
        lang=story.lang,
        title=story.title,
        canonical_url=canonical_url,
        main=main,
        og_type="article",
        description=story.paragraphs[0][:160],
        section=story.category,
    )


def render_hashtag_page(tag: str, stories: Sequence[Story], site_url: str) -> str:
    """A hashtag listing: every story with the tag, full bodies, links with a tracking query."""
    heading = f"Latest news with #{tag}"
    cards = "\n".join(_hashtag_card(story, site_url) for story in stories)
    main = f"""<div class="page-layout">
<div class="content-column">
<h1 class="listing-title">{escape(heading)}</h1>
<div class="listing">
{cards}
</div>
</div>
</div>
<script>{_COPY_LINK_SCRIPT}</script>"""
    return _page(lang="en", title=heading, canonical_url=site_url + hashtag_path(tag), main=main)


def render_home(stories: Sequence[Story], site_url: str) -> str:
    """The /en front page: links to every story, alias links, all hashtags, a drafts link."""
    english = [story for story in stories if story.lang == "en"]
    arabic = [story for story in stories if story.lang == "ar"]
    trending = [story for story in stories if story.aliases]
    tags = sorted({tag for story in stories for tag in story.hashtags}, key=str.casefold)

    latest_items = "\n".join(_home_item(story, story.url_path) for story in english)
    arabic_items = "\n".join(_home_item(story, story.url_path) for story in arabic)
    trending_items = "\n".join(
        f'<li><a href="{escape(story.alias_paths[0])}">{escape(story.title)}</a></li>'
        for story in trending
    )
    tag_items = "\n".join(
        f'<li><a href="{escape(hashtag_path(tag))}">#{escape(tag)}</a></li>' for tag in tags
    )
    main = f"""<div class="page-layout">
<div class="content-column">
<section id="latest" class="home-block">
<h2>Latest news</h2>
<ul class="home-list">
{latest_items}
</ul>
</section>
<section id="arabic" class="home-block" lang="ar" dir="rtl">
<h2>آخر الأخبار</h2>
<ul class="home-list">
{arabic_items}
</ul>
</section>
</div>
<aside class="side-column">
<div class="home-box">
<h3>Trending</h3>
<ul>
{trending_items}
</ul>
</div>
<div class="home-box">
<h3>Browse by hashtag</h3>
<ul class="hashtag-cloud">
{tag_items}
</ul>
</div>
<div class="home-box"><a href="{DRAFTS_PATH}">Editor drafts</a></div>
</aside>
</div>"""
    return _page(lang="en", title="Daily8 - Latest news", canonical_url=site_url + "/en", main=main)


def render_about(site_url: str) -> str:
    """A static page that is not an article: crawlers must not store it as one."""
    main = """<div class="page-layout">
<div class="content-column">
<h1>About Daily8</h1>
<p>Daily8 brings together news from many publishers in English and Arabic.</p>
<h2 id="privacy">Privacy</h2>
<p>This is a test copy of the site. It stores nothing about its visitors.</p>
<h2 id="terms">Terms</h2>
<p>Articles belong to their publishers.</p>
<h2 id="contact">Contact</h2>
<p>There is nobody to contact: this site runs on 127.0.0.1.</p>
</div>
</div>"""
    return _page(lang="en", title="About Daily8", canonical_url=site_url + "/en/about", main=main)


def render_drafts(site_url: str) -> str:
    """A page robots.txt disallows; tests assert the crawler never asks for it."""
    main = "<h1>Drafts</h1>\n<p>Unpublished drafts. Crawlers must not be here.</p>"
    return _page(lang="en", title="Drafts", canonical_url=site_url + DRAFTS_PATH, main=main)


def render_not_found(path: str) -> str:
    """A plain 404 page (no canonical: there is nothing to point at)."""
    main = (
        f"<h1>Page not found</h1>\n<p>Nothing lives at {escape(path)}.</p>\n"
        '<p><a href="/en">Back to the front page</a></p>'
    )
    return _page(lang="en", title="Page not found", canonical_url=None, main=main)


def render_redirect(location: str) -> str:
    """Body of a redirect response, for clients that show it."""
    return (
        '<!DOCTYPE html>\n<html lang="en" dir="ltr"><head><meta charset="utf-8">'
        f"<title>Moved</title></head><body><p>Moved to "
        f'<a href="{escape(location)}">{escape(location)}</a>.</p></body></html>\n'
    )


def _page(
    *,
    lang: str,
    title: str,
    canonical_url: str | None,
    main: str,
    og_type: str = "website",
    description: str = "",
    section: str = "",
) -> str:
    labels = _LABELS[lang]
    direction = "rtl" if lang == "ar" else "ltr"
    head_links = ""
    if canonical_url is not None:
        head_links = (
            f'<link rel="canonical" href="{escape(canonical_url)}">\n'
            f'<meta property="og:url" content="{escape(canonical_url)}">\n'
        )
    extra_meta = ""
    if description:
        extra_meta += f'<meta name="description" content="{escape(description)}">\n'
    if section:
        extra_meta += f'<meta property="article:section" content="{escape(section)}">\n'
    return f"""<!DOCTYPE html>
<html lang="{lang}" dir="{direction}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} | Daily8</title>
{head_links}<meta property="og:title" content="{escape(title)}">
<meta property="og:type" content="{og_type}">
<meta property="og:site_name" content="Daily8">
{extra_meta}<style>{_STYLE}</style>
</head>
<body>
<div id="app">
<header class="site-header">
<div class="container">
<div class="header-inner">
<a class="logo" href="/en"><img src="{_PIXEL}" alt="logo" width="120" height="32"></a>
<nav class="main-menu" aria-label="Main menu">
<ul>
<li><a href="/en">{escape(labels.home)}</a></li>
<li><a href="/en#latest">{escape(labels.latest)}</a></li>
<li><a href="/en#arabic">{escape(labels.arabic)}</a></li>
<li><a href="/en/about">{escape(labels.about)}</a></li>
</ul>
</nav>
</div>
</div>
</header>
<main class="site-main">
<div class="container">
{main}
</div>
</main>
<footer class="site-footer">
<div class="container">
<div class="footer-links">
<a href="/en/about">About Daily8</a>
<a href="/en/about#privacy">Privacy Policy</a>
<a href="/en/about#terms">Terms of Use</a>
<a href="/en/about#contact">Contact Us</a>
</div>
<p class="copyright">© 2025 Daily8. All rights reserved.</p>
</div>
</footer>
</div>
</body>
</html>
"""


def _paragraphs(story: Story) -> str:
    return "\n".join(f"<p>{escape(paragraph)}</p>" for paragraph in story.paragraphs)


def _body_with_junk(story: Story) -> str:
    """Body paragraphs with the publisher's junk lines left in between, as on the real site.

    Junk line i goes after paragraph (i mod n), so the first one follows paragraph 1.
    """
    junk_after: dict[int, list[str]] = {}
    for junk_index, line in enumerate(story.junk):
        junk_after.setdefault(junk_index % len(story.paragraphs), []).append(line)
    parts: list[str] = []
    for index, paragraph in enumerate(story.paragraphs):
        parts.append(f"<p>{escape(paragraph)}</p>")
        parts.extend(_junk_element(line) for line in junk_after.get(index, []))
    return "\n".join(parts)


def _junk_element(line: str) -> str:
    """Publisher junk in the element a publisher would use: caption, button or promo box."""
    lowered = line.casefold()
    text = escape(line)
    if lowered.startswith(("photo", "image", "picture", "file photo")) or "getty" in lowered:
        return (
            f'<figure class="pub-figure"><img src="{_PIXEL}" alt=""><figcaption>{text}'
            "</figcaption></figure>"
        )
    short = len(line.split()) <= 3
    if short and any(word in lowered for word in ("share", "comment", "print", "email")):
        return f'<button type="button" class="pub-action">{text}</button>'
    return f'<div class="pub-promo">{text}</div>'


def _related_item(story: Story) -> str:
    return f"""<article class="related-item" lang="{story.lang}">
<div class="item-source"><span class="publisher">{escape(story.publisher)}</span>
<span class="time">{escape(story.published)}</span></div>
<div class="item-credit">- {escape(story.publisher)}</div>
<h3 class="item-title"><a href="{escape(story.url_path)}">{escape(story.title)}</a></h3>
<div class="item-text">
{_paragraphs(story)}
</div>
</article>"""


def _hashtag_card(story: Story, site_url: str) -> str:
    link = escape(tracked_path(story))
    direction = "rtl" if story.lang == "ar" else "ltr"
    return f"""<article class="story-card" lang="{story.lang}" dir="{direction}">
<a class="card-link" href="{link}">{escape(story.title)}</a>
<h2 class="card-title"><a href="{link}">{escape(story.title)}</a></h2>
<div class="card-source"><span class="publisher">{escape(story.publisher)}</span>
<span class="time"><span class="time-label">time</span>{escape(story.published)}</span></div>
<div class="card-facts"><span>• {escape(story.category)}</span> \
<span>• {escape(story.publisher)}</span></div>
<h3 class="card-headline">{escape(story.title)}</h3>
<div class="card-text">
{_paragraphs(story)}
</div>
<button type="button" class="copy-link" data-copy-url="{escape(site_url + story.url_path)}">\
Copy the Story Link</button>
</article>"""


def _home_item(story: Story, path: str) -> str:
    return (
        f'<li><a href="{escape(path)}">{escape(story.title)}</a> '
        f'<span class="publisher">{escape(story.publisher)}</span> '
        f'<span class="time">{escape(story.published)}</span></li>'
    )
