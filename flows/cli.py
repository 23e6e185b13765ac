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
    "flows.orchestration.fleet_commands",
    "flows.bench.fleet",
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
    demo.add_argument("-v", "--verbose", action="store_true", help="show the logs as they come")
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
    run.add_argument("-v", "--verbose", action="store_true", help="show the logs as they come")
    run.set_defaults(handler=_run_command)

    watch = commands.add_parser("watch", help="manage keyword watches")
    watch.set_defaults(handler=_watch_command)
    watch_commands = watch.add_subparsers(dest="watch_command", required=True, metavar="ACTION")
    add = watch_commands.add_parser(
        "add",
        help="add a watch: web-search syntax, e.g. '\"north korea\" -sport', 'Kursk OR Belgorod'",
    )
    add.add_argument("name")
    add.add_argument("query", nargs="+", help="the query; quoting it whole is optional")
    _watch_options(add, adding=True)
    edit = watch_commands.add_parser("edit", help="change a watch (only what is given)")
    edit.add_argument("name")
    edit.add_argument("--query", nargs="+", help="new query, web-search syntax")
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


# Exit codes of `run` and `demo`: 0 completed, 1 failed (no source could be crawled, or the
# run itself failed), 2 bad input (arguments, configuration), 3 completed with errors.
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_WITH_ERRORS = 3


def _exclusions_as_words(argv: list[str]) -> list[str]:
    """A watch query's `-word` is a word, not an option: argparse takes any argument holding a
    space as a value, and the query's spacing is normalized when it is checked."""
    if argv[:1] != ["watch"] or argv[1:2] not in (["add"], ["edit"]):
        return argv
    return argv[:2] + [
        f"{arg} " if arg.startswith("-") and not arg.startswith("--") and arg != "-h" else arg
        for arg in argv[2:]
    ]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(_exclusions_as_words(sys.argv[1:] if argv is None else argv))
    try:
        settings = Settings()
        return int(args.handler(args, settings))
    except (ValueError, KeyError) as exc:
        print(f"newswatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


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
                " ".join(args.query),
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
                query=" ".join(args.query) if args.query else None,
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


def _preflight(settings: Settings, command: str) -> Path:
    """Fail before Prefect starts, in one line, on what the user must fix: a data directory
    that cannot be written, a database that cannot be reached. Returns the run's log file."""
    from flows.console import log_file_path

    log_file = log_file_path(settings.logs_dir, command)
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.touch()
    except OSError as exc:
        raise ValueError(
            f"the data directory {settings.data_dir} is not writable ({exc.strerror or exc});"
            " set NEWSWATCH_DATA_DIR to one that is"
        ) from None
    from flows.store import db

    try:
        db.prepare(settings)
    except Exception as exc:  # psycopg, yoyo or the embedded server: all say "no database"
        where = "DATABASE_URL" if settings.database_url else "the embedded PostgreSQL"
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ValueError(f"cannot use the database ({where}): {first_line}") from None
    return log_file


def _run_flow(
    settings: Settings, log_file: Path, verbose: bool, **parameters: Any
) -> tuple[str, dict[str, Any] | None]:
    """Run the monitor flow here, stage lines on the terminal; (state name, summary)."""
    from flows import console
    from flows.orchestration.prefect_env import configure_prefect_environment

    console.route_logs(log_file, verbose)
    configure_prefect_environment(settings)
    from flows.flow import monitor, summary_of

    console.attach_file_handlers()
    with console.show_stages():
        state = monitor(**parameters, return_state=True)
    return str(state.name), summary_of(state)


def _exit_code(state_name: str, summary: dict[str, Any] | None) -> int:
    if summary is None or state_name in ("Failed", "Crashed") or summary.get("outcome") == "failed":
        return EXIT_FAILED
    if summary.get("outcome") == "completed with errors":
        return EXIT_WITH_ERRORS
    return 0


def _finish(
    state_name: str, summary: dict[str, Any] | None, json_path: Path | None, log_file: Path
) -> int:
    if summary is not None:
        _report(summary, json_path)
    code = _exit_code(state_name, summary)
    outcome = (summary or {}).get("outcome") or state_name.lower()
    print(f"  run {outcome}; full log: {log_file}")
    if code == EXIT_FAILED and summary is None:
        print(f"newswatch: error: the run failed ({state_name}); see {log_file}", file=sys.stderr)
    return code


def _run_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.config.sources import load_sources

    # Fail before Prefect starts: a bad sources file is the user's to fix, not a flow failure.
    load_sources(args.sources or settings.sources_file, args.source_names)
    log_file = _preflight(settings, "run")
    state_name, summary = _run_flow(
        settings,
        log_file,
        args.verbose,
        sources_file=str(args.sources) if args.sources else None,
        source_names=args.source_names,
        origin=args.origin,
    )
    return _finish(state_name, summary, args.json, log_file)


def _demo_command(args: argparse.Namespace, settings: Settings) -> int:
    from flows.demo import DEMO_SCRAPY_SETTINGS, DEMO_SOURCE, ensure_demo_watches
    from flows.testsite import TestSite

    log_file = _preflight(settings, "demo")
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
        state_name, summary = _run_flow(
            settings,
            log_file,
            args.verbose,
            sources_file=str(settings.sources_file),
            source_names=[DEMO_SOURCE],
            origin=site.base_url,
            scrapy_settings=DEMO_SCRAPY_SETTINGS,
        )
    finally:
        site.stop()
    return _finish(state_name, summary, args.json, log_file)


def _report(summary: dict[str, Any], json_path: Path | None) -> None:
    errors = summary.get("errors") or []
    lines = [
        "",
        f"newswatch run {summary.get('run_id')} summary",
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
    failed = summary.get("failed_sources") or []
    if failed:
        lines.append(f"  failed sources      {', '.join(failed)}")
    for error in errors[:5]:
        lines.append(f"    - {error['url'] or error['source']}: {error['reason'][:160]}")
    if len(errors) > 5:
        lines.append(f"    ... {len(errors) - 5} more in the log")
    print("\n".join(lines))
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        print(f"  summary written to {json_path}")


if __name__ == "__main__":
    sys.exit(main())
