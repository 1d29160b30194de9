"""Pairing a screen with a device token, once.

A kiosk, board, lookup screen or counter pad opens `/<page>/pair?token=…` one time; the
server checks the token, keeps the device id (and a fingerprint of the token's hash, so
a rotated or revoked token ends the pairing at once) in the signed session cookie, and
redirects to the page without the token — it never appears in later URLs or logs.
Pages then call the API and Socket.IO with that cookie and the session's CSRF token."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, redirect, render_template, request, session

from ..accounts import identify
from ..auth import session_device
from ..context import ctx
from ..protocol import DeviceKind
from ..store import accounts as account_store

bp = Blueprint("pairing", __name__)

#: page path → device kind that may open it
PAGES = {
    "kiosk": DeviceKind.KIOSK,
    "board": DeviceKind.DISPLAY,
    "lookup": DeviceKind.LOOKUP,
    "pad": DeviceKind.COUNTER,
}


def device_page(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page only a paired device of `kind` may open (else: a Vietnamese pairing message)."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            who = session_device()
            if who is None or who.device_kind != kind:
                return render_template(
                    "unpaired.html", center=ctx().cfg.center_name, kind=kind
                ), 403
            return fn(who, *args, **kwargs)

        return inner

    return wrap


@bp.get("/<page>/pair")
def pair(page: str):
    kind = PAGES.get(page)
    if kind is None:
        return render_template("unpaired.html", center=ctx().cfg.center_name, kind=None), 404
    who = identify(ctx().db, request.args.get("token", ""))
    if who is None or who.device_kind != kind:
        return render_template(
            "unpaired.html", center=ctx().cfg.center_name, kind=kind, failed=True
        ), 403
    with ctx().db.connection() as conn:
        d = account_store.device(conn, who.id)
    assert d is not None
    session.clear()
    session.permanent = True
    session["device_id"] = d["id"]
    session["device_fp"] = d["token_hash"][-16:]
    return redirect(f"/{page}", code=303)
