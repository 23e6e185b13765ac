"""The Northgate Ledger: a fictional local publisher of another shape than Daily8.

It publishes an RSS feed, a news sitemap behind a sitemap index named in robots.txt (with a
Crawl-delay), section pages paginated with rel="next" links (and ?page=N), and its own
boilerplate: a cookie banner, a newsletter box and "More from the Ledger" teasers after every
story, a "Most read" sidebar. Some stories are listed only in the feed, some only in the sitemap,
older ones only on later section pages, so a crawl finds them all only if every kind of entry
point works. Stories are ours, in ledger_stories.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from html import escape
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from .loopback import LoopbackSite, Reply

STORIES_PATH = Path(__file__).with_name("ledger_stories.json")
SECTIONS = {"city": "City", "science": "Science", "culture": "Culture"}
PAGE_SIZE = 2
EMBARGOED_PATH = "/stories/2026/embargoed-budget-figures.html"
_XML = "application/xml; charset=utf-8"


@dataclass(frozen=True)
class LedgerStory:
    slug: str
    section: str
    date: datetime
    listed_in: tuple[str, ...]
    title: str
    paragraphs: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"/stories/{self.date.year}/{self.slug}.html"


def load_ledger_stories(path: Path = STORIES_PATH) -> list[LedgerStory]:
    raw = json.loads(path.read_text(encoding="utf-8"))["stories"]
    stories = [
        LedgerStory(
            slug=entry["slug"],
            section=entry["section"],
            date=datetime.fromisoformat(entry["date"].replace("Z", "+00:00")),
            listed_in=tuple(entry["listed_in"]),
            title=entry["title"],
            paragraphs=tuple(entry["paragraphs"]),
        )
        for entry in raw
    ]
    return sorted(stories, key=lambda story: story.date, reverse=True)


class PublisherSite(LoopbackSite):
    """Serves the Ledger on 127.0.0.1; `crawl_delay` goes into its robots.txt."""

    def __init__(self, crawl_delay: float = 0.2, port: int = 0) -> None:
        super().__init__(port=port)
        self.crawl_delay = crawl_delay
        self.stories = load_ledger_stories()
        self._by_path = {story.path: story for story in self.stories}

    def story_urls(self) -> dict[str, LedgerStory]:
        return {self.base_url + story.path: story for story in self.stories}

    def respond(self, path: str, site_url: str) -> Reply:
        parts = urlsplit(path)
        route = parts.path
        if route == "/robots.txt":
            text = (
                f"User-agent: *\nCrawl-delay: {self.crawl_delay}\nDisallow: /account/\n"
                f"Disallow: {EMBARGOED_PATH}\n\nSitemap: {site_url}/sitemap-index.xml\n"
            )
            return Reply(body=text.encode(), content_type="text/plain; charset=utf-8")
        if route == "/feed.xml":
            return Reply(body=self._feed(site_url).encode(), content_type="application/rss+xml")
        if route == "/sitemap-index.xml":
            return Reply(body=self._sitemap_index(site_url).encode(), content_type=_XML)
        if route == "/sitemaps/news.xml":
            return Reply(body=self._news_sitemap(site_url).encode(), content_type=_XML)
        if route.startswith("/section/") and route.removeprefix("/section/") in SECTIONS:
            query = dict(parse_qsl(parts.query))
            page = int(query["page"]) if query.get("page", "").isdigit() else 1
            html = self._section(route.removeprefix("/section/"), page)
            if html is not None:
                return Reply(body=html.encode())
        story = self._by_path.get(route)
        if story is not None:
            return Reply(body=self._article(story, site_url).encode())
        return Reply(status=404, body=_page("Not found", "<h1>Page not found</h1>").encode())

    # -- entry points --------------------------------------------------------------------------

    def _feed(self, site_url: str) -> str:
        items = [
            f"<item><title>{escape(s.title)}</title><link>{site_url}{s.path}</link>"
            f"<guid isPermaLink='true'>{site_url}{s.path}</guid>"
            f"<pubDate>{format_datetime(s.date)}</pubDate>"
            f"<description>{escape(s.paragraphs[0][:140])}</description></item>"
            for s in self.stories
            if "feed" in s.listed_in
        ]
        items.append(
            f"<item><title>Budget figures (embargoed)</title><link>{site_url}{EMBARGOED_PATH}"
            "</link></item>"
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>The Northgate Ledger</title><link>{site_url}/</link>"
            "<description>News from Northgate</description>" + "".join(items) + "</channel></rss>"
        )

    def _sitemap_index(self, site_url: str) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{site_url}/sitemaps/news.xml</loc></sitemap></sitemapindex>"
        )

    def _news_sitemap(self, site_url: str) -> str:
        urls = "".join(
            f"<url><loc>{site_url}{s.path}</loc><news:news><news:publication>"
            "<news:name>The Northgate Ledger</news:name><news:language>en</news:language>"
            f"</news:publication><news:publication_date>{s.date.isoformat()}"
            f"</news:publication_date><news:title>{escape(s.title)}</news:title></news:news></url>"
            for s in self.stories
            if "sitemap" in s.listed_in
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + urls + "</urlset>"
        )

    def _section(self, section: str, page: int) -> str | None:
        listed = [s for s in self.stories if s.section == section and "section" in s.listed_in]
        pages = max(1, -(-len(listed) // PAGE_SIZE))
        if page < 1 or page > pages:
            return None
        shown = listed[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        items = "\n".join(
            f'<li class="teaser"><h2><a href="{s.path}">{escape(s.title)}</a></h2>'
            f"<p>{escape(s.paragraphs[0][:160])}...</p></li>"
            for s in shown
        )
        pager = ""
        if page > 1:
            pager += f'<a rel="prev" href="/section/{section}?page={page - 1}">Newer stories</a> '
        if page < pages:
            pager += f'<a rel="next" href="/section/{section}?page={page + 1}">Older stories</a>'
        body = (
            f'<h1>{SECTIONS[section]}</h1>\n<ol class="teasers">\n{items}\n</ol>\n'
            f'<nav class="pager">{pager}</nav>'
        )
        return _page(f"{SECTIONS[section]} - page {page}", body, self._most_read())

    def _most_read(self) -> str:
        links = "".join(
            f'<li><a href="{s.path}">{escape(s.title)}</a></li>' for s in self.stories[:4]
        )
        return f'<aside class="most-read"><h3>Most read</h3><ol>{links}</ol></aside>'

    def _article(self, story: LedgerStory, site_url: str) -> str:
        more = [s for s in self.stories if s.section == story.section and s is not story][:3]
        teasers = "\n".join(
            f'<div class="more-item"><h4><a href="{s.path}">{escape(s.title)}</a></h4>'
            f"<p>{escape(s.paragraphs[0])}</p></div>"
            for s in more
        )
        paragraphs = "\n".join(f"<p>{escape(p)}</p>" for p in story.paragraphs)
        body = f"""<article class="story">
<p class="kicker"><a href="/section/{story.section}">{SECTIONS[story.section]}</a></p>
<h1>{escape(story.title)}</h1>
<p class="byline">By Ledger reporters · <time datetime="{story.date.isoformat()}">\
{story.date:%d %B %Y}</time></p>
<div class="story-body">
{paragraphs}
</div>
</article>
<section class="newsletter">
<h3>Sign up for the Morning Ledger</h3>
<p>Every weekday at seven: the Northgate stories you need, in one short e-mail.</p>
<form><input type="email" placeholder="Your e-mail address"><button>Sign up</button></form>
</section>
<section class="more-from">
<h3>More from the Ledger</h3>
{teasers}
</section>"""
        head = (
            f'<link rel="canonical" href="{site_url}{story.path}">'
            f'<meta property="og:title" content="{escape(story.title)}">'
            f'<meta property="article:published_time" content="{story.date.isoformat()}">'
        )
        return _page(story.title, body, self._most_read(), head)


def _page(title: str, main: str, aside: str = "", head: str = "") -> str:
    nav = "".join(f'<a href="/section/{key}">{name}</a> ' for key, name in SECTIONS.items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{escape(title)} | The Northgate Ledger</title>{head}</head>
<body>
<div class="cookie-banner"><p>We use cookies to remember your settings and count visits.</p>
<button>Accept all</button> <button>Only necessary</button></div>
<header class="masthead"><a class="brand" href="/">The Northgate Ledger</a>
<nav class="sections">{nav}<a href="/account/login">Sign in</a></nav></header>
<main>
{main}
</main>
{aside}
<footer><p>The Northgate Ledger is a fictional newspaper for software tests.</p>
<a href="/about">About us</a> <a href="/account/login">Subscriptions</a></footer>
</body>
</html>
"""
