"""The `newswatch` command: run the monitor, try the demo, manage watches."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from flows.settings import Settings

# Modules that add their own subcommands: each has `register(commands, bench) -> None`, where
# `commands` holds top-level commands and `bench` the `newswatch bench` ones; a parser it adds
# sets `handler=callable(args, settings) -> int` with set_defaults.
COMMAND_MODULES: tuple[str, ...] = ("flows.bench_pipeline", "flows.bench_scale")

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
    demo.add_argument("--port", type=int, default=0, help="test site port (default: any free)")
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
    add.add_argument("--email", required=True, metavar="ADDR", help="who gets the alerts")
    watch_commands.add_parser("list", help="list watches")
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


def _watch_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows import db
    from flows.watches import add_watch, list_watches, remove_watch

    with db.connect(db.prepare(settings)) as connection:
        if args.watch_command == "add":
            watch = add_watch(connection, args.name, args.query, args.email)
            print(f"added watch {watch.name!r}: {watch.query}  -> {watch.email}")
        elif args.watch_command == "remove":
            remove_watch(connection, args.name)
            print(f"removed watch {args.name!r}")
        else:
            watches = list_watches(connection)
            if not watches:
                print("no watches; add one with: newswatch watch add NAME QUERY --email ADDR")
            for watch in watches:
                muted = "  (muted)" if watch.muted else ""
                print(f"{watch.name:24} {watch.query:40} {watch.email}{muted}")
    return 0


def _run_flow(settings: Settings, **parameters: Any) -> dict[str, Any]:
    from flows.prefect_env import configure_prefect_environment

    configure_prefect_environment(settings)
    from flows.flow import monitor

    return monitor(**parameters)


def _run_command(args: argparse.Namespace, settings: Settings) -> int:
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
    with TestSite(port=args.port) as site:
        print(f"test site serving on {site.base_url}")
        summary = _run_flow(
            settings,
            sources_file=str(settings.sources_file),
            source_names=[DEMO_SOURCE],
            origin=site.base_url,
            scrapy_settings=DEMO_SCRAPY_SETTINGS,
        )
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
    for error in errors[:10]:
        lines.append(f"    - {error['url'] or error['source']}: {error['reason']}")
    print("\n".join(lines))
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"  summary written to {json_path}")


if __name__ == "__main__":
    sys.exit(main())
