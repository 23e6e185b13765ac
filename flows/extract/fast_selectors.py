"""trafilatura's costliest selectors, answered with Python's `re` instead of EXSLT callbacks.

trafilatura writes its boilerplate and main-content selectors as XPath with EXSLT `re:test`.
lxml answers each `re:test` by calling back into Python, once per element and attribute: on the
shared corpus, evaluating these XPaths took about 40% of an extraction's CPU. Each selector
here picks exactly the elements its XPath picks: lxml's C iterator walks the elements of the
XPath's tag test, and Python reads their attributes once and tests them with the regular
expressions read out of trafilatura's own XPath text.

A selector replaces trafilatura's XPath only when that XPath's text hashes to the one it was
written for (trafilatura WRITTEN_FOR, the versions pyproject.toml pins); on any other text it
keeps trafilatura's own, and the first extraction of the process logs a warning naming them
(`active()` says which were replaced). tests/unit/test_fast_selectors.py compares both on
generated attribute mixes and at every call of real extractions, and fails on a trafilatura
not in WRITTEN_FOR.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lxml.etree import Element, XPath, _Element, _ElementTree

__all__ = ["SELECTORS", "WRITTEN_FOR", "FastSelector", "active", "install"]

# The trafilatura releases whose XPath texts these selectors translate (pyproject.toml pins them).
WRITTEN_FOR = ("2.3.1",)

logger = logging.getLogger(__name__)

_RE_TEST = re.compile(r"re:test\((@[\w-]+(?:\|@[\w-]+)?), '([^']*)'(?:, '(\w*)')?\)")


def _first_of(
    element: _Element, first: str, second: str, a: str | None, b: str | None
) -> str | None:
    """XPath's string value of `@first|@second` (their values `a`, `b` already read): the
    attribute written first in the page wins."""
    if a is None or b is None:
        return b if a is None else a
    for key in element.attrib:  # attributes in the order the page wrote them
        if key == first:
            return a
        if key == second:
            return b
    return a  # pragma: no cover - both are among the keys


class RegexTest:
    """One `re:test(@attr[|@attr], 'pattern'[, 'flags'])` of the XPath, in Python.

    Answers are remembered per attribute value: a site's template repeats the same class
    names on every page, and the big alternations cost more than a dictionary look-up.
    An absent attribute (None) never matches (`install` refuses patterns that match "").
    """

    _MEMO_LIMIT = 50_000

    def __init__(self, names: tuple[str, ...], pattern: re.Pattern[str]) -> None:
        self.names = names
        self.pattern = pattern
        self._memo: dict[str, bool] = {}

    def __call__(self, value: str | None) -> bool:
        if value is None:
            return False
        known = self._memo.get(value)
        if known is None:
            known = self.pattern.search(value) is not None
            if len(self._memo) >= self._MEMO_LIMIT:
                self._memo.clear()
            self._memo[value] = known
        return known


def regex_tests(path: str) -> list[RegexTest]:
    """The XPath's `re:test` calls in the order written (flags as lxml's EXSLT reads them)."""
    tests = []
    for attributes, pattern, flags in _RE_TEST.findall(path):
        names = tuple(name.lstrip("@") for name in attributes.split("|"))
        options = re.UNICODE | (re.IGNORECASE if "i" in (flags or "") else 0)
        tests.append(RegexTest(names, re.compile(pattern, options)))
    return tests


class FastSelector:
    """A drop-in for one of trafilatura's XPath objects: called with a tree, returns elements.

    `tags` is the XPath's tag test on `.//*` (None: any element), walked by lxml's C iterator
    (five times cheaper than the same test in XPath); `first_per_parent` mirrors a trailing
    `[1]` on that step (each parent's first match).
    """

    def __init__(
        self,
        original: XPath,
        tags: tuple[str, ...] | None,
        predicate: Callable[[_Element, Sequence[RegexTest]], bool],
        first_per_parent: bool = False,
    ) -> None:
        self.original = original
        self.path = original.path  # trafilatura's code and messages read `.path`
        self.tests = regex_tests(original.path)
        self._tags: tuple[Any, ...] = tags or (Element,)
        self._predicate = predicate
        self._first_per_parent = first_per_parent

    def empty_attribute_matches(self) -> bool:
        """True if a pattern matches the empty string, where an absent attribute would match."""
        return any(test.pattern.search("") is not None for test in self.tests)

    def __call__(self, tree: Any, **_: Any) -> list[_Element]:
        if isinstance(tree, _ElementTree):  # from the document node, `.//*` takes the root too
            elements = tree.getroot().iter(*self._tags)
        else:
            elements = tree.iterdescendants(*self._tags)
        predicate, tests = self._predicate, self.tests
        found = [element for element in elements if predicate(element, tests)]
        if not self._first_per_parent or len(found) < 2:
            return found
        chosen = set(found)
        return [e for e in found if not any(s in chosen for s in e.itersiblings(preceding=True))]


def _no_h1(element: _Element) -> bool:
    return element.find(".//h1") is None


# Predicates: `t` holds the XPath's re:test calls in the order written; each comment says what
# those read. They read each attribute once (most elements have none of them).


def _overall_discard_tags(element: _Element, t: Sequence[RegexTest]) -> bool:
    # t: @id|@class, @id, @class
    get = element.get
    ident, cls = get("id"), get("class")
    return (
        get("data-lp-replacement-content") is not None
        or "nav" in (get("role") or "").replace("N", "n")
        or "MostPopularStories" in (get("data-component") or "")
        or (
            (ident is not None or cls is not None)
            and (t[0](_first_of(element, "id", "class", ident, cls)) or t[1](ident) or t[2](cls))
        )
    )


def _overall_discard_hidden(element: _Element, t: Sequence[RegexTest]) -> bool:
    # t: @id|@style, @id, @class
    get = element.get
    ident, cls, style = get("id"), get("class"), get("style")
    if ident is None and cls is None and style is None:
        return get("aria-hidden") == "true"  # type: ignore[no-any-return]
    return (
        cls == "comments-title"
        or (_first_of(element, "id", "class", ident, cls) or "").startswith("reply-")
        or t[0](_first_of(element, "id", "style", ident, style))
        or (style is not None and ("display:none" in style or "display: none" in style))
        or t[1](ident)
        or t[2](cls)
        or get("aria-hidden") == "true"
    )


def _raw_tree_prune(element: _Element, t: Sequence[RegexTest]) -> bool:
    # t: @id, @class (the containers), then @id, @class (those kept even around an h1)
    ident, cls = element.get("id"), element.get("class")
    return (t[0](ident) or t[1](cls)) and (_no_h1(element) or t[2](ident) or t[3](cls))


def _remove_comments(element: _Element, t: Sequence[RegexTest]) -> bool:
    # t: @id, @class
    return t[0](element.get("id")) or t[1](element.get("class"))


def _remove_comments_and_lists(element: _Element, t: Sequence[RegexTest]) -> bool:
    # t: @id, @class (any box), then @id, @class (what makes an ol or ul a comment list)
    ident, cls = element.get("id"), element.get("class")
    return (t[0](ident) or t[1](cls)) and (
        element.tag not in ("ol", "ul") or t[2](ident) or t[3](cls)
    )


def _share_buttons(element: _Element, t: Sequence[RegexTest]) -> bool:
    return "elementor-share-buttons" in (element.get("class") or "")


def _teaser(element: _Element, t: Sequence[RegexTest]) -> bool:
    get = element.get
    return "teaser" in (get("id") or "").replace("T", "t") or "teaser" in (
        get("class") or ""
    ).replace("T", "t")


def _caption(element: _Element, t: Sequence[RegexTest]) -> bool:
    return "caption" in (element.get("id") or "") or "caption" in (element.get("class") or "")


def _bottom_or_link(element: _Element, t: Sequence[RegexTest]) -> bool:
    # t: @id|@class, @id|@class
    get = element.get
    ident, cls = get("id"), get("class")
    if ident is not None or cls is not None:
        first = _first_of(element, "id", "class", ident, cls)
        if t[0](first) or t[1](first):
            return True
    return "border" in (get("style") or "")


def _article_body(element: _Element, t: Sequence[RegexTest]) -> bool:
    # t: @id, @class
    get = element.get
    ident, cls = get("id"), get("class")
    return (
        cls == "post"
        or cls == "entry"
        or get("itemprop") == "articleBody"
        or ident == "articleContent"
        or t[0](ident)
        or t[1](cls)
    )


_BOX_TAGS = ("div", "item", "list", "p", "section", "span")


@dataclass(frozen=True)
class Spec:
    """Where a selector goes in trafilatura and which XPath text it was written for."""

    table: str  # the list's name in trafilatura.xpaths
    index: int
    sha256: str  # of the XPath's text
    tags: tuple[str, ...] | None  # None: any element
    predicate: Callable[[_Element, Sequence[RegexTest]], bool]
    first_per_parent: bool = False


SELECTORS = (
    Spec(
        "OVERALL_DISCARD_XPATH",
        0,
        "a837e58a1b1ea116ce1dada53d856dec093fe9f64b37dc503698e30f96a87dd3",
        _BOX_TAGS,
        _overall_discard_tags,
    ),
    Spec(
        "OVERALL_DISCARD_XPATH",
        1,
        "c1d5b70b8cd03783545d6b715c69062ae6967c222b2d8f4e2399762362d426c0",
        None,
        _overall_discard_hidden,
    ),
    Spec(
        "RAW_TREE_PRUNE_XPATH",
        0,
        "01e7c660fd6406f29932819d2dbd7530e2f3bdac11dde83565e977e391303444",
        ("div", "section", "aside"),
        _raw_tree_prune,
    ),
    Spec(
        "REMOVE_COMMENTS_XPATH",
        0,
        "5d97216ca15d05582de538174e876b27626b7a166810320152081c7e26bb5ca2",
        ("div", "list", "section", "details"),
        _remove_comments,
    ),
    Spec(
        "REMOVE_COMMENTS_AND_LISTS_XPATH",
        0,
        "9cc18d34e6e2d258172b5df02bc44e578c95ef709b8e06722846c7a410c3a46f",
        ("div", "list", "section", "details", "ol", "ul"),
        _remove_comments_and_lists,
    ),
    Spec(
        "RAW_TREE_PRUNE_XPATH",
        1,
        "3c7afe92279543d5530365aa7b921c6e5b51243033e5622cae1dc85e08976f87",
        ("div", "section", "aside"),
        _share_buttons,
    ),
    Spec(
        "TEASER_DISCARD_XPATH",
        0,
        "ebb02f066626551dbb0222a6cb631691f6ccacf0477c1381263f112b0bc9cdfa",
        _BOX_TAGS,
        _teaser,
    ),
    Spec(
        "DISCARD_IMAGE_ELEMENTS",
        0,
        "cb1ab981e44913f706048bad10e9f027314ffccb36c56ffc66c8ff5e1e340c58",
        _BOX_TAGS,
        _caption,
    ),
    Spec(
        "PRECISION_DISCARD_XPATH",
        1,
        "53d31ea1df47920acee695b26b87b1ce36f16913686e547edc2ae0ba6efab5f7",
        _BOX_TAGS,
        _bottom_or_link,
    ),
    Spec(
        "BODY_XPATH",
        0,
        "caaa561ceca17064773e97bf7c610f55e6c6a64a2477328c060642912d489b3b",
        ("article", "div", "main", "section"),
        _article_body,
        first_per_parent=True,
    ),
)

_tried = False
# "xpath" keeps trafilatura's own selectors (to compare, or to rule these out).
SWITCH = "NEWSWATCH_TRAFILATURA_SELECTORS"


def trafilaturas_own() -> bool:
    """True when the environment asks for trafilatura's own selectors and parser."""
    return os.environ.get(SWITCH, "").strip().lower() == "xpath"


def path_digest(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8")).hexdigest()


def install() -> None:
    """Put the selectors in trafilatura's tables, once per process (`active()` says which went
    in); every extraction calls this, so after the first it returns at once. Selectors whose
    XPath text is not the one translated are left out, with one warning for the process."""
    global _tried
    if _tried:
        return
    _tried = True
    if trafilaturas_own():
        return
    import trafilatura
    import trafilatura.xpaths

    kept = []
    for spec in SELECTORS:
        table = getattr(trafilatura.xpaths, spec.table, None)
        original = (
            table[spec.index] if isinstance(table, list) and len(table) > spec.index else None
        )
        selector = None
        if isinstance(original, XPath) and path_digest(original.path) == spec.sha256:
            selector = FastSelector(original, spec.tags, spec.predicate, spec.first_per_parent)
        if (
            isinstance(table, list)
            and selector is not None
            and not selector.empty_attribute_matches()
        ):
            table[spec.index] = selector
        else:
            kept.append(f"{spec.table}[{spec.index}]")
    if kept:
        logger.warning(
            "trafilatura %s is not the one the fast selectors were written for (%s): %s keep"
            " trafilatura's own XPath (same results, slower extraction)",
            getattr(trafilatura, "__version__", "?"),
            ", ".join(WRITTEN_FOR),
            ", ".join(kept),
        )


def active() -> list[str]:
    """The trafilatura table entries this process now answers in Python."""
    import trafilatura.xpaths

    found = []
    for spec in SELECTORS:
        table = getattr(trafilatura.xpaths, spec.table, [])
        if len(table) > spec.index and isinstance(table[spec.index], FastSelector):
            found.append(f"{spec.table}[{spec.index}]")
    return found
