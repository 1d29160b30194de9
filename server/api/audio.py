"""Announcement audio: the chime and each call's voice WAV, rendered once and cached."""

from __future__ import annotations

import re

from flask import send_file

from ..context import ctx
from ..errors import NotFound
from . import api

_KEY = re.compile(r"^[0-9a-f]{8,64}$")


@api.get("/audio/chime.wav")
def chime():
    return send_file(ctx().announcer.chime(), mimetype="audio/wav", max_age=86400)


@api.get("/audio/<key>.wav")
def announcement(key: str):
    path = ctx().announcer.path(key) if _KEY.match(key) else None
    if path is None:
        raise NotFound("Không có âm thanh này.", code="unknown_audio")
    return send_file(path, mimetype="audio/wav", max_age=86400)
