"""The standfirst and lead above the first paragraph trafilatura keeps are stored with the story;
page furniture above them (banners, captions, a site blurb past the menu) is not."""

from __future__ import annotations

from tests.support.pages import stored_article

STANDFIRST = (
    "The harbour authority will close the old ferry pier in March after divers found the piles "
    "eaten through, leaving islanders with one crossing a day until a new pier opens."
)
LEAD = (
    "Inspectors who dived under the pier last week reported that more than half of its oak "
    "piles had lost a third of their thickness to shipworm since the last survey."
)
STORY = [
    f"Paragraph {n} of the story: the council met the ferry company on Tuesday to agree a "
    f"timetable for the closure, and the company promised extra sailings on market day {n}."
    for n in range(1, 7)
]
COOKIES = (
    "We use cookies and similar technologies to run this site, to measure its audience and to "
    "show you content that suits you; you can change your choice at any time in the settings."
)
CAPTION = (
    "The old ferry pier at low tide, photographed from the harbour wall on a grey morning "
    "last week by our photographer, with the closed ticket office on the left."
)
BLURB = (
    "News Example is the independent daily of the islands, published since 1921 by a "
    "cooperative of its readers and journalists, with offices in every harbour town."
)


def _menu(items: int) -> str:
    return "".join(
        f'<li><a href="/section/{n}"><span>Section {n}</span></a></li>' for n in range(items)
    )


def page(between: str = "") -> bytes:
    story = "".join(f"<p>{text}</p>" for text in STORY)
    return f"""<html><head><title>Ferry pier to close | News Example</title></head><body>
<div class="cookie-consent"><p>{COOKIES}</p></div>
<header class="masthead"><p class="tagline">{BLURB}</p><nav><ul>{_menu(30)}</ul></nav></header>
<main><article>
<div class="article-hero"><h1>Ferry pier to close</h1>
<div class="article-intro"><p class="standfirst">{STANDFIRST}</p><p>{LEAD}</p></div>
<figure><img src="/pier.jpg"><figcaption><p>{CAPTION}</p></figcaption></figure></div>
{between}
<div class="article-body rich-text"><div class="story-text">{story}</div></div>
</article></main>
<footer><p>News Example, Harbour Street 1</p></footer>
</body></html>""".encode()


def _body(html: bytes) -> str:
    return stored_article(html, "https://news.example/ferry-pier").body


def test_standfirst_and_lead_open_the_stored_body_in_page_order() -> None:
    body = _body(page())
    assert body.startswith(STANDFIRST)
    assert body.index(STANDFIRST) < body.index(LEAD) < body.index(STORY[0])
    assert all(body.count(text) == 1 for text in [STANDFIRST, LEAD, *STORY])


def test_banners_captions_and_the_site_blurb_above_them_are_left_out() -> None:
    body = _body(page())
    for furniture in (COOKIES, CAPTION, BLURB):
        assert furniture not in body
    assert "Section 3" not in body


def test_a_paragraph_far_above_the_story_is_furniture() -> None:
    """Past a long run of markup (here a second menu between the intro and the story) the
    intro is no longer read as the story's opening."""
    body = _body(page(between=f'<div class="share-free"><ul>{_menu(20)}</ul></div>'))
    assert STORY[0] in body
    assert STANDFIRST not in body
    assert LEAD not in body
