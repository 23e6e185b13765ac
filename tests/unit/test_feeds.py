"""Feed entry links through feedparser: each messy-feed case that the hand-written reader got wrong."""

from __future__ import annotations

import pytest

from spiders.discovery import FeedError
from spiders.feeds import feed_links

FEED_URL = "https://news.example/feeds/all.xml"
ATOM_NS = "http://www.w3.org/2005/Atom"


def rss(items: str, channel_attributes: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" {channel_attributes}>'
        f"<channel><title>News</title><link>https://news.example/</link>{items}</channel></rss>"
    ).encode()


def test_unescaped_ampersand_in_rss_link_keeps_the_query() -> None:
    body = rss("<item><title>A</title><link>https://news.example/a?id=1&page=2</link></item>")
    assert feed_links(body, FEED_URL) == ["https://news.example/a?id=1&page=2"]


def test_xml_base_resolves_relative_links() -> None:
    body = f"""<?xml version="1.0"?>
<feed xmlns="{ATOM_NS}" xml:base="https://news.example/world/">
<title>t</title>
<entry xml:base="/politics/"><title>A</title><link href="vote-count"/><id>urn:a</id></entry>
<entry><title>B</title><link href="floods"/><id>urn:b</id></entry></feed>""".encode()
    assert feed_links(body, FEED_URL) == [
        "https://news.example/politics/vote-count",
        "https://news.example/world/floods",
    ]


def test_atom_entry_source_link_is_not_the_entry_link() -> None:
    body = f"""<?xml version="1.0"?><feed xmlns="{ATOM_NS}"><title>t</title>
<entry><title>Copied story</title><id>urn:c</id>
<source><title>Wire</title><link href="https://wire.example/"/></source>
<link rel="alternate" href="https://news.example/story/copied"/></entry></feed>""".encode()
    assert feed_links(body, FEED_URL) == ["https://news.example/story/copied"]


def atom(entries: str) -> bytes:
    return f"""<?xml version="1.0"?><feed xmlns="{ATOM_NS}"><title>t</title>{entries}</feed>""".encode()


def test_link_without_href_of_another_relation_does_not_replace_the_page() -> None:
    """An image given as `<link rel="enclosure">URL</link>` is not the story, before or after it."""
    image = '<link rel="enclosure" type="image/jpeg">https://img.news.example/cover.jpg?w=329&amp;h=256</link>'
    page = '<link rel="alternate" type="text/html" href="https://news.example/story/scooters"/>'
    body = atom(
        f"<entry><title>A</title><id>urn:a</id>{page}{image}</entry>"
        f"<entry><title>B</title><id>urn:b</id>{image}{page}</entry>"
        f"<entry><title>C</title><id>urn:c</id>{image}</entry>"
    )
    assert feed_links(body, FEED_URL) == [
        "https://news.example/story/scooters",
        "https://news.example/story/scooters",
    ]


def test_atom_link_given_as_text_is_still_the_page() -> None:
    body = atom(
        '<entry><title>A</title><id>urn:a</id><link rel="alternate">https://news.example/story/text-link</link></entry>'
    )
    assert feed_links(body, FEED_URL) == ["https://news.example/story/text-link"]


def test_atom_id_is_not_a_link() -> None:
    """An entry with only an http id has no page; an id before the page link leaves the page."""
    body = atom(
        "<entry><title>Id only</title><id>https://news.example/?p=101</id></entry>"
        "<entry><title>Relative id</title><id>/ids/102</id></entry>"
        "<entry><title>Id first</title><id>https://news.example/?p=103</id>"
        '<link rel="alternate" href="https://news.example/story/103"/></entry>'
        "<entry><title>Id and a related link</title><id>https://news.example/?p=104</id>"
        '<link rel="related" href="https://other.example/background"/></entry>'
    )
    assert feed_links(body, FEED_URL) == ["https://news.example/story/103"]


def test_rss_guid_stays_a_link_but_not_an_enclosure_url() -> None:
    body = rss(
        "<item><title>A</title><guid>https://news.example/story/permalink</guid></item>"
        "<item><title>Podcast</title><guid>https://cdn.news.example/ep7.mp3</guid>"
        '<enclosure url="https://cdn.news.example/ep7.mp3" type="audio/mpeg" length="1"/></item>'
        "<item><title>B</title><link>https://news.example/story/b</link>"
        '<enclosure url="https://cdn.news.example/b.mp3" type="audio/mpeg" length="1"/></item>'
    )
    assert feed_links(body, FEED_URL) == [
        "https://news.example/story/permalink",
        "https://news.example/story/b",
    ]


def test_http_charset_is_used_when_the_document_declares_none() -> None:
    body = (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Новости</title>"
        "<item><title>Мир</title><link>https://news.example/мир</link></item>"
        "</channel></rss>"
    ).encode("koi8-r")
    links = feed_links(body, FEED_URL, {"Content-Type": "application/rss+xml; charset=koi8-r"})
    assert links == ["https://news.example/мир"]


def test_guid_only_items_link_through_their_permalink_guid() -> None:
    body = rss(
        "<item><title>A</title><guid>https://news.example/story/guid-only</guid></item>"
        '<item><title>B</title><guid isPermaLink="false">internal-42</guid></item>'
    )
    assert feed_links(body, FEED_URL) == ["https://news.example/story/guid-only"]


def test_rss_item_linked_by_atom_link() -> None:
    body = rss(
        '<item><title>A</title><atom:link rel="alternate" href="/story/atom-linked"/></item>',
        channel_attributes=f'xmlns:atom="{ATOM_NS}"',
    )
    assert feed_links(body, FEED_URL) == ["https://news.example/story/atom-linked"]


def test_atom_0_3_feed() -> None:
    body = b"""<?xml version="1.0"?><feed version="0.3" xmlns="http://purl.org/atom/ns#">
<title>Old</title><entry><title>A</title>
<link rel="alternate" type="text/html" href="https://news.example/story/old-atom"/>
<id>tag:news.example,2005:1</id></entry></feed>"""
    assert feed_links(body, FEED_URL) == ["https://news.example/story/old-atom"]


def test_junk_before_the_xml_declaration() -> None:
    body = b"\n\n  <!-- generated -->\nWarning: something\n" + rss(
        "<item><title>A</title><link>https://news.example/story/after-junk</link></item>"
    )
    assert feed_links(body, FEED_URL) == ["https://news.example/story/after-junk"]


def test_only_web_links_and_relative_links_against_the_feed_url() -> None:
    body = rss(
        "<item><title>A</title><link>/story/relative</link></item>"
        "<item><title>B</title><link>mailto:desk@news.example</link></item>"
        "<item><title>C</title><link>javascript:alert(1)</link></item>"
        "<item><title>D</title><link>ftp://news.example/file</link></item>"
    )
    assert feed_links(body, FEED_URL) == ["https://news.example/story/relative"]


def test_content_location_header_is_the_base() -> None:
    body = f"""<?xml version="1.0"?><feed xmlns="{ATOM_NS}"><title>t</title>
<entry><title>A</title><link href="story/moved"/><id>urn:m</id></entry></feed>""".encode()
    headers = {"Content-Location": "https://mirror.example/base/"}
    assert feed_links(body, FEED_URL, headers) == ["https://mirror.example/base/story/moved"]


def test_rss_1_0_items() -> None:
    body = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://news.example/"><title>t</title><link>https://news.example/</link></channel>
<item rdf:about="https://news.example/story/rdf"><title>A</title>
<link>https://news.example/story/rdf</link></item></rdf:RDF>"""
    assert feed_links(body, FEED_URL) == ["https://news.example/story/rdf"]


@pytest.mark.parametrize("body", [b"<html><body>hello</body></html>", b"\x00\x01 binary", b""])
def test_not_a_feed_is_a_clear_error(body: bytes) -> None:
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        feed_links(body, FEED_URL)
