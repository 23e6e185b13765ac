"""Editors' sign-in and sign-out: argon2-checked passwords, throttled, a fresh session each time."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flows.store.db import Connection
from flows.web import accounts
from flows.web.common import form_text, redirect, render, with_db
from flows.web.security import checked_form, client_address


async def login_page(request: Request) -> Response:
    return render(request, "login.html", error="", name="")


async def login(request: Request) -> Response:
    form = await checked_form(request)
    name = form_text(form, "name", 100)
    password = form.get("password")
    client = client_address(request)

    def check(connection: Connection) -> tuple[bool, accounts.Editor | None]:
        if accounts.throttled(connection, name, client):
            return True, None
        return False, accounts.authenticate(
            connection, name, password if isinstance(password, str) else "", client
        )

    throttled, editor = await with_db(request, check)
    if throttled:
        return render(
            request,
            "login.html",
            429,
            error="Too many failed sign-ins: wait a quarter of an hour.",
            name=name,
        )
    if editor is None:
        return render(request, "login.html", 401, error="Wrong name or password.", name=name)
    request.session.clear()  # a new session for the signed-in editor (no fixation)
    request.session["editor_id"] = editor.id
    request.session["editor_name"] = editor.name
    return redirect("/watches")


async def logout(request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return redirect("/login")


ROUTES = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
