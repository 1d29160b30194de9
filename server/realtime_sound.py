"""Whether each hall board can be heard: boards report how their last chime and voice
went (played, failed, blocked by the TV's autoplay policy), the report is kept on the
device (so every process and a restart see it) and pushed to supervisors' live views,
and a supervisor can make one board play a test announcement.

A silent board is the worst kind of broken: it shows every call, so nobody notices the
hall is not hearing them.  The report rides on the board's own /display connection."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from .accounts import Identity
from .clock import iso
from .protocol import EV_DEVICE_SOUND, EV_SOUND_TEST, NS_DISPLAY, DeviceKind, SoundStatus
from .realtime import SUPERVISORS, Realtime
from .store import boards as store

log = logging.getLogger(__name__)

DETAIL_MAX = 200
#: A board repeating the same status is written at most this often (a busy hall makes
#: a report per call; the supervisor needs the state and roughly when, not every one).
SAME_STATUS_EVERY_S = 30.0


def device_room(device_id: int) -> str:
    return f"device:{device_id}"


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


class SoundDesk:
    def __init__(self, rt: Realtime) -> None:
        self.rt = rt
        self._lock = threading.Lock()
        self._written: dict[int, tuple[str, float]] = {}

    def report(self, who: Identity | None, data: Any) -> dict[str, Any]:
        """A board's `sound_status`: checked, stored, shown to supervisors (the ack)."""
        if who is None or who.kind != "device" or who.device_kind != DeviceKind.DISPLAY:
            return _refusal("forbidden", "Chỉ bảng hiển thị báo trạng thái âm thanh.")
        status = data.get("status") if isinstance(data, dict) else None
        if status not in {s.value for s in SoundStatus}:
            return _refusal("bad_sound_status", "status phải là played, failed hoặc blocked.")
        detail = data.get("detail") if isinstance(data, dict) else None
        detail = str(detail)[:DETAIL_MAX] if detail else None
        with self._lock:
            last = self._written.get(who.id)
            now_s = time.monotonic()
            if last and last[0] == status and now_s - last[1] < SAME_STATUS_EVERY_S:
                return {"ok": True, "stored": False}
            self._written[who.id] = (status, now_s)
        at = iso(self.rt.ctx.now())
        with self.rt.ctx.db.write() as conn:
            store.record_sound(conn, who.id, status, detail, at)
        sound = {"status": status, "detail": detail, "at": at}
        body = {"device": who.id, "sound": sound}
        self.rt.socketio.emit(EV_DEVICE_SOUND, body, namespace=NS_DISPLAY, to=SUPERVISORS)
        if status != SoundStatus.PLAYED:
            log.warning("board %s cannot be heard: %s (%s)", who.id, status, detail or "")
        return {"ok": True, "stored": True}

    def connections(self, device_id: int) -> int:
        return sum(
            1
            for (ns, _), who in list(self.rt.identities.items())
            if ns == NS_DISPLAY and who.kind == "device" and who.id == device_id
        )

    def test(self, device_id: int, text: str, audio_url: str | None) -> dict[str, Any]:
        """Ask one board to play a test announcement (chime, then ``text`` spoken)."""
        with self._lock:
            self._written.pop(device_id, None)  # its answer is news: store it
        body = {"id": uuid.uuid4().hex[:12], "text": text, "audio_url": audio_url}
        self.rt.socketio.emit(EV_SOUND_TEST, body, namespace=NS_DISPLAY, to=device_room(device_id))
        return body
