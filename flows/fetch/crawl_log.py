"""The crawl child's log, relayed to the flow run's logger record by record.

The child formats Scrapy's records as `scrapy-log LEVEL [logger] message` (CHILD_LOG_FORMAT), so
each keeps its level here (an ERROR stays an ERROR in the Prefect UI) and its timestamp is
Prefect's alone; lines that do not start a record (a traceback's) belong to the record before,
so a traceback is one record, not fifty.
"""

from __future__ import annotations

import logging
import re
from typing import Any

CHILD_LOG_FORMAT = "scrapy-log %(levelname)s [%(name)s] %(message)s"
_RECORD = re.compile(r"^scrapy-log (DEBUG|INFO|WARNING|ERROR|CRITICAL) \[([^\]]*)\] ?(.*)$")


class CrawlLogRelay:
    """A line sink: call it with each output line of the child, then `close()` at the end."""

    def __init__(self, logger: logging.Logger | logging.LoggerAdapter[Any], source: str) -> None:
        self.logger = logger
        self.source = source
        self._level = logging.INFO
        self._lines: list[str] = []
        self.counts: dict[str, int] = {}

    def __call__(self, line: str) -> None:
        match = _RECORD.match(line)
        if match is None:
            if not self._lines:
                self._level = logging.INFO
            self._lines.append(line)
            return
        self.flush()
        level_name, name, message = match.groups()
        self._level = int(logging.getLevelNamesMapping()[level_name])
        self._lines = [f"{self.source} [{name}] {message}"]

    def flush(self) -> None:
        if not self._lines:
            return
        text = "\n".join(self._lines).rstrip()
        name = logging.getLevelName(self._level)
        self.counts[name] = self.counts.get(name, 0) + 1
        self.logger.log(self._level, "%s", text)
        self._lines = []

    close = flush
