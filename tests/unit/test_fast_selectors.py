"""flows.extract.fast_selectors picks exactly the elements trafilatura's XPath selectors pick."""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import trafilatura
import trafilatura.xpaths
from packaging.requirements import Requirement
from packaging.version import Version
from trafilatura.utils import load_html

from flows.config.settings import REPO_ROOT
from flows.config.sources import Source, load_sources
from flows.extract import fast_selectors
from flows.extract.article import TRAFILATURA_OPTIONS, extract_article
from flows.records import FetchedPage

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "sources"
# The shared corpus, where present (CI has no ../shared): more real pages to compare on.
SHARED_CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "scrapinghub"
EVERY_ENTRY = {f"{spec.table}[{spec.index}]" for spec in fast_selectors.SELECTORS}


def _installed() -> list[tuple[list[Any], int, fast_selectors.FastSelector]]:
    """(table, index, selector) of each entry of trafilatura's tables answered in Python."""
    fast_selectors.install()
    found = []
    for spec in fast_selectors.SELECTORS:
        table = getattr(trafilatura.xpaths, spec.table)
        if isinstance(table[spec.index], fast_selectors.FastSelector):
            found.append((table, spec.index, table[spec.index]))
    return found


def _selectors() -> list[fast_selectors.FastSelector]:
    return [selector for _, _, selector in _installed()]


@contextmanager
def trafilatura_own_selectors() -> Iterator[None]:
    """trafilatura's XPath objects back in their tables for the duration."""
    swapped = _installed()
    for table, index, selector in swapped:
        table[index] = selector.original
    try:
        yield
    finally:
        for table, index, selector in swapped:
            table[index] = selector


def test_installed_trafilatura_is_one_the_selectors_were_written_for() -> None:
    """Fails on any other trafilatura: there the selectors switch themselves off and every test
    below would compare trafilatura with itself. Translate the changed XPaths (or drop their
    selectors), then add the version to WRITTEN_FOR and to pyproject.toml's pin."""
    assert trafilatura.__version__ in fast_selectors.WRITTEN_FOR
    fast_selectors.install()
    assert set(fast_selectors.active()) == EVERY_ENTRY
    for spec in fast_selectors.SELECTORS:
        entry = getattr(trafilatura.xpaths, spec.table)[spec.index]
        assert fast_selectors.path_digest(entry.original.path) == spec.sha256


def test_pyproject_pins_the_versions_the_selectors_were_written_for() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (pin,) = [
        Requirement(line)
        for line in project["project"]["dependencies"]
        if Requirement(line).name == "trafilatura"
    ]
    written_for = {Version(v) for v in fast_selectors.WRITTEN_FOR}
    neighbours = set()
    for version in written_for:
        major, minor, micro = version.release[:3]
        neighbours |= {Version(f"{major}.{minor}.{micro + 1}"), Version(f"{major}.{minor + 1}")}
        neighbours |= {Version(f"{major + 1}.0"), Version(f"{version}.post1")}
        if micro:
            neighbours.add(Version(f"{major}.{minor}.{micro - 1}"))
    for version in written_for | neighbours:
        assert pin.specifier.contains(version) == (version in written_for), version


def test_a_changed_xpath_keeps_trafilaturas_own_and_warns_once() -> None:
    """A trafilatura whose XPath text differs (as another release's would): that entry stays
    trafilatura's, the others are replaced, and the process logs one warning naming it."""
    script = """
import logging, sys
from lxml.etree import XPath
import trafilatura.xpaths as x
from flows.extract import fast_selectors
logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(message)s")
x.BODY_XPATH[0] = XPath(x.BODY_XPATH[0].path + "[1]")
fast_selectors.install()
fast_selectors.install()
print(type(x.BODY_XPATH[0]).__name__, len(fast_selectors.active()))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    warnings = [line for line in result.stdout.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1, result.stdout
    assert "BODY_XPATH[0]" in warnings[0] and "OVERALL_DISCARD_XPATH" not in warnings[0]
    assert result.stdout.splitlines()[-1] == f"XPath {len(EVERY_ENTRY) - 1}"


# -- generated pages: every token of the patterns, in attribute orders and nestings -------------

_TAGS = ["div", "item", "list", "p", "section", "span", "aside", "details", "ol", "ul"]
_TAGS += ["article", "main", "header", "li", "a", "h2"]
_LITERALS = ["comments-title", "reply-box", "reply-", "hidden", "display:none", "display: none"]
_LITERALS += ["border", "teaser", "Teaser", "caption", "elementor-share-buttons", "nav", "Nav"]
_LITERALS += ["MostPopularStories", "post", "entry", "articleBody", "articleContent", "bottom"]
_LITERALS += ["link", "x-bottom", "bottom-y", "a-link", "link-b", "mvp-post-add-box"]
_LITERALS += ["infinite-scroll", "comment", "Comment", "commentary", "disqus_thread"]
_LITERALS += ["dsq-comments", "primary", "fulltext"]


def _pattern_tokens() -> list[str]:
    """Pieces of every alternation, with the regex syntax stripped: near and exact matches."""
    tokens = set(_LITERALS)
    for selector in _selectors():
        for test in selector.tests:
            for piece in test.pattern.pattern.split("|"):
                plain = "".join(c for c in piece if c.isalnum() or c in "-_ ")
                if plain.strip():
                    tokens.add(plain.strip())
    return sorted(tokens)


def _attribute_value(rng: random.Random, tokens: list[str]) -> str:
    words = [rng.choice(tokens) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.3:
        words = [
            rng.choice(["", "x", "my-", "Big"]) + w + rng.choice(["", "-1", "s", "_a"])
            for w in words
        ]
    return rng.choice([" ", "  ", "-", ""]).join(words)


def _element(rng: random.Random, tokens: list[str], depth: int) -> str:
    tag = rng.choice(_TAGS)
    attributes = []
    for name in rng.sample(
        ["id", "class", "style", "role", "aria-hidden", "data-component", "itemprop"],
        rng.randint(0, 4),
    ):
        if name == "aria-hidden":
            value = rng.choice(["true", "false", "TRUE"])
        elif name == "role":
            value = rng.choice(["navigation", "Navigation", "main", "article", "nav"])
        else:
            value = _attribute_value(rng, tokens)
        attributes.append(f'{name}="{value}"')
    if rng.random() < 0.05:
        attributes.append(
            rng.choice(["data-lp-replacement-content", 'data-lp-replacement-content=""'])
        )
    rng.shuffle(attributes)
    children = ""
    if depth < 4:
        children = "".join(_element(rng, tokens, depth + 1) for _ in range(rng.randint(0, 3)))
    if rng.random() < 0.1:
        children += "<h1>Heading</h1>"
    return f"<{tag} {' '.join(attributes)}>text {depth}{children}</{tag}>"


@pytest.mark.parametrize("seed", range(8))
def test_selectors_agree_with_trafilatura_on_generated_pages(seed: int) -> None:
    rng = random.Random(seed)
    tokens = _pattern_tokens()
    body = "".join(_element(rng, tokens, 0) for _ in range(60))
    tree = load_html(f"<html><head><title>t</title></head><body>{body}</body></html>")
    assert tree is not None
    selectors = _selectors()
    assert len(selectors) == len(fast_selectors.SELECTORS)
    matched_somewhere = 0
    for selector in selectors:
        for context in (tree, tree.getroottree(), tree.find("body")):
            expected = selector.original(context)
            assert selector(context) == expected, selector.path
            matched_somewhere += bool(expected)
    assert matched_somewhere >= len(selectors)  # the generated pages exercise the selectors


# -- real extraction: the same bodies, call by call ---------------------------------------------


def _pages() -> list[tuple[str, bytes, Source | None]]:
    sources = {
        source.name: source
        for path in (REPO_ROOT / "sources.toml", REPO_ROOT / "flows" / "testsite" / "sources.toml")
        for source in load_sources(path)
    }
    pages: list[tuple[str, bytes, Source | None]] = [
        (folder.name, (folder / "page.html").read_bytes(), sources.get(folder.name))
        for folder in sorted(FIXTURES.iterdir())
    ]
    if (SHARED_CORPUS / "ground-truth.json").exists():
        ids = sorted(json.loads((SHARED_CORPUS / "ground-truth.json").read_text()))
        for page_id in ids:
            html = gzip.decompress((SHARED_CORPUS / "html" / f"{page_id}.html.gz").read_bytes())
            pages.append((page_id, html, None))
    return pages


class _Both:
    """Calls trafilatura's XPath and the selector on the same tree; records any difference."""

    def __init__(self, selector: fast_selectors.FastSelector, differences: list[str]) -> None:
        self.selector, self.path, self.differences = selector, selector.path, differences
        self.calls = 0

    def __call__(self, tree: object, **_: object) -> list:
        expected = self.selector.original(tree)
        self.calls += 1
        if self.selector(tree) != expected:
            self.differences.append(self.path)
        return expected


@pytest.mark.integration  # every page of the shared corpus: tens of seconds
def test_selectors_agree_at_every_call_of_real_extractions() -> None:
    """Our fixture pages (and the shared corpus where present), in the pipeline's extraction
    and in trafilatura's other modes, with both selectors answering every call."""
    differences: list[str] = []
    wrappers = _installed()
    assert len(wrappers) == len(fast_selectors.SELECTORS)
    boths = [_Both(selector, differences) for _, _, selector in wrappers]
    try:
        for (table, index, _), both in zip(wrappers, boths, strict=True):
            table[index] = both
        for _, html, _source in _pages():
            text = html.decode("utf-8", errors="replace")
            for options in (
                TRAFILATURA_OPTIONS,
                {"favor_recall": True},
                {"include_comments": True},
            ):
                trafilatura.extract(text, **options)
    finally:
        for table, index, selector in wrappers:
            table[index] = selector
    assert differences == []
    assert all(both.calls for both in boths)


@pytest.mark.integration  # every page of the shared corpus: tens of seconds
def test_pipeline_bodies_are_the_same_with_trafilaturas_own_selectors() -> None:
    assert len(_installed()) == len(fast_selectors.SELECTORS)  # else both sides are trafilatura's
    now = datetime(2026, 11, 28, tzinfo=UTC)
    generic = Source(
        name="any",
        start_urls=["http://127.0.0.1/"],
        article_url_patterns=["/a/"],
        min_body_chars=1,
    )
    compared = 0
    for name, html, source in _pages():
        page = FetchedPage(
            source=name, url=f"http://127.0.0.1/a/{name}", status=200, fetched_at=now, body=html
        )
        fast = extract_article(page, source or generic)
        with trafilatura_own_selectors():
            own = extract_article(page, source or generic)
        assert (fast.title, fast.body, fast.story_keys) == (own.title, own.body, own.story_keys)
        compared += 1
    assert compared >= 3


def run_with_switch(script: str) -> list[str]:
    """What `script` prints, run in a fresh interpreter with trafilatura's own selectors asked
    for (the switch is read once per process)."""
    environment = dict(os.environ, **{fast_selectors.SWITCH: "xpath"})
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO_ROOT,
        check=True,
    )
    return result.stdout.split()


def test_switch_keeps_trafilaturas_own_selectors() -> None:
    script = (
        "from flows.extract import fast_selectors; import trafilatura.xpaths as x;"
        "fast_selectors.install();"
        "print(fast_selectors.active(), type(x.OVERALL_DISCARD_XPATH[0]).__name__)"
    )
    assert run_with_switch(script) == ["[]", "XPath"]


def test_importing_the_extraction_options_leaves_trafilatura_bare() -> None:
    """The benchmark's bare trafilatura imports TRAFILATURA_OPTIONS from flows.extract.article."""
    script = (
        "from flows.extract.article import TRAFILATURA_OPTIONS; from flows.extract import fast_selectors;"
        "print(fast_selectors.active())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert result.stdout.strip() == "[]"
