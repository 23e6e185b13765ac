"""The publisher's own article data as evidence: authors, dates, whole bodies, live blogs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from flows.extract.body import parse_html
from flows.extract.structured import read_article_data, split_names
from tests.support.pages import stored_article

FETCHED_AT = datetime(2025, 8, 15, 12, 0, tzinfo=UTC)
LOREM = (
    "The harbour authority said on Tuesday that the new breakwater would be finished before the "
    "winter storms, after two years of delays caused by a shortage of granite and a dispute "
    "with the contractor over the depth of the foundations. "
)


def page_html(body_html: str, *structured: dict[str, Any], head: str = "") -> str:
    scripts = "".join(
        f'<script type="application/ld+json">{json.dumps(item)}</script>' for item in structured
    )
    return (
        f"<html><head><title>Harbour works</title>{head}{scripts}</head><body>"
        "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<main>{body_html}</main><footer>© News Example</footer></body></html>"
    )


def extract(html_text: str) -> Any:
    return stored_article(html_text.encode(), "https://news.example/story/1", FETCHED_AT)


def test_authors_and_date_from_json_ld_graph() -> None:
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "News Example"},
            {
                "@type": ["NewsArticle"],
                "headline": "Harbour works",
                "datePublished": "2025-07-27T10:15+03:00",
                "author": [
                    {"@type": "Person", "name": "Ann Lee"},
                    {"@type": "Person", "name": "Bo Chen"},
                    {"@type": "Organization", "name": "Wire Service"},
                ],
            },
        ],
    }
    broken = "<script type='application/ld+json'>{not json</script>"
    html_text = page_html(f"<article><h1>Harbour works</h1><p>{LOREM * 3}</p></article>", graph)
    html_text = html_text.replace("</head>", broken + "</head>")
    data = read_article_data(parse_html(html_text))
    assert data.authors == ("Ann Lee", "Bo Chen")
    assert data.published == "2025-07-27T10:15+03:00"
    assert "newsarticle" in data.types
    assert extract(html_text).authors == ("Ann Lee", "Bo Chen")


def test_authors_from_microdata_and_from_meta_tags() -> None:
    microdata = (
        '<article itemscope itemtype="https://schema.org/NewsArticle">'
        '<h1 itemprop="headline">Harbour works</h1>'
        '<span itemprop="author" itemscope itemtype="https://schema.org/Person">'
        '<span itemprop="name">Carla Ruiz</span></span>'
        f"<p>{LOREM * 3}</p></article>"
    )
    assert read_article_data(parse_html(page_html(microdata))).authors == ("Carla Ruiz",)
    meta = '<meta name="author" content="By Dana Okafor and Eli Brandt">'
    meta += '<meta property="article:author" content="https://news.example/staff/dana">'
    html_text = page_html(f"<article><p>{LOREM * 3}</p></article>", head=meta)
    assert extract(html_text).authors == ("Dana Okafor", "Eli Brandt")


def test_names_are_split_and_non_names_dropped() -> None:
    assert split_names("Von Max Müller, Erika Mustermann") == ["Max Müller", "Erika Mustermann"]
    assert split_names("desk@news.example") == []
    assert split_names("https://news.example/staff/ann") == []


def test_a_complete_article_body_stands_in_for_a_page_that_shows_only_its_opening() -> None:
    opening = LOREM.strip()
    rest = [
        f"Paragraph {n} of the report: the council will review the budget for the harbour works "
        f"and publish its findings, said the spokesperson for the port in the statement number {n}."
        for n in range(2, 12)
    ]
    article_body = "\n\n".join([opening, *rest])
    structured = {"@type": "NewsArticle", "headline": "Harbour works", "articleBody": article_body}
    html_text = page_html(
        f"<article><h1>Harbour works</h1><p>{opening}</p>"
        "<div class='paywall'><p>Subscribe to read the whole story.</p></div></article>",
        structured,
    )
    body = extract(html_text).body
    assert all(paragraph in body for paragraph in rest)
    teaser = {**structured, "articleBody": article_body[:600] + "…"}
    body = extract(page_html(html_text.split("<main>")[1].split("</main>")[0], teaser)).body
    assert opening in body and rest[-1] not in body


def test_an_article_body_the_page_does_not_show_is_not_trusted() -> None:
    unrelated = "\n\n".join(
        f"Completely different text number {n} about a football match and its fans." * 3
        for n in range(20)
    )
    structured = {"@type": "NewsArticle", "articleBody": unrelated}
    html_text = page_html(
        f"<article><h1>Harbour works</h1><p>{LOREM * 3}</p></article>", structured
    )
    body = extract(html_text).body
    assert "football" not in body and "breakwater" in body


def test_a_live_blog_body_is_its_intro_and_every_listed_post() -> None:
    posts = [
        {
            "@type": "BlogPosting",
            "headline": f"Update {n}: water level at {100 + n} cm",
            "articleBody": f"Gauges along the river read {100 + n} centimetres at {n} o'clock; "
            "the fire brigade moved sandbags to the old town.",
            "datePublished": f"2025-08-15T{n:02d}:00+02:00",
        }
        for n in range(9, 1, -1)
    ]
    live = {
        "@type": "LiveBlogPosting",
        "headline": "Floods: live",
        "author": {"@type": "Person", "name": "Fay Moreau"},
        "liveBlogUpdate": posts,
    }
    posts_html = "".join(
        f"<div class='post'><h3>{post['headline']}</h3><p>{post['articleBody']}</p>"
        "<div class='share'>Share this post</div></div>"
        for post in posts
    )
    html_text = page_html(
        f"<article><h1>Floods: live</h1><p class='intro'>{LOREM}</p>{posts_html}"
        "<aside><p>Get our newsletter every morning: sign up now.</p></aside></article>",
        live,
    )
    article = extract(html_text)
    assert article.authors == ("Fay Moreau",)
    for post in posts:
        assert article.body.count(post["articleBody"]) == 1
        assert post["headline"] in article.body
    assert "newsletter" not in article.body
    assert article.body.index(posts[0]["headline"]) < article.body.index(posts[-1]["headline"])


def test_short_lines_the_publisher_body_lacks_are_dropped() -> None:
    paragraphs = [
        f"Paragraph {n}: the port authority confirmed that dredging of berth {n} will start in "
        "March, and that ferries will use the temporary pier until the works are finished."
        for n in range(1, 7)
    ]
    extra_paragraph = (
        "A paragraph the publisher's data leaves out, long enough to be part of the story: the "
        "mayor welcomed the plan but asked for a study of the noise at night."
    )
    structured = {"@type": "NewsArticle", "articleBody": "\n".join(paragraphs)}
    article_html = (
        "<article><h1>Harbour works</h1>"
        + "".join(f"<p>{text}</p>" for text in paragraphs[:3])
        + "<p>Pictured: the temporary pier in winter</p>"
        + "".join(f"<p>{text}</p>" for text in paragraphs[3:])
        + f"<p>{extra_paragraph}</p></article>"
    )
    with_data = extract(page_html(article_html, structured)).body
    without_data = extract(page_html(article_html)).body
    assert "Pictured: the temporary pier" in without_data  # what the extractor alone keeps
    assert "Pictured" not in with_data
    assert all(text in with_data for text in [*paragraphs, extra_paragraph])
