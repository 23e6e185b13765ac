"""The corpus served over real HTTP on loopback, with listing pages and repeated copies."""

from __future__ import annotations

import gzip
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from flows.testsite.corpus import CorpusError, CorpusSite, load_ground_truth, load_segments
from tests.support.corpus_fixture import ARTICLES, write_corpus


def get(url: str, gzip_ok: bool = False) -> tuple[int, dict[str, str], bytes]:
    headers = {"Accept-Encoding": "gzip"} if gzip_ok else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_listings_link_every_copy_and_pages_are_served(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    with CorpusSite(corpus, repeat=3) as site:
        assert site.page_count == 9
        _, _, home = get(site.base_url + "/")
        listings = re.findall(rb'href="(/list/\d+)"', home)
        assert listings == [b"/list/1"]
        _, _, listing = get(site.base_url + "/list/1")
        links = set(re.findall(rb'href="(/copy/\d+/[^"]+)"', listing))
        assert len(links) == 9
        assert b"/copy/2/orchard-2" in links

        status, headers, plain = get(site.base_url + "/copy/2/orchard-2")
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert b"A late frost in April thinned the blossoms" in plain
        status, headers, packed = get(site.base_url + "/copy/0/orchard-2", gzip_ok=True)
        assert headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(packed) == plain

        assert get(site.base_url + "/copy/3/orchard-2")[0] == 404  # only copies 0..2
        assert get(site.base_url + "/copy/0/unknown")[0] == 404
        assert get(site.base_url + "/list/2")[0] == 404
        assert get(site.base_url + "/robots.txt")[0] == 200


def test_layout_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no html/ folder"):
        CorpusSite(tmp_path)
    (tmp_path / "html").mkdir()
    with pytest.raises(CorpusError, match=r"no ground-truth\.json or segments\.json"):
        CorpusSite(tmp_path)
    (tmp_path / "ground-truth.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(CorpusError, match="html/ holds no"):
        CorpusSite(tmp_path)
    with pytest.raises(CorpusError, match="expected an object"):
        load_ground_truth(tmp_path)


def test_a_corpus_of_snippets_only_is_a_corpus(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", ("segments.json",))
    with CorpusSite(corpus) as site:
        assert site.page_count == len(ARTICLES)
    segments = load_segments(corpus)
    assert set(segments) == set(ARTICLES)
    assert segments["river-1"]["with"][0].startswith("The town engineers opened")
    assert segments["river-1"]["without"] == ["Most read", "All rights reserved."]


def test_ground_truth_bodies(tmp_path: Path) -> None:
    truths = load_ground_truth(write_corpus(tmp_path / "corpus"))
    assert set(truths) == set(ARTICLES)
    assert truths["river-1"].startswith("The town engineers opened")
