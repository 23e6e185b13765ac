""" "Read also" prompts inside a story's container are not stored as part of its body."""

from __future__ import annotations

import pytest

from flows.extract.prompts import drop_prompts
from tests.support.pages import stored_article

STORY = [
    "Der Stadtrat hat am Dienstag den Bau der neuen Brücke über den Fluss beschlossen; die "
    "Arbeiten sollen im kommenden Frühjahr beginnen und rund zwei Jahre dauern.",
    "Die Kosten schätzt die Verwaltung auf 48 Millionen Euro, von denen das Land die Hälfte "
    "übernehmen will, wie der Bürgermeister nach der Sitzung sagte.",
    "Anwohner hatten gegen die Pläne protestiert, weil die Zufahrt durch ein Wohngebiet führt; "
    "der Rat beschloss deshalb eine Lärmschutzwand entlang der ganzen Strecke.",
    "Die Opposition stimmte dagegen und verlangte eine Bürgerbefragung, die nun im Herbst "
    "stattfinden soll, bevor die ersten Aufträge vergeben werden.",
]
PROMPT = "Lesen Sie auch: Hafen bekommt neue Kräne für Containerschiffe"
RELATED = ["Schwimmbad öffnet nach Sanierung wieder", "Neue Buslinie fährt ab Montag"]


def page() -> bytes:
    first, second = (
        "".join(f"<p>{t}</p>" for t in STORY[:2]),
        "".join(f"<p>{t}</p>" for t in STORY[2:]),
    )
    related = "".join(f'<p><a href="/lokales/{n}">{t}</a></p>' for n, t in enumerate(RELATED))
    return f"""<html lang="de"><head><title>Brücke beschlossen</title></head><body>
<nav><a href="/">Start</a> <a href="/lokales">Lokales</a></nav>
<article><h1>Stadtrat beschließt neue Brücke</h1>
<div class="text">{first}<p><strong>{PROMPT}</strong></p>{second}
<p><strong>Das könnte Sie auch interessieren:</strong></p>{related}</div></article>
<footer><p>Impressum</p></footer></body></html>""".encode()


def test_prompts_and_their_headlines_are_left_out() -> None:
    body = stored_article(page(), "https://zeitung.example/bruecke").body
    for paragraph in STORY:
        assert paragraph in body
    assert "Hafen bekommt neue Kräne" not in body
    assert "interessieren" not in body
    for headline in RELATED:
        assert headline not in body


@pytest.mark.parametrize(
    "line",
    [
        "Read more: Council approves the new bridge",
        "VEA TAMBIÉN: El puerto recibe nuevas grúas",
        "À lire aussi » Le port reçoit de nouvelles grues",
        "Leggi anche | Il porto riceve nuove gru",
        "SEE MORE: Harbour gets new cranes",
    ],
)
def test_a_prompt_line_is_dropped_in_any_of_the_languages(line: str) -> None:
    assert drop_prompts(f"{STORY[0]}\n{line}\n{STORY[1]}") == f"{STORY[0]}\n{STORY[1]}"


def test_sentences_that_merely_begin_alike_are_kept() -> None:
    text = (
        f"{STORY[0]}\nRelated costs rose by a third, the council said.\n"
        "Read more carefully, the bill sets no deadline."
    )
    assert drop_prompts(text) == text


def test_at_most_three_lines_under_a_bare_prompt_count_as_its_headlines() -> None:
    items = [f"- Step {n}: install the tool and set variable number {n}" for n in range(6)]
    text = "\n".join([STORY[0], "See also", *items])
    kept = drop_prompts(text).splitlines()
    assert "See also" not in kept
    assert kept[-3:] == items[-3:]


def test_a_prompt_with_a_few_more_words_heads_a_list() -> None:
    text = "\n".join([STORY[0], "Lesen Sie auch die folgenden Beiträge:", *RELATED])
    assert drop_prompts(text) == STORY[0]


def test_a_sentence_under_a_bare_prompt_is_the_story_again() -> None:
    sentence = "The council will vote on the budget for the bridge in June."
    assert drop_prompts(f"{STORY[0]}\nMore:\n{sentence}") == f"{STORY[0]}\n{sentence}"
