"""Satisfaction ratings: from the counter pad (device token or paired pad) or from the
citizen's phone with the ticket's token once the service is done."""

from __future__ import annotations

import re

from flask import jsonify, request

from .. import ratings as domain
from ..context import ctx
from ..errors import Forbidden, NotFound
from ..i18n import LANGS
from ..protocol import DeviceKind
from . import api
from .common import current_identity, json_body, rate_limit
from .openapi import (
    EXTRA_PATHS,
    EXTRA_SCHEMAS,
    _obj,
    _op,
    _path_str,
    _query_enum,
    _ref,
    _resp,
)

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _rating_json(r: dict) -> dict:
    return {
        "id": r["id"],
        "ticket": r["label"],
        "level": r["level"],
        "reason": r["reason"],
        "reason_text": r["reason_text"],
        "counter": r["counter"],
        "dossiers": r["dossier"].split(",") if r["dossier"] else [],
        "source": r["source"],
        "at": r["at"],
    }


@api.post("/ratings")
def rate():
    data = json_body()
    who = current_identity()
    c = ctx()
    pad_counter = None
    device_id = None
    if who is not None and who.kind == "device" and who.device_kind == DeviceKind.COUNTER:
        if who.counter is None:
            raise Forbidden(
                "Thiết bị đánh giá này chưa được gắn với quầy nào.", code="pad_without_counter"
            )
        pad_counter, device_id = who.counter, who.id
    else:
        rate_limit("rating")
    r = domain.rate(
        c.db,
        c.cfg,
        token=data.get("ticket"),
        level=data.get("level"),
        reason=data.get("reason"),
        reason_text=data.get("text"),
        pad_counter=pad_counter,
        device_id=device_id,
        now=c.now(),
    )
    if r["counter"] is not None:
        c.realtime.ticket_rated(r["counter"], r["token"])
    return jsonify({"rating": _rating_json(r)}), 201


@api.get("/ratings/options")
def rating_options():
    lang = request.args.get("lang", "vi")
    return jsonify(domain.options(lang if lang in LANGS else "vi"))


@api.get("/ratings/<token>")
def rating_state(token: str):
    rate_limit("public")
    c = ctx()
    state = domain.public_state(c.db, token, c.now()) if _TOKEN.match(token) else None
    if state is None:
        raise NotFound("Không tìm thấy phiếu.", code="unknown_ticket")
    return jsonify(state)


EXTRA_SCHEMAS["Rating"] = _obj(
    {
        "id": {"type": "integer"},
        "ticket": {"type": "string"},
        "level": {"enum": list(domain.LEVELS)},
        "reason": {"type": ["string", "null"]},
        "reason_text": {"type": ["string", "null"]},
        "counter": {"type": ["integer", "null"]},
        "dossiers": {"type": "array", "items": {"type": "string"}},
        "source": {"enum": ["pad", "web"]},
        "at": {"type": "string"},
    },
    ["id", "ticket", "level", "at"],
)
EXTRA_PATHS["/ratings"] = {
    "post": {
        **_op(
            "Rate a finished service: a counter pad (device token or paired pad) for the ticket "
            "just finished at its counter, or anyone holding the ticket's token once it is done "
            "(rate limited). 'unsatisfied' needs a reason; one rating per ticket (409 after).",
            {"201": _resp("The rating", _obj({"rating": _ref("Rating")}))},
            body=_obj(
                {
                    "ticket": {"type": "string", "description": "the ticket's public token"},
                    "level": {"enum": list(domain.LEVELS)},
                    "reason": {"enum": list(domain.REASONS)},
                    "text": {"type": "string", "maxLength": domain.MAX_TEXT},
                },
                ["ticket", "level"],
            ),
            errors=(400, 401, 403, 404, 409, 429),
            tag="ratings",
        ),
        "security": [{}, {"bearer": []}],
    }
}
EXTRA_PATHS["/ratings/options"] = {
    "get": _op(
        "Rating levels and reasons with their words",
        {
            "200": _resp(
                "Options",
                _obj(
                    {
                        "levels": {"type": "array"},
                        "reasons": {"type": "array"},
                        "texts": {"type": "object"},
                    }
                ),
            )
        },
        params=[_query_enum("lang", LANGS)],
        tag="ratings",
    )
}
EXTRA_PATHS["/ratings/{token}"] = {
    "get": _op(
        "Whether the holder of a ticket's token may rate it now",
        {
            "200": _resp(
                "State",
                _obj(
                    {
                        "status": {"type": "string"},
                        "rated": {"type": "boolean"},
                        "level": {"type": ["string", "null"]},
                        "can_rate": {"type": "boolean"},
                        "expired": {"type": "boolean"},
                    }
                ),
            )
        },
        params=[_path_str("token")],
        errors=(404, 429),
        tag="ratings",
    )
}
