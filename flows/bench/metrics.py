"""The article-extraction metric of the Scrapinghub benchmark: shingle precision, recall and F1.

Tokens are `\\w+` matches (Unicode, case kept); shingles are runs of 4 tokens counted as a
multiset. Each page contributes tp, fp and fn normalised to sum to 1, so every page weighs the
same; precision is averaged over pages where something was extracted, recall over pages with a
true body, and F1 is the harmonic mean of those two averages.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")
SHINGLE_SIZE = 4


def share(part: float, whole: float) -> float:
    """part / whole, 0.0 for an empty whole (a page with nothing predicted, nothing true)."""
    return part / whole if whole else 0.0


def shingles(text: str, size: int = SHINGLE_SIZE) -> Counter[tuple[str, ...]]:
    """The multiset of `size`-token runs; a shorter text gives one shorter shingle (none if empty)."""
    tokens = _TOKEN.findall(text or "")
    if not tokens:
        return Counter()
    if len(tokens) < size:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


@dataclass(frozen=True)
class PageScore:
    """Normalised counts for one page: tp + fp + fn == 1 when either text has a shingle."""

    tp: float
    fp: float
    fn: float
    extracted: bool
    has_truth: bool

    @property
    def precision(self) -> float:
        return share(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return share(self.tp, self.tp + self.fn)


def score_page(predicted: str, truth: str) -> PageScore:
    predicted_shingles, true_shingles = shingles(predicted), shingles(truth)
    tp = sum((predicted_shingles & true_shingles).values())
    fp = sum((predicted_shingles - true_shingles).values())
    fn = sum((true_shingles - predicted_shingles).values())
    total = tp + fp + fn
    if total:
        tp_n, fp_n, fn_n = tp / total, fp / total, fn / total
    else:
        tp_n = fp_n = fn_n = 0.0
    return PageScore(tp_n, fp_n, fn_n, bool(predicted_shingles), bool(true_shingles))


@dataclass(frozen=True)
class CorpusScore:
    precision: float
    recall: float
    f1: float
    pages: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "f1": round(self.f1, 4),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "pages": self.pages,
        }


def score_corpus(predictions: Mapping[str, str], truths: Mapping[str, str]) -> CorpusScore:
    """Score every page that has a truth; a page missing from `predictions` counts as empty."""
    precisions: list[float] = []
    recalls: list[float] = []
    for page_id, truth in truths.items():
        page = score_page(predictions.get(page_id, ""), truth)
        if page.extracted:
            precisions.append(page.precision)
        if page.has_truth:
            recalls.append(page.recall)
    precision = share(sum(precisions), len(precisions))
    recall = share(sum(recalls), len(recalls))
    f1 = share(2 * precision * recall, precision + recall)
    return CorpusScore(precision, recall, f1, len(truths))


# -- the snippet metric of trafilatura's evaluation set ------------------------------------------

_SPACE = re.compile(r"\s+")


def _spaced(text: str) -> str:
    return _SPACE.sub(" ", text or "").strip()


@dataclass(frozen=True)
class SnippetScore:
    """Counts summed over pages: a "with" snippet found is tp, missing fn; a "without" one found
    is fp, missing tn (as trafilatura's own evaluation counts them)."""

    tp: int
    fp: int
    tn: int
    fn: int
    pages: int

    @property
    def precision(self) -> float:
        return share(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return share(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return share(2 * p * r, p + r)

    @property
    def accuracy(self) -> float:
        total = self.tp + self.fp + self.tn + self.fn
        return share(self.tp + self.tn, total)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "snippet_f1": round(self.f1, 4),
            "snippet_precision": round(self.precision, 4),
            "snippet_recall": round(self.recall, 4),
            "snippet_accuracy": round(self.accuracy, 4),
            "snippet_pages": self.pages,
        }


def score_snippets(
    predictions: Mapping[str, str], segments: Mapping[str, Mapping[str, list[str]]]
) -> SnippetScore:
    """Score every page of `segments` (`{id: {"with": [...], "without": [...]}}`); a page missing
    from `predictions` counts as an empty text."""
    tp = fp = tn = fn = 0
    for page_id, page in segments.items():
        text = _spaced(predictions.get(page_id, ""))
        for snippet in page.get("with") or []:
            if _spaced(snippet) in text:
                tp += 1
            else:
                fn += 1
        for snippet in page.get("without") or []:
            if _spaced(snippet) in text:
                fp += 1
            else:
                tn += 1
    return SnippetScore(tp, fp, tn, fn, len(segments))
