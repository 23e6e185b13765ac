"""Source configuration, and the plain parsers behind each kind of entry point."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from flows.config.settings import REPO_ROOT
from flows.config.sources import SourcesFileError, load_sources
from flows.extract.charset import decode_html
from flows.fetch.polite import retry_after_seconds
from spiders.discovery import FeedError, robots_sitemaps, sitemap_entries
from spiders.feeds import feed_links


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_daily8_keeps_its_meaning() -> None:
    (daily8,) = load_sources(REPO_ROOT / "sources.toml")
    assert daily8.start_urls == ["https://www.daily8.com/en"]
    assert daily8.feeds == [] and daily8.sitemaps == [] and not daily8.sitemaps_from_robots
    assert daily8.pagination is None and not daily8.refresh_known
    assert daily8.is_article("https://www.daily8.com/en/article/" + "a" * 32)


def test_any_mix_of_entry_points(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """[[source]]
name = "mixed"
start_urls = ["https://news.example/world"]
feeds = ["https://news.example/rss.xml", "https://news.example/atom.xml"]
sitemaps = ["https://news.example/news-sitemap.xml"]
sitemaps_from_robots = true
article_url_patterns = ['^/story/']
[source.pagination]
page_param = "p"
max_pages = 3
""",
    )
    (source,) = load_sources(path)
    assert source.domains() == ["news.example"]
    moved = source.rebased("http://127.0.0.1:8080")
    assert moved.feeds == ["http://127.0.0.1:8080/rss.xml", "http://127.0.0.1:8080/atom.xml"]
    assert moved.sitemaps == ["http://127.0.0.1:8080/news-sitemap.xml"]


@pytest.mark.parametrize(
    ("block", "field", "words"),
    [
        ('name = "x"\narticle_url_patterns = ["a"]\n', "(block)", "no entry point"),
        ('name = "x"\nstart_urls = ["https://a.example/"]\n', "(block)", "article_url_patterns"),
        ('name = "x"\nfeeds = ["ftp://a.example/rss"]\n', "feeds", "not an absolute"),
        (
            'name = "x"\nfeeds = ["https://a.example/rss"]\n[source.pagination]\nmax_pages = 2\n',
            "pagination",
            "exactly one of",
        ),
        ('name = "x"\nfeeds = ["https://a.example/rss"]\nfeed = []\n', "feed", "Extra inputs"),
    ],
)
def test_errors_name_file_source_and_field(
    tmp_path: Path, block: str, field: str, words: str
) -> None:
    path = write(tmp_path, "[[source]]\n" + block)
    with pytest.raises(SourcesFileError) as error:
        load_sources(path)
    message = str(error.value)
    assert str(path) in message and "source 'x'" in message
    assert f"field {field}" in message and words in message


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>One</title><link> https://news.example/story/1 </link></item>
<item><title>No link</title></item>
<item><title>Two</title><link>/story/2</link></item></channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>t</title><entry><title>A</title><link rel="self" href="https://news.example/self"/>
<link href="https://news.example/story/a"/></entry>
<entry><title>B</title><link rel="alternate" href="https://news.example/story/b"/></entry></feed>"""


def test_feed_links_from_rss_and_atom() -> None:
    assert feed_links(RSS, "https://news.example/rss.xml") == [
        "https://news.example/story/1",
        "https://news.example/story/2",
    ]
    assert feed_links(ATOM) == ["https://news.example/story/a", "https://news.example/story/b"]


def test_feed_that_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        feed_links(b"<html><body>hello</body></html>")
    with pytest.raises(FeedError):
        feed_links(b"\x00\x01 binary")


NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://news.example/story/n1</loc><news:news><news:title>N1</news:title></news:news></url>
<url><loc>https://news.example/story/n2</loc></url></urlset>"""


def test_sitemaps_plain_gzipped_and_index() -> None:
    expected = ("urlset", ["https://news.example/story/n1", "https://news.example/story/n2"])
    assert sitemap_entries(NEWS_SITEMAP, 10_000) == expected
    assert sitemap_entries(gzip.compress(NEWS_SITEMAP), 10_000) == expected
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://news.example/s1.xml</loc></sitemap></sitemapindex>"""
    assert sitemap_entries(index, 10_000) == ("sitemapindex", ["https://news.example/s1.xml"])


def test_gzipped_sitemap_bomb_is_refused() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000 + b"</urlset>")
    with pytest.raises(FeedError, match="larger than"):
        sitemap_entries(bomb, 100_000)


def test_robots_sitemap_lines() -> None:
    robots = "User-agent: *\nDisallow: /x\nSitemap: https://a.example/s.xml\nsitemap:/rel.xml\n"
    assert robots_sitemaps(robots) == ["https://a.example/s.xml", "/rel.xml"]


@pytest.mark.parametrize(
    ("body", "declared", "text", "encoding"),
    [
        ("café".encode(), "iso-8859-1", "café", "utf-8"),  # label lies, bytes are UTF-8
        ("café".encode("cp1252"), "utf-8", "café", "cp1252"),  # label lies, bytes are cp1252
        (b'<meta charset="koi8-r">' + "мир".encode("koi8-r"), None, "мир", "koi8-r"),
        ("€ sign".encode("cp1252"), "latin-1", "€ sign", "cp1252"),
        (b"\xef\xbb\xbfbom", None, "bom", "utf-8"),  # the mark is read, not kept
    ],
)
def test_charset_decoding(body: bytes, declared: str | None, text: str, encoding: str) -> None:
    decoded, used = decode_html(body, declared)
    assert text in decoded
    assert used == encoding


def test_retry_after_forms() -> None:
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 30) == 30.0
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(None) is None


def news_sitemap(count: int) -> bytes:
    """A standard news sitemap of `count` URLs, about 120 bytes each once unpacked."""
    urls = "".join(
        f"<url><loc>https://news.example/story/{n:06d}</loc>"
        f"<news:news><news:title>S{n}</news:title></news:news></url>\n"
        for n in range(count)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n' + urls + "</urlset>"
    ).encode()


def test_a_full_50000_url_news_sitemap_is_read_whole() -> None:
    body = news_sitemap(50_000)
    assert len(body) > 5 * 1024 * 1024  # over the old 5 MiB cap, far under sitemaps.org's 50 MB
    for packed in (body, gzip.compress(body)):
        kind, urls = sitemap_entries(packed)
        assert kind == "urlset" and len(urls) == 50_000
        assert urls[0] == "https://news.example/story/000000"
        assert urls[-1] == "https://news.example/story/049999"


def test_every_member_of_a_multi_member_gzip_is_read() -> None:
    body = news_sitemap(300)
    cut = body.index(b"<url><loc>https://news.example/story/000150")
    packed = gzip.compress(body[:cut]) + gzip.compress(body[cut:])
    kind, urls = sitemap_entries(packed)
    assert kind == "urlset"
    assert urls == [f"https://news.example/story/{n:06d}" for n in range(300)]


def test_truncated_gzip_is_an_error() -> None:
    with pytest.raises(FeedError, match="truncated"):
        sitemap_entries(gzip.compress(news_sitemap(50))[:-40])


def test_robots_site_map_spelling_and_bom() -> None:
    robots = "\ufeffSitemap: https://a.example/first.xml\nUser-agent: *\nSite-map: /second.xml\n"
    assert robots_sitemaps(robots) == ["https://a.example/first.xml", "/second.xml"]
