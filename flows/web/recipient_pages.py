"""Recipients' pages, without accounts: "your alerts" and one-click unsubscribe.

An e-mailed link /r/<token> is checked (signature, expiry, scope, the address's current link
generation) and traded for a session naming that one address, then the browser is sent to
/me, so the token leaves the address bar. Every action on /me acts on the session's address
only: a form field can name a watch, never an address.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flows.match.watches import MODES, WatchError
from flows.notify import recipients
from flows.store.db import Connection
from flows.web.common import config, form_text, message_page, redirect, render, with_db
from flows.web.security import checked_form
from flows.web.tokens import LinkClaims, LinkError


def _claims(request: Request, scope: str) -> LinkClaims:
    return config(request).signer.verify(request.path_params["token"], scope)


def _current(connection: Connection, claims: LinkClaims) -> bool:
    return recipients.preferences(connection, claims.subject).token_generation == claims.generation


async def open_link(request: Request) -> Response:
    try:
        claims = _claims(request, "manage")
    except LinkError as error:
        return message_page(request, "Link not valid", str(error), 403)
    if not await with_db(request, lambda connection: _current(connection, claims)):
        return message_page(request, "Link not valid", "This link was signed out.", 403)
    request.session["recipient"] = claims.subject
    request.session["recipient_generation"] = claims.generation
    return redirect("/me")


async def _recipient(request: Request) -> str | None:
    email = request.session.get("recipient")
    generation = request.session.get("recipient_generation")
    if not isinstance(email, str) or not isinstance(generation, int):
        return None
    current = await with_db(
        request, lambda connection: recipients.preferences(connection, email).token_generation
    )
    if current != generation:
        request.session.pop("recipient", None)
        return None
    return email


def _no_session(request: Request) -> Response:
    return message_page(
        request,
        "Open your alerts from an e-mail",
        "Use the “your alerts” link at the bottom of any alert e-mail you received.",
        403,
    )


async def my_alerts(request: Request) -> Response:
    email = await _recipient(request)
    if email is None:
        return _no_session(request)

    def load(connection: Connection) -> tuple[object, object]:
        return recipients.watches_of(connection, email), recipients.preferences(connection, email)

    watches, prefs = await with_db(request, load)
    return render(
        request,
        "me.html",
        email=email,
        watches=watches,
        prefs=prefs,
        modes=MODES,
        time_zones=recipients.time_zones(),
        notice=request.query_params.get("done", "")[:100],
    )


async def leave(request: Request) -> Response:
    form = await checked_form(request)
    email = await _recipient(request)
    if email is None:
        return _no_session(request)
    try:
        watch_id = int(form_text(form, "watch_id"))
    except ValueError:
        return message_page(request, "Not changed", "No such watch.", 400)
    left = await with_db(
        request, lambda connection: recipients.leave_watch(connection, email, watch_id)
    )
    return redirect("/me?done=" + ("left" if left else "unchanged"))


async def save_preferences(request: Request) -> Response:
    form = await checked_form(request)
    email = await _recipient(request)
    if email is None:
        return _no_session(request)
    mode = form_text(form, "mode") or None
    hour_text = form_text(form, "digest_hour")
    try:
        digest_hour = int(hour_text) if hour_text else None
        await with_db(
            request,
            lambda connection: recipients.set_preferences(
                connection,
                email,
                paused=form_text(form, "paused") == "on",
                mode=mode if mode in MODES else None,
                digest_hour=digest_hour,
                time_zone=form_text(form, "time_zone") or None,
            ),
        )
    except (ValueError, WatchError) as error:
        return message_page(request, "Not saved", str(error), 400)
    return redirect("/me?done=saved")


async def rotate(request: Request) -> Response:
    await checked_form(request)
    email = await _recipient(request)
    if email is None:
        return _no_session(request)
    await with_db(request, lambda connection: recipients.rotate_links(connection, email))
    request.session.pop("recipient", None)
    return message_page(
        request,
        "Every link signed out",
        "The links in e-mails sent so far no longer open your alerts; the next e-mail has a "
        "new one.",
    )


def _email_id(claims: LinkClaims) -> int | None:
    nonce = claims.nonce or ""
    return int(nonce.removeprefix("email-")) if re.fullmatch(r"email-\d{1,18}", nonce) else None


async def unsubscribe_page(request: Request) -> Response:
    """GET only asks: link checkers and previews open links, and must not unsubscribe anyone."""
    try:
        claims = _claims(request, "unsubscribe")
    except LinkError as error:
        return message_page(request, "Link not valid", str(error), 403)
    email_id = _email_id(claims)
    if email_id is None:
        return message_page(request, "Link not valid", "This link is not valid.", 403)
    watches = await with_db(
        request,
        lambda connection: recipients.watches_of_email(connection, claims.subject, email_id),
    )
    names = [watch.name for watch in watches]
    return render(request, "unsubscribe.html", email=claims.subject, done=False, left=names)


async def unsubscribe(request: Request) -> Response:
    """RFC 8058 one-click: a bare POST, no cookie, no CSRF token (the signed link is the proof)."""
    try:
        claims = _claims(request, "unsubscribe")
    except LinkError as error:
        return message_page(request, "Link not valid", str(error), 403)
    email_id = _email_id(claims)
    if email_id is None or claims.nonce is None:
        return message_page(request, "Link not valid", "This link is not valid.", 403)
    nonce = claims.nonce

    def act(connection: Connection) -> list[str] | None:
        if not _current(connection, claims):
            return None
        if not recipients.use_nonce(connection, nonce, claims.subject):
            return None
        return recipients.unsubscribe_from_email(connection, claims.subject, email_id)

    left = await with_db(request, act)
    if left is None:
        return message_page(
            request, "Link already used", "This link was used before or signed out.", 403
        )
    return render(request, "unsubscribe.html", email=claims.subject, done=True, left=left)


ROUTES = [
    Route("/r/{token}", open_link, methods=["GET"]),
    Route("/me", my_alerts, methods=["GET"]),
    Route("/me/leave", leave, methods=["POST"]),
    Route("/me/preferences", save_preferences, methods=["POST"]),
    Route("/me/rotate", rotate, methods=["POST"]),
    Route("/u/{token}", unsubscribe_page, methods=["GET"]),
    Route("/u/{token}", unsubscribe, methods=["POST"]),
]
