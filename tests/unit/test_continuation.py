"""A story split into two containers of one class (an advertisement between) is stored whole."""

from __future__ import annotations

from tests.support.pages import stored_article

FIRST = [
    f"First half, paragraph {n}: the regional parliament debated the water bill for a third day, "
    f"and the opposition tabled amendment number {n} on the price of irrigation."
    for n in range(1, 5)
]
SECOND = [
    f"Second half, paragraph {n}: farmers' unions said the bill would double their costs, while "
    f"the minister promised a review of tariff band {n} before the final vote in spring."
    for n in range(1, 6)
]
COMMENT = (
    "Reader comment: I have farmed in this valley for forty years and never seen a bill like this."
)


# The layout where trafilatura keeps the first half only: each half in its own grid cell.
CONTAINER = "grid-item body body-container article__body"


def page() -> bytes:
    first = "".join(f"<p>{text}</p>" for text in FIRST)
    second = "".join(f"<p>{text}</p>" for text in SECOND)
    return f"""<html><head><title>Water bill debate</title></head><body>
<header><nav><a href="/">Home</a> <a href="/politics">Politics</a></nav></header>
<main><div class="article-header"><h1>Water bill debate</h1></div>
<div class="grid grid-with-rail"><div class="{CONTAINER}">{first}</div></div>
<div class="leaderboard"><div class="ad ad-mid"><span class="ad-label">Advertisement</span>
<div class="ad-slot"></div></div></div>
<div class="grid grid-with-rail"><div class="{CONTAINER}">{second}</div></div>
<section id="comments"><div class="{CONTAINER}"><p>{COMMENT}</p></div></section>
</main>
<footer><div class="{CONTAINER}"><p>Copyright News Example, every right reserved, no part of
this page may be copied without the written permission of its publisher.</p></div></footer>
</body></html>""".encode()


def test_both_halves_are_kept_and_comments_and_footer_left_out() -> None:
    body = stored_article(page(), "https://news.example/water-bill").body
    for paragraph in FIRST + SECOND:
        assert body.count(paragraph) == 1, paragraph[:40]
    assert body.index(FIRST[-1]) < body.index(SECOND[0])
    assert COMMENT not in body
    assert "Copyright" not in body


def banded_page() -> bytes:
    """Each half in a grid cell three levels inside a band of its own, an advertisement between."""

    def band(paragraphs: list[str]) -> str:
        text = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
        return (
            f'<div class="band"><div class="wrap"><div class="grid grid-with-rail">'
            f'<div class="{CONTAINER}">{text}</div></div></div></div>'
        )

    return f"""<html><head><title>Water bill debate</title></head><body>
<header><nav><a href="/">Home</a> <a href="/politics">Politics</a></nav></header>
<main><div class="article-header"><h1>Water bill debate</h1></div>
{band(FIRST)}
<div class="leaderboard"><div class="ad ad-mid"><span class="ad-label">Advertisement</span>
<div class="ad-slot"></div></div></div>
{band(SECOND)}
</main>
<footer><p>News Example, Harbour Street 1</p></footer>
</body></html>""".encode()


def test_halves_in_bands_of_their_own_are_both_kept() -> None:
    body = stored_article(banded_page(), "https://news.example/water-bill-bands").body
    for paragraph in FIRST + SECOND:
        assert body.count(paragraph) == 1, paragraph[:40]
