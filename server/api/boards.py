"""Hall boards for supervisors: play a test announcement on one board (is it heard?).

The board answers with its `sound_status` like after any call (played, failed, blocked
by the TV's autoplay policy), which the supervisor's device list shows."""

from __future__ import annotations

from flask import current_app, jsonify

from .. import accounts
from ..context import ctx
from ..errors import Conflict, NotFound
from ..i18n import t
from ..protocol import DeviceKind
from ..realtime.sound import SoundDesk
from ..store import accounts as account_store
from . import api
from .common import SUPERVISOR_ROLES, client_ip, current_identity, requires
from .openapi import EXTRA_PATHS, NSTR, STR, _obj, _op, _path_int, _resp


@api.post("/devices/<int:device_id>/sound-test")
@requires(roles=SUPERVISOR_ROLES)
def sound_test(device_id: int):
    c = ctx()
    who = current_identity()
    assert who is not None
    with c.db.read() as conn:
        device = account_store.device(conn, device_id) if device_id < 2**63 else None
    if device is None or device["revoked_at"] or device["kind"] != DeviceKind.DISPLAY:
        raise NotFound(f"Không có bảng hiển thị #{device_id}.", code="unknown_board")
    desk: SoundDesk = current_app.extensions["motcua.sound"]
    if not desk.connections(device_id):
        raise Conflict(
            f"Bảng “{device['name']}” đang không kết nối; không phát thử được.",
            code="board_offline",
        )
    text = t("board.sound.test_text", "vi")
    audio_url = None
    if c.announcer is not None:
        _, audio_url = c.announcer.speak(text)
        key = audio_url.rsplit("/", 1)[-1].removesuffix(".wav")
        c.realtime.socketio.start_background_task(c.announcer.path, key)  # render ahead
    test = desk.test(device_id, text, audio_url)
    accounts.audit(
        c.db,
        c.now(),
        who.actor,
        "sound_test",
        f"device:{device_id}",
        {"name": device["name"], "test": test["id"]},
        client_ip(),
    )
    return jsonify({"device": device_id, "test": test})


EXTRA_PATHS["/devices/{device_id}/sound-test"] = {
    "post": _op(
        "Play a test announcement (chime, then a spoken sentence) on one hall board; "
        "the board reports how it went in the device list (supervisor, audited)",
        {
            "200": _resp(
                "Sent to the board",
                _obj(
                    {
                        "device": {"type": "integer"},
                        "test": _obj({"id": STR, "text": STR, "audio_url": NSTR}),
                    }
                ),
            )
        },
        secured=True,
        params=[_path_int("device_id")],
        errors=(401, 403, 404, 409),
        tag="supervisor",
    )
}
