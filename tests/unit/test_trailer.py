"""Newsletter, follow-us and copyright lines after a story are not stored as part of its body."""

from __future__ import annotations

from flows.extract.trailer import drop_trailer
from tests.support.pages import stored_article

STORY = [
    "The harbour board approved a second container terminal on Tuesday, after two years of "
    "hearings on dredging, noise and the traffic it will bring to the coast road.",
    "Construction is due to start in the spring; the board said the terminal would handle a "
    "million containers a year once its four cranes are in place.",
    "Fishermen's groups, who opposed the plan, said they would appeal, and the board's weekly "
    "newsletter to residents will carry the timetable of the works from next month.",
]
TRAILER = [
    "Sign up for our Morning Briefing newsletter",
    "Follow us on Twitter and Facebook.",
    "© 2026 Harbour Example Media. All rights reserved.",
]


def page() -> bytes:
    story = "".join(f"<p>{text}</p>" for text in STORY)
    trailer = "".join(f"<p>{text}</p>" for text in TRAILER)
    return f"""<html lang="en"><head><title>Second terminal approved</title></head><body>
<nav><a href="/">Home</a> <a href="/port">Port</a></nav>
<article><h1>Second container terminal approved</h1><div class="story">{story}{trailer}</div>
</article><footer><p>Contact</p></footer></body></html>""".encode()


def test_the_trailer_is_left_out_and_the_story_kept_whole() -> None:
    body = stored_article(page(), "https://harbour.example/terminal").body
    assert body.splitlines() == STORY


def test_only_the_end_is_read() -> None:
    text = "\n".join([STORY[0], TRAILER[1], STORY[1]])
    assert drop_trailer(text) == text


def test_a_long_run_of_matching_lines_is_kept() -> None:
    lines = [f"Subscribe to newsletter number {n} of our council" for n in range(8)]
    text = "\n".join([STORY[0], *lines])
    assert drop_trailer(text) == text


def test_a_reporter_address_and_a_comment_counter_end_the_story() -> None:
    text = "\n".join([STORY[0], "Write to Ann Lee at ann.lee@harbour.example", "12 Comments"])
    assert drop_trailer(text) == STORY[0]


def test_credits_and_sources_that_end_a_story() -> None:
    text = "\n".join(
        [
            STORY[0],
            "Additional reporting by Bo Chen; editing by Ann Lee",
            "Quelle: Hafenbehörde, 2. März 2026",
            "Follow the Harbour Example politics desk on Facebook and Twitter.",
        ]
    )
    assert drop_trailer(text) == STORY[0]
