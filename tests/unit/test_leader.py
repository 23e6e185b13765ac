"""Reading time, a date stamp and a byline that open a story's container are not stored as body."""

from __future__ import annotations

import pytest

from flows.extract.leader import drop_leader
from tests.support.pages import stored_article

STORY = [
    "Der Kreistag hat am Montag beschlossen, die Buslinien im Süden des Landkreises ab dem "
    "Sommer im Halbstundentakt fahren zu lassen; bisher fährt dort nur stündlich ein Bus.",
    "Die Mehrkosten von rund zwei Millionen Euro im Jahr teilen sich der Kreis und die "
    "Gemeinden, wie der Landrat nach der Sitzung erklärte.",
    "Fahrgastverbände begrüßten den Beschluss, verlangten aber auch Busse am späten Abend, "
    "damit Schichtarbeiter ohne Auto nach Hause kommen.",
]
LEADER = ["Lesezeit: 2 Minuten", "23.10.2025 | 14:30", "Von Anna Berg"]


def page() -> bytes:
    lines = "".join(f"<p>{text}</p>" for text in [*LEADER, *STORY])
    return f"""<html lang="de"><head><title>Halbstundentakt</title></head><body>
<nav><a href="/">Start</a> <a href="/kreis">Kreis</a></nav>
<article><h1>Busse fahren öfter</h1><div class="artikel">{lines}</div></article>
<footer><p>Impressum</p></footer></body></html>""".encode()


def test_the_leader_is_left_out_and_the_story_kept_whole() -> None:
    assert stored_article(page(), "https://tageblatt.example/bus").body.splitlines() == STORY


@pytest.mark.parametrize(
    "line", ["5 min read", "Tempo de leitura: 3 minutos", "5:45 AM PST 11/19/2019 by Ann Lee"]
)
def test_leader_lines_in_other_forms(line: str) -> None:
    assert drop_leader(f"{line}\n{STORY[0]}") == STORY[0]


def test_a_story_opening_with_a_date_is_kept() -> None:
    text = "Am 23.10.2025 beschloss der Kreistag den neuen Takt für alle Buslinien im Süden.\nMehr."
    assert drop_leader(text) == text


def test_only_the_opening_is_read() -> None:
    text = "\n".join([STORY[0], "Von Anna Berg", STORY[1]])
    assert drop_leader(text) == text
