"""The counter pad (màn hình đánh giá tại quầy): after each service finished at its
counter, the citizen taps one of three faces; "Không hài lòng" asks for a reason.

A tablet facing the citizen is paired once as a device of kind "counter" (its counter
is a property of the device); the page listens on the /pad Socket.IO namespace."""

from __future__ import annotations

from flask import Blueprint, render_template

from .. import ratings
from ..accounts import Identity
from ..context import ctx
from ..i18n import LANGS, bundle
from .pairing import device_page

bp = Blueprint("pad", __name__)


@bp.get("/pad")
@device_page("counter")
def pad(who: Identity):
    texts = {lang: {**bundle("pad.", lang), **bundle("rating.", lang)} for lang in LANGS}
    return render_template(
        "pad.html",
        center=ctx().cfg.center_name,
        counter=who.counter,
        texts=texts["vi"],
        levels=ratings.LEVELS,
        reasons=ratings.REASONS,
        data={"counter": who.counter, "texts": texts, "reasons": ratings.REASONS},
    )
