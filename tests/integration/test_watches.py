"""Watches from the command line: add, list, edit, mute, unmute, remove; bad input refused."""

from __future__ import annotations

import pytest

from flows.cli import main
from flows.config.settings import Settings
from flows.store import db


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_watch_lifecycle(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "watch", "add", "kursk", "Kursk", "--email", "a@example.com")
    assert (
        code == 0 and "added watch kursk: Kursk  -> a@example.com  (any language, instant)" in out
    )
    code, out, _ = _run(
        capsys,
        "watch",
        "add",
        "water",
        "المياه",
        "--email",
        "b@example.com",
        "--email",
        "c@example.com",
        "--language",
        "ar",
        "--mode",
        "digest",
        "--digest-hour",
        "9",
    )
    assert code == 0
    assert "water: المياه  -> b@example.com, c@example.com  (ar, digest at 09:00 UTC)" in out

    code, out, _ = _run(
        capsys,
        "watch",
        "edit",
        "kursk",
        "--query",
        '"Kursk region" -football',
        "--email",
        "d@example.com",
        "--mode",
        "digest",
    )
    assert code == 0
    assert (
        'kursk: "Kursk region" -football  -> d@example.com  (any language, digest at 07:00' in out
    )
    assert _run(capsys, "watch", "mute", "kursk")[0] == 0
    _, out, _ = _run(capsys, "watch", "list")
    assert "digest at 07:00 UTC, muted)" in out and out.count("\n") == 2
    _, out, _ = _run(capsys, "watch", "unmute", "kursk")
    assert "muted)" not in out
    assert _run(capsys, "watch", "remove", "kursk")[0] == 0
    _, out, _ = _run(capsys, "watch", "list")
    assert "kursk" not in out and "water" in out
    with db.connect(str(settings.database_url)) as connection:
        recipients = connection.execute("SELECT count(*) AS n FROM watch_recipients").fetchone()
    assert recipients == {"n": 2}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["watch", "add", "x", '"north korea', "--email", "a@example.com"], "unbalanced quote"),
        (["watch", "add", "--email", "a@example.com", "x", "--", "-sport"], "only excludes words"),
        (
            ["watch", "add", "x", "the OR a", "--email", "a@example.com", "--language", "en"],
            "no searchable words",
        ),
        (["watch", "add", "x", "kursk", "--email", "not-an-address"], "not an e-mail address"),
        (["watch", "add", "x", "kursk", "--email", "analyst@example"], "not an e-mail address"),
        (["watch", "add", "x", "kursk or", "--email", "a@example.com"], "OR needs a term"),
        (["watch", "add", "x", "-sport", "--email", "a@example.com"], "only excludes words"),
        (["watch", "add", "x", "the OR a", "--email", "a@example.com"], "no searchable words"),
        (
            ["watch", "add", "x", "kursk", "--email", "a@example.com", "--email", "b@"],
            "'b@' is not an e-mail address",
        ),
        (
            ["watch", "add", "x", "kursk", "--email", "a@example.com", "--language", "xx"],
            "unknown language 'xx'",
        ),
        (
            ["watch", "add", "x", "kursk", "--email", "a@example.com", "--digest-hour", "24"],
            "digest hour must be 0-23",
        ),
        (["watch", "edit", "nobody", "--query", "kursk"], "no watch named 'nobody'"),
        (["watch", "mute", "nobody"], "no watch named 'nobody'"),
    ],
)
def test_bad_input_is_refused_with_reason(
    settings: Settings, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = _run(capsys, *argv)
    assert code == 2
    assert message in err
    _, out, _ = _run(capsys, "watch", "list")
    assert out.startswith("no watches")


def test_duplicate_name_refused(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "watch", "add", "k", "Kursk", "--email", "a@example.com")[0] == 0
    code, _, err = _run(capsys, "watch", "add", "k", "Belgorod", "--email", "a@example.com")
    assert code == 2 and "already exists" in err


def test_exclusions_need_no_double_dash(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-word` is typed as it is read: a query word, unquoted or not, in add and edit."""
    code, out, err = _run(capsys, "watch", "add", "k", "Kursk", "-football", "--email", "a@x.org")
    assert code == 0, err
    assert "k: Kursk -football  -> a@x.org" in out
    code, out, err = _run(capsys, "watch", "edit", "k", "--query", "Belgorod", "-sport")
    assert code == 0, err
    assert "k: Belgorod -sport  -> a@x.org" in out
