"""CLI: `newswatch web`, `newswatch user add|password`, `newswatch watch test`, `watch add --backfill`."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

from flows.config.settings import Settings


def register(commands: Any, bench: Any) -> None:
    web = commands.add_parser("web", help="serve the web app (recipients, editors, archive)")
    web.add_argument("--host", help="address to bind (default NEWSWATCH_WEB_HOST, 127.0.0.1)")
    web.add_argument("--port", type=int, help="port (default NEWSWATCH_WEB_PORT, 8790)")
    web.set_defaults(handler=_web_command)

    user = commands.add_parser("user", help="editors' accounts for the web app")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = user_commands.add_parser("add", help="add an editor (asks for the password)")
    add.add_argument("name")
    add.add_argument("--email", required=True, metavar="ADDR")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    password = user_commands.add_parser("password", help="set an editor's password")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true")
    user.set_defaults(handler=_user_command)

    watch = commands.choices["watch"]
    watch_commands = next(
        action for action in watch._actions if isinstance(action, argparse._SubParsersAction)
    )
    test = watch_commands.add_parser(
        "test", help="what a query would match among stored stories (24 h / 7 d / 30 d, newest)"
    )
    test.add_argument("query")
    test.add_argument("--language", default="any", metavar="CODE")
    test.set_defaults(handler=_watch_test_command)
    watch_add = watch_commands.choices["add"]
    watch_add.add_argument(
        "--backfill",
        metavar="SPAN",
        help="alert at once on matching stories stored in the last SPAN (24h, 7d, 2w)",
    )
    watch_add.set_defaults(handler=_watch_add_command)

    from flows.bench import archive

    archive.register(commands, bench)


def _web_command(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from flows.web.app import create_app
    from flows.web.server import install_log_redaction

    host = args.host or settings.web_host
    port = settings.web_port if args.port is None else args.port
    app = create_app(settings)
    install_log_redaction()
    print(f"newswatch web app on http://{host}:{port}/ (links in e-mails: {settings.public_url})")
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the passwords differ")
    return first


def _user_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.store import db
    from flows.web import accounts

    password = _read_password(args.password_stdin)
    with db.connect(db.prepare(settings)) as connection:
        if args.user_command == "add":
            editor = accounts.add_editor(connection, args.name, args.email, password)
            print(f"added editor {editor.name} <{editor.email}>")
        else:
            accounts.set_password(connection, args.name, password)
            print(f"password of {args.name} changed")
    return 0


def _watch_test_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.match import search
    from flows.store import db

    with db.connect(db.prepare(settings)) as connection:
        checked = search.check_query(
            connection, args.query, None if args.language == "any" else args.language
        )
        found = search.preview(connection, checked, datetime.now(UTC))
    counts = found.counts
    print(
        f"{checked.query}: {counts['24h']} stories in 24 h, {counts['7d']} in 7 days, "
        f"{counts['30d']} in 30 days"
    )
    for hit in found.newest:
        snippet = search.plain_snippet(hit.snippet)
        moment = (hit.published_at or hit.fetched_at).strftime("%Y-%m-%d %H:%M")
        print(f"  {moment}  {' '.join(hit.title.split())}  ({hit.publisher or hit.source})")
        print(f"      {snippet}")
    return 0


def _watch_add_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows import cli
    from flows.match.backfill import backfill, parse_span
    from flows.match.watches import get_watch
    from flows.store import db

    span = parse_span(args.backfill) if args.backfill else None  # refused before adding
    status = cli._watch_command(args, settings)
    if span is None or status:
        return status
    with db.connect(db.prepare(settings)) as connection:
        result = backfill(connection, get_watch(connection, args.name.strip()), span)
    print(
        f"backfill {args.backfill}: {result.alerts_new} stories alerted, "
        f"{result.deliveries_new} deliveries queued for the next run"
    )
    return 0
