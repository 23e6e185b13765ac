"""The corpus metric on texts small enough to count by hand."""

from __future__ import annotations

import pytest

from flows.bench.metrics import score_corpus, score_page, score_snippets, shingles


def test_shingles_are_four_token_runs_counted_as_a_multiset() -> None:
    assert shingles("a b c d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert shingles("x y z w x y z w")[("x", "y", "z", "w")] == 2
    # punctuation is not a token; case is kept; Unicode words count
    assert shingles("Él dijo: ¡hola, mundo!") == {("Él", "dijo", "hola", "mundo"): 1}


def test_short_and_empty_texts() -> None:
    assert shingles("two words") == {("two", "words"): 1}
    assert shingles("  ...  ") == {}


def test_page_counts_are_normalised() -> None:
    # truth: 3 shingles (a b c d, b c d e, c d e f); prediction: a b c d e g -> abcd, bcde, cdeg
    page = score_page("a b c d e g", "a b c d e f")
    assert page.tp == pytest.approx(2 / 4)
    assert page.fp == pytest.approx(1 / 4)
    assert page.fn == pytest.approx(1 / 4)
    assert page.precision == pytest.approx(2 / 3)
    assert page.recall == pytest.approx(2 / 3)


def test_corpus_averages_pages_then_takes_harmonic_mean() -> None:
    truths = {
        "perfect": "one two three four five",
        "half": "a b c d e f g",  # 4 shingles
        "missed": "p q r s t",
    }
    predictions = {"perfect": "one two three four five", "half": "a b c d e"}  # 2 of 4, no fp
    score = score_corpus(predictions, truths)
    # precision over pages with output: (1 + 1) / 2; recall over pages with truth: (1 + .5 + 0) / 3
    assert score.precision == pytest.approx(1.0)
    assert score.recall == pytest.approx(0.5)
    assert score.f1 == pytest.approx(2 * 1.0 * 0.5 / 1.5)
    assert score.pages == 3


def test_extra_text_lowers_precision_only() -> None:
    score = score_corpus({"p": "k l m n o Subscribe to our newsletter today"}, {"p": "k l m n o"})
    assert score.recall == pytest.approx(1.0)
    assert score.precision == pytest.approx(2 / 7)  # 7 shingles, 2 of them true


def test_snippets_are_counted_over_all_pages_with_whitespace_normalized() -> None:
    segments = {
        "a": {"with": ["river  rose\nby a metre", "the mill"], "without": ["Sign up", "Share"]},
        "b": {"with": ["night opening"], "without": ["Most read"]},
        "c": {"with": ["never extracted"], "without": []},
    }
    predictions = {
        "a": "The river rose by a metre overnight. Sign up for our newsletter.",
        "b": "Night opening\tfor the library. Most read",  # snippets are case-sensitive
    }
    score = score_snippets(predictions, segments)
    # a: tp 1 (river), fn 1 (mill), fp 1 (Sign up), tn 1; b: fn 1, fp 1; c: fn 1 (no text)
    assert (score.tp, score.fn, score.fp, score.tn) == (1, 3, 2, 1)
    assert score.precision == pytest.approx(1 / 3)
    assert score.recall == pytest.approx(1 / 4)
    assert score.f1 == pytest.approx(2 * (1 / 3) * (1 / 4) / (1 / 3 + 1 / 4))
    assert score.accuracy == pytest.approx(2 / 7)
    assert score.pages == 3
