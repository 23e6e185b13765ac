"""Serve the test site until Ctrl-C: `python -m flows.testsite [--port N] [--stories PATH]`."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from .server import TestSite


def main(argv: list[str] | None = None) -> None:
    """Start the site, print its base URL (first line, for scripts), wait for Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m flows.testsite", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: any free)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--stories", type=Path, default=None, help="stories JSON file")
    args = parser.parse_args(argv)

    # A demo script stopping us with SIGTERM gets the same clean shutdown as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    with TestSite(args.stories, host=args.host, port=args.port) as site:
        print(site.base_url, flush=True)
        print(f"{len(site.stories)} stories, home {site.base_url}/en; Ctrl-C stops", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
