"""The sources file: the shipped one loads; broken ones say which file, source and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.config.settings import REPO_ROOT
from flows.config.sources import SourcesFileError, load_sources

VALID_BLOCK = """
[[source]]
name = "example"
start_urls = ["https://news.example.org/"]
article_url_patterns = ['^/story/\\d+$']
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_sources_file_names_daily8_real_urls() -> None:
    (daily8,) = load_sources(REPO_ROOT / "sources.toml", ["daily8"])
    assert daily8.start_urls == ["https://www.daily8.com/en"]
    assert daily8.is_article("https://www.daily8.com/en/article/30862da592e9e7c86265a045e0174cf1")
    assert daily8.is_article("https://www.daily8.com/article/30862da592e9e7c86265a045e0174cf1")
    assert not daily8.is_article("https://www.daily8.com/en/hashtag/Saco")
    assert daily8.is_listing("https://www.daily8.com/en/hashtag/Saco")
    assert "Related Articles" in daily8.cut_markers and "أخبار ذات صلة" in daily8.cut_markers


def test_rebased_source_keeps_paths_and_moves_host() -> None:
    (daily8,) = load_sources(REPO_ROOT / "sources.toml", ["daily8"])
    local = daily8.rebased("http://127.0.0.1:8123")
    assert local.start_urls == ["http://127.0.0.1:8123/en"]
    assert local.domains() == ["127.0.0.1"]
    assert local.cut_markers == daily8.cut_markers


def test_not_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[[source]\nname = ")
    with pytest.raises(SourcesFileError, match=r"sources\.toml: not valid TOML"):
        load_sources(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourcesFileError, match="not found"):
        load_sources(tmp_path / "absent.toml")


def test_invalid_field_names_file_source_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        VALID_BLOCK
        + """
[[source]]
name = "broken"
start_urls = ["not a url"]
article_url_patterns = ['([unclosed']
max_pages = 0
""",
    )
    with pytest.raises(SourcesFileError) as raised:
        load_sources(path)
    message = str(raised.value)
    assert str(path) in message
    assert "source 'broken', field start_urls" in message
    assert "source 'broken', field article_url_patterns" in message
    assert "source 'broken', field max_pages" in message
    assert "example" not in message


def test_unknown_field_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, VALID_BLOCK + 'artcle_url_patterns = ["x"]\n')
    with pytest.raises(SourcesFileError, match="source 'example', field artcle_url_patterns"):
        load_sources(path)


def test_duplicate_and_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(SourcesFileError, match="defined twice"):
        load_sources(write(tmp_path, VALID_BLOCK + VALID_BLOCK))
    with pytest.raises(SourcesFileError, match="no source named nope"):
        load_sources(write(tmp_path, VALID_BLOCK), ["nope"])
