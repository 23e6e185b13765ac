"""Why a request gave no page, in words a person reading the run summary understands."""

from __future__ import annotations

from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectError,
    ConnectionLost,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived


class SkippedRequest(IgnoreRequest):
    """A request deliberately not made or not used; counted under `reason`, not an error."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__(f"skipped ({reason}): {url}")
        self.reason = reason


# IgnoreRequest messages of Scrapy's own components that mean "skipped", not "failed".
_SKIP_MESSAGES = ("Forbidden by robots.txt", "offsite", "Filtered offsite")


def is_skip(exc: BaseException) -> bool:
    return isinstance(exc, SkippedRequest) or any(text in str(exc) for text in _SKIP_MESSAGES)


def describe_failure(failure: Failure, max_bytes: int | None = None) -> str:
    """One line: the HTTP status, the size cap, the redirect loop, the timeout, ...

    Scrapy cancels a download that outgrows DOWNLOAD_MAXSIZE without having announced its
    size (no Content-Length) with an empty message; `max_bytes` lets this say so.
    """
    exc = failure.value
    if isinstance(exc, HttpError):
        response = exc.response
        reason = f"HTTP {response.status}"
        retry_after = response.headers.get(b"Retry-After")
        if retry_after:
            reason += f" (Retry-After: {retry_after.decode('latin-1')})"
        return reason
    message = str(exc)
    if isinstance(exc, IgnoreRequest):
        if "max redirections" in message:
            return "redirect loop: gave up after too many redirects"
        if "DOWNLOAD_MAXSIZE" in message and "decompress" in message:
            return f"over the size cap once decompressed (gzip bomb?): {message}"
        return f"ignored: {message}"
    if isinstance(exc, DownloadCancelledError) and not message.strip():
        cap = f" of {max_bytes} bytes" if max_bytes else ""
        return (
            f"over the size cap{cap}: the answer grew past it without a Content-Length, "
            "so the download was stopped"
        )
    if "larger than download max size" in message:
        return f"over the size cap: {message.split(' in request')[0]}"
    if isinstance(exc, TimeoutError | TCPTimedOutError) or "Timeout" in type(exc).__name__:
        return f"timeout: {message}"
    if isinstance(exc, ResponseNeverReceived | ResponseFailed | ConnectionLost):
        inner = "; ".join(str(f.value) for f in getattr(exc, "reasons", []) if f is not None)
        return f"connection failed: {type(exc).__name__}" + (f" ({inner})" if inner else "")
    if isinstance(exc, DNSLookupError | ConnectError):
        return f"cannot connect: {message}"
    return f"{type(exc).__name__}: {message}"
