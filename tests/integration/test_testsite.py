"""The Daily8-shaped test site, over real HTTP on loopback, with a small fictional stories file."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from html import escape, unescape
from pathlib import Path
from typing import cast

import pytest

from flows.testsite import TestSite, load_stories

FERRY = "a" * 32
ORCHARD = "b" * 32
RAIL = "c" * 32
RAIL_ALIAS = "c" * 31 + "d"
RAIL_EDITED = "e" * 32
AR_FERRY = "1" * 32
AR_LIBRARY = "2" * 32


def _story(
    story_id: str,
    lang: str,
    title: str,
    *,
    paragraphs: list[str],
    publisher: str = "Harbour Herald",
    published: str = "3 hours ago",
    category: str = "Local",
    hashtags: tuple[str, ...] = (),
    junk: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    edited_from: str | None = None,
) -> dict[str, object]:
    return {
        "id": story_id,
        "lang": lang,
        "title": title,
        "publisher": publisher,
        "published": published,
        "category": category,
        "hashtags": list(hashtags),
        "paragraphs": paragraphs,
        "junk": list(junk),
        "aliases": list(aliases),
        "edited_from": edited_from,
    }


STORIES = [
    _story(
        FERRY,
        "en",
        "Harbour council approves night ferry trial",
        hashtags=("Ferries", "transport"),
        junk=("Start your FREE trial now", "Photo: AP", "share"),
        paragraphs=[
            "The harbour council voted to run ferries after midnight for six weeks.",
            "Operators said the trial would need four extra crews.",
            "Residents on the east quay asked for quieter engines.",
        ],
    ),
    _story(
        ORCHARD,
        "en",
        "Valley orchards report a record apricot harvest",
        publisher="Valley Times",
        published="10 minutes ago",
        category="Business",
        hashtags=("farming",),
        paragraphs=[
            "Growers in the valley picked more apricots than in any year on record.",
            "Prices at the market fell by a third within a week.",
        ],
    ),
    _story(
        RAIL,
        "en",
        "Northern rail link reopens after storm repairs",
        publisher="Northern Wire",
        published="27-07-2025",
        hashtags=("transport",),
        aliases=(RAIL_ALIAS,),
        paragraphs=[
            "Trains ran again on the northern link after a month of repairs.",
            "Engineers rebuilt two embankments washed out by the storm.",
        ],
    ),
    _story(
        RAIL_EDITED,
        "en",
        "Northern rail line reopens following storm repairs",
        publisher="Northern Wire",
        published="2 days ago",
        edited_from=RAIL,
        paragraphs=[
            "Trains ran again on the northern line after a month of repairs.",
            "Engineers rebuilt two embankments that the storm washed out.",
        ],
    ),
    _story(
        AR_FERRY,
        "ar",
        "المجلس البلدي يوافق على تجربة العبارات الليلية",
        publisher="صحيفة الميناء",
        published="منذ 3 ساعات",
        hashtags=("Ferries",),
        paragraphs=[
            "وافق المجلس البلدي على تشغيل العبارات بعد منتصف الليل لمدة ستة أسابيع.",
            "قال المشغلون إن التجربة تحتاج إلى أربعة أطقم إضافية.",
        ],
    ),
    _story(
        AR_LIBRARY,
        "ar",
        "افتتاح مكتبة عامة جديدة في الحي القديم",
        publisher="صحيفة الميناء",
        published="منذ ساعة واحدة",
        category="ثقافة",
        paragraphs=["افتتحت البلدية مكتبة عامة جديدة في الحي القديم صباح اليوم."],
    ),
]

ENGLISH_MARKERS = [
    "Hashtags",
    "Try Our AI Features",
    "Explore what Daily8 AI can do for you:",
    "Comments",
    "No comments yet...",
    "Related Articles",
]
ARABIC_MARKERS = [
    "هاشتاغز",
    "جرب ميزات الذكاء الاصطناعي لدينا",
    "اكتشف ما يمكن أن يفعله Daily8 AI من أجلك:",
    "التعليقات",
    "لا يوجد تعليقات بعد...",
    "أخبار ذات صلة",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestSite]:
    stories_path = tmp_path_factory.mktemp("testsite") / "stories.json"
    stories_path.write_text(json.dumps({"stories": STORIES}, ensure_ascii=False), "utf-8")
    with TestSite(stories_path) as running:
        yield running


def fetch(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """Status, headers and decoded body; HTTP errors are returned, not raised."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8")


def hrefs(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]*)"', html)]


def canonical(html: str) -> str:
    match = re.search(r'<link rel="canonical" href="([^"]*)">', html)
    assert match, "no canonical link"
    return unescape(match.group(1))


def in_order(html: str, lines: list[str]) -> bool:
    """Each line is the whole text of an element, and they appear in this order."""
    positions = [html.find(f">{escape(line)}<") for line in lines]
    return -1 not in positions and positions == sorted(positions)


def test_robots_txt(site: TestSite) -> None:
    status, _, body = fetch(site.base_url + "/robots.txt")
    assert status == 200
    assert body == "User-agent: *\nDisallow: /private/\n"


def test_root_redirects_to_home(site: TestSite) -> None:
    with urllib.request.urlopen(site.base_url + "/", timeout=10) as response:
        assert response.url == site.base_url + "/en"
    assert site.hits_snapshot()["/"] >= 1


def test_home_links_every_story_alias_hashtag_and_drafts(site: TestSite) -> None:
    status, headers, body = fetch(site.base_url + "/en")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    links = hrefs(body)
    for story in site.stories:
        assert story.url_path in links
    assert f"/en/article/{RAIL_ALIAS}" in links
    assert {"/en/hashtag/Ferries", "/en/hashtag/transport", "/en/hashtag/farming"} <= set(links)
    assert links.count("/private/drafts") == 1
    assert "/en/about" in links
    assert ">Latest news<" in body


def test_article_page_canonical_boilerplate_and_related(site: TestSite) -> None:
    url = f"{site.base_url}/en/article/{FERRY}"
    status, _, body = fetch(url)
    assert status == 200
    assert '<html lang="en" dir="ltr">' in body
    assert canonical(body) == url
    assert '<meta property="og:title" content="Harbour council approves night ferry trial">' in body
    assert (
        '<div class="article-source"><span class="publisher">Harbour Herald</span> '
        '<span class="time">3 hours ago</span></div>'
    ) in body
    assert in_order(
        body,
        [
            "Harbour council approves night ferry trial",
            "The harbour council voted to run ferries after midnight for six weeks.",
            "Start your FREE trial now",
            "Photo: AP",
            "share",
            *ENGLISH_MARKERS,
        ],
    )
    assert '<a href="/en/hashtag/Ferries">#Ferries</a>' in body

    related_part = body.split(">Related Articles<", 1)[1]
    assert related_part.count('<article class="related-item"') == 3
    # The next three English stories in file order, each with its full body.
    for related in STORIES[1:4]:
        assert f'href="{"/en/article/" + str(related["id"])}"' in related_part
        assert f">- {related['publisher']}<" in related_part
        for paragraph in cast(list[str], related["paragraphs"]):
            assert f"<p>{escape(paragraph)}</p>" in related_part


def test_alias_serves_primary_page_with_primary_canonical(site: TestSite) -> None:
    primary_url = f"{site.base_url}/en/article/{RAIL}"
    _, _, primary = fetch(primary_url)
    status, _, alias = fetch(f"{site.base_url}/en/article/{RAIL_ALIAS}")
    assert status == 200
    assert alias == primary
    assert canonical(alias) == primary_url


def test_edited_rewrite_is_its_own_page(site: TestSite) -> None:
    url = f"{site.base_url}/en/article/{RAIL_EDITED}"
    status, _, body = fetch(url)
    assert status == 200
    assert canonical(body) == url
    assert "Northern rail line reopens following storm repairs" in body


def test_canonical_follows_host_header(site: TestSite) -> None:
    host = f"localhost:{site.port}"
    _, _, body = fetch(f"{site.base_url}/en/article/{RAIL_ALIAS}", headers={"Host": host})
    assert canonical(body) == f"http://{host}/en/article/{RAIL}"


def test_arabic_page(site: TestSite) -> None:
    status, _, body = fetch(f"{site.base_url}/article/{AR_FERRY}")
    assert status == 200
    assert '<html lang="ar" dir="rtl">' in body
    assert in_order(body, ARABIC_MARKERS)
    assert '<a href="/en/hashtag/Ferries">#Ferries</a>' in body
    related_part = body.split(">أخبار ذات صلة<", 1)[1]
    assert related_part.count('<article class="related-item"') == 1  # only one other Arabic story
    assert f'href="/article/{AR_LIBRARY}"' in related_part


def test_wrong_language_prefix_is_404(site: TestSite) -> None:
    assert fetch(f"{site.base_url}/en/article/{AR_FERRY}")[0] == 404
    assert fetch(f"{site.base_url}/article/{FERRY}")[0] == 404


def test_hashtag_page_lists_both_languages_with_tracking_links(site: TestSite) -> None:
    status, _, body = fetch(site.base_url + "/en/hashtag/Ferries")
    assert status == 200
    assert ">Latest news with #Ferries<" in body
    assert body.count(">Copy the Story Link<") == 2
    tracking = "?utm_source=hashtag&utm_medium=listing"
    links = hrefs(body)
    assert f"/en/article/{FERRY}{tracking}" in links
    assert f"/article/{AR_FERRY}{tracking}" in links
    assert "• Local" in body and "• Harbour Herald" in body
    assert '<span class="time-label">time</span>3 hours ago' in body

    status, _, tracked = fetch(f"{site.base_url}/en/article/{FERRY}{tracking}")
    assert status == 200
    assert canonical(tracked) == f"{site.base_url}/en/article/{FERRY}"
    assert fetch(site.base_url + "/en/hashtag/Nonexistent")[0] == 404


def test_about_and_drafts(site: TestSite) -> None:
    status, _, about = fetch(site.base_url + "/en/about")
    assert status == 200 and "Related Articles" not in about
    assert fetch(site.base_url + "/private/drafts")[0] == 200


def test_unknown_path_is_404_html(site: TestSite) -> None:
    status, headers, body = fetch(site.base_url + "/en/nowhere")
    assert status == 404
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Page not found" in body


def test_head_has_length_and_no_body(site: TestSite) -> None:
    _, _, body = fetch(site.base_url + "/en")
    status, headers, head_body = fetch(site.base_url + "/en", method="HEAD")
    assert status == 200
    assert int(headers["Content-Length"]) == len(body.encode("utf-8"))
    assert head_body == ""


def test_hits_are_counted_with_query(site: TestSite) -> None:
    path = f"/en/article/{ORCHARD}?ref=hits-test"
    before = site.hits_snapshot()[path]
    fetch(site.base_url + path)
    fetch(site.base_url + path)
    assert site.hits_snapshot()[path] == before + 2
    assert site.hits[path] == before + 2


def test_article_urls_cover_primaries_aliases_and_rewrites(site: TestSite) -> None:
    urls = site.article_urls()
    assert len(urls) == len(STORIES) + 1
    assert urls[f"{site.base_url}/en/article/{RAIL_ALIAS}"] == RAIL
    assert urls[f"{site.base_url}/en/article/{RAIL_EDITED}"] == RAIL_EDITED
    assert urls[f"{site.base_url}/article/{AR_LIBRARY}"] == AR_LIBRARY
    for url in urls:
        assert fetch(url, method="HEAD")[0] == 200


def test_load_stories_names_file_and_index(tmp_path: Path) -> None:
    broken = [STORIES[0], {**STORIES[1], "id": "not-hex"}]
    stories_path = tmp_path / "broken.json"
    stories_path.write_text(json.dumps({"stories": broken}), "utf-8")
    with pytest.raises(ValueError, match=r"broken\.json: stories\[1\]: id must be"):
        load_stories(stories_path)

    dangling = [STORIES[0], {**STORIES[1], "edited_from": "f" * 32}]
    stories_path.write_text(json.dumps({"stories": dangling}), "utf-8")
    with pytest.raises(ValueError, match=r"stories\[1\]: edited_from"):
        load_stories(stories_path)


def test_story_paths_and_tuples(tmp_path: Path) -> None:
    stories_path = tmp_path / "stories.json"
    stories_path.write_text(json.dumps({"stories": STORIES}), "utf-8")
    stories = {story.id: story for story in load_stories(stories_path)}
    assert stories[RAIL].url_path == f"/en/article/{RAIL}"
    assert stories[RAIL].aliases == (RAIL_ALIAS,)
    assert stories[AR_FERRY].url_path == f"/article/{AR_FERRY}"
    assert stories[RAIL_EDITED].edited_from == RAIL
