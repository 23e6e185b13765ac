"""The `newswatch` command: run the monitor, try the demo, manage watches."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from flows.config.settings import Settings

# Modules that add their own subcommands: each has `register(commands, bench) -> None`, where
# `commands` holds top-level commands and `bench` the `newswatch bench` ones; a parser it adds
# sets `handler=callable(args, settings) -> int` with set_defaults.
COMMAND_MODULES: tuple[str, ...] = (
    "flows.bench.incremental",
    "flows.stack.commands",
    "flows.bench.alerts",
    "flows.bench.pipeline",
    "flows.bench.scale",
    "flows.web.commands",
)

EPILOG = """\
Configuration comes from the environment: DATABASE_URL (unset: an embedded PostgreSQL under the
data directory), NEWSWATCH_DATA_DIR, NEWSWATCH_SOURCES_FILE, NEWSWATCH_SMTP_HOST / _PORT /
_SECURITY (starttls|ssl|none) / _USERNAME / _PASSWORD, NEWSWATCH_MAIL_FROM. Without an SMTP host,
alert e-mails are written as .eml files to the data directory's outbox folder. PREFECT_API_URL
points runs at a Prefect server; unset, a temporary local Prefect API is started per command.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newswatch",
        description="Watch news aggregators, extract and deduplicate articles, e-mail keyword alerts.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="run the whole pipeline once against the bundled Daily8-shaped test site"
    )
    demo.add_argument("--json", type=Path, metavar="FILE", help="write the run summary here")
    demo.add_argument(
        "--port",
        type=int,
        default=None,
        help="test site port (default: NEWSWATCH_DEMO_SITE_PORT, 8793; any free one if taken)",
    )
    demo.set_defaults(handler=_demo_command)

    run = commands.add_parser("run", help="run the monitoring flow once over the sources file")
    run.add_argument("--sources", type=Path, metavar="FILE", help="sources file (TOML)")
    run.add_argument(
        "--source",
        action="append",
        dest="source_names",
        metavar="NAME",
        help="only this source (repeatable; default: all)",
    )
    run.add_argument("--origin", metavar="URL", help="fetch the sources from this origin instead")
    run.add_argument("--json", type=Path, metavar="FILE", help="write the run summary here")
    run.set_defaults(handler=_run_command)

    watch = commands.add_parser("watch", help="manage keyword watches")
    watch.set_defaults(handler=_watch_command)
    watch_commands = watch.add_subparsers(dest="watch_command", required=True, metavar="ACTION")
    add = watch_commands.add_parser(
        "add",
        help="add a watch: web-search syntax, e.g. '\"north korea\" -sport', 'Kursk OR Belgorod'",
    )
    add.add_argument("name")
    add.add_argument("query")
    _watch_options(add, adding=True)
    edit = watch_commands.add_parser("edit", help="change a watch (only what is given)")
    edit.add_argument("name")
    edit.add_argument("--query", help="new query, web-search syntax")
    _watch_options(edit, adding=False)
    watch_commands.add_parser("list", help="list watches")
    for action, text in (("mute", "stop alerts of a watch"), ("unmute", "resume a muted watch")):
        watch_commands.add_parser(action, help=text).add_argument("name")
    remove = watch_commands.add_parser("remove", help="remove a watch")
    remove.add_argument("name")

    bench = commands.add_parser("bench", help="benchmarks: they print numbers, --json writes them")
    bench_commands = bench.add_subparsers(dest="bench_command", required=True, metavar="BENCH")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(commands, bench_commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    try:
        return int(args.handler(args, settings))
    except (ValueError, KeyError) as exc:
        print(f"newswatch: error: {exc}", file=sys.stderr)
        return 2


def _watch_options(parser: argparse.ArgumentParser, adding: bool) -> None:
    parser.add_argument(
        "--email",
        action="append",
        required=adding,
        metavar="ADDR",
        help="who gets the alerts (repeatable)" + ("" if adding else "; replaces the list"),
    )
    parser.add_argument(
        "--language",
        metavar="CODE",
        help="stem the query in this language only (en, ar, de, ...; 'any': each article's own)",
    )
    parser.add_argument(
        "--mode",
        choices=("instant", "digest"),
        default="instant" if adding else None,
        help="instant: an e-mail per run with matches; digest: at most one a day",
    )
    parser.add_argument(
        "--digest-hour",
        type=int,
        default=7 if adding else None,
        metavar="H",
        help="UTC hour (0-23) from which the daily digest is sent (default 7)",
    )


def _describe(watch: Any) -> str:
    language = watch.language or "any language"
    mode = f"digest at {watch.digest_hour:02d}:00 UTC" if watch.mode == "digest" else "instant"
    muted = ", muted" if watch.muted else ""
    return (
        f"{watch.name}: {watch.query}  -> {', '.join(watch.recipients)}"
        f"  ({language}, {mode}{muted})"
    )


def _watch_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.match.watches import (
        add_watch,
        edit_watch,
        list_watches,
        remove_watch,
        set_muted,
    )
    from flows.store import db

    with db.connect(db.prepare(settings)) as connection:
        action = args.watch_command
        if action == "add":
            watch = add_watch(
                connection,
                args.name,
                args.query,
                args.email,
                language=args.language,
                mode=args.mode,
                digest_hour=args.digest_hour,
            )
            print(f"added watch {_describe(watch)}")
        elif action == "edit":
            watch = edit_watch(
                connection,
                args.name,
                query=args.query,
                emails=args.email,
                language=args.language,
                mode=args.mode,
                digest_hour=args.digest_hour,
            )
            print(f"changed watch {_describe(watch)}")
        elif action in ("mute", "unmute"):
            watch = set_muted(connection, args.name, action == "mute")
            print(f"{action}d watch {_describe(watch)}")
        elif action == "remove":
            remove_watch(connection, args.name)
            print(f"removed watch {args.name!r}")
        else:
            watches = list_watches(connection)
            if not watches:
                print("no watches; add one with: newswatch watch add NAME QUERY --email ADDR")
            for watch in watches:
                print(_describe(watch))
    return 0


def _run_flow(settings: Settings, **parameters: Any) -> dict[str, Any]:
    from flows.orchestration.prefect_env import configure_prefect_environment

    configure_prefect_environment(settings)
    from flows.flow import monitor

    summary: dict[str, Any] = monitor(**parameters)
    return summary


def _run_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.config.sources import load_sources

    # Fail before Prefect starts: a bad sources file is the user's to fix, not a flow failure.
    load_sources(args.sources or settings.sources_file, args.source_names)
    summary = _run_flow(
        settings,
        sources_file=str(args.sources) if args.sources else None,
        source_names=args.source_names,
        origin=args.origin,
    )
    _report(summary, args.json)
    return 0


def _demo_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.demo import DEMO_SCRAPY_SETTINGS, DEMO_SOURCE, ensure_demo_watches
    from flows.testsite import TestSite

    created = ensure_demo_watches(settings)
    if created:
        print(f"created demo watches: {', '.join(created)}")
    # A stable address lets a rerun be incremental (known URLs, 304s), as against a real site.
    port = settings.demo_site_port if args.port is None else args.port
    try:
        site = TestSite(port=port).start()
    except OSError:
        site = TestSite(port=0).start()
    try:
        print(f"test site serving on {site.base_url}")
        summary = _run_flow(
            settings,
            sources_file=str(settings.sources_file),
            source_names=[DEMO_SOURCE],
            origin=site.base_url,
            scrapy_settings=DEMO_SCRAPY_SETTINGS,
        )
    finally:
        site.stop()
    _report(summary, args.json)
    return 0


def _report(summary: dict[str, Any], json_path: Path | None) -> None:
    errors = summary.get("errors") or []
    lines = [
        "",
        "newswatch run summary",
        f"  pages fetched       {summary['pages_fetched']}",
        f"  articles stored     {summary['articles_new']}",
        f"  duplicates skipped  {summary['articles_duplicate']}",
        f"  watches matched     {summary['watches_matched']}",
        f"  alerts new          {summary['alerts_new']}",
        f"  e-mails sent        {summary['emails_sent']}"
        + (f"  (written to {summary['outbox_dir']})" if summary.get("outbox_dir") else ""),
        f"  errors              {len(errors)}",
    ]
    skipped = summary.get("skipped") or {}
    if skipped:
        details = ", ".join(f"{reason} {count}" for reason, count in sorted(skipped.items()))
        lines.insert(-1, f"  requests skipped    {sum(skipped.values())} ({details})")
    for error in errors[:10]:
        lines.append(f"    - {error['url'] or error['source']}: {error['reason']}")
    print("\n".join(lines))
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"  summary written to {json_path}")


if __name__ == "__main__":
    sys.exit(main())
