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

from ..accounts import Identity
from ..clock import iso
from ..protocol import EV_DEVICE_SOUND, EV_SOUND_TEST, NS_DISPLAY, DeviceKind, SoundStatus
from ..store import boards as store
from .events import Realtime
from .rooms import SUPERVISORS, device_room

log = logging.getLogger(__name__)

DETAIL_MAX = 200
#: A board repeating the same status is written at most this often (a busy hall makes
#: a report per call; the supervisor needs the state and roughly when, not every one).
SAME_STATUS_EVERY_S = 30.0
#: A board may store (and push to supervisors) a burst of REPORT_BURST reports, then one
#: every REPORT_EVERY_S seconds: a board token sending thousands of alternating reports
#: otherwise cost a write, a push and a log line each.  The allowance is kept per device,
#: not per connection, so reconnecting does not refill it.  A report over the limit is
#: kept as the board's pending state and stored once the allowance refills, so the last
#: real state is never lost.
REPORT_BURST = 3
REPORT_EVERY_S = 10.0 / 3
#: A board over its limit is logged at most this often.
DROP_LOG_EVERY_S = 60.0


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


class SoundDesk:
    def __init__(self, rt: Realtime) -> None:
        self.rt = rt
        self._lock = threading.Lock()
        self._written: dict[int, tuple[str, float]] = {}
        self._bucket: dict[int, tuple[float, float]] = {}  # device → (tokens, at)
        self._pending: dict[int, tuple[str, str | None]] = {}  # the newest dropped report
        self._flushing: set[int] = set()  # devices with a flush scheduled
        self._drop_logged: dict[int, float] = {}
        self.every_s = REPORT_EVERY_S
        self.clock = time.monotonic  # the allowance's clock (tests hold it still)

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
            self._pending.pop(who.id, None)  # this report is newer than any dropped one
            last = self._written.get(who.id)
            now_s = self.clock()
            if last and last[0] == status and now_s - last[1] < SAME_STATUS_EVERY_S:
                return {"ok": True, "stored": False}
            if not self._take(who.id, now_s):
                self._pending[who.id] = (status, detail)
                self._note_drop(who.id, now_s)
                if who.id not in self._flushing:
                    self._flushing.add(who.id)
                    self.rt.socketio.start_background_task(self._flush_later, who.id)
                return {"ok": True, "stored": False}
            self._written[who.id] = (status, now_s)
        self._store(who.id, status, detail)
        return {"ok": True, "stored": True}

    def _take(self, device_id: int, now_s: float) -> bool:
        """One report from the board's allowance (caller holds the lock)."""
        tokens, at = self._bucket.get(device_id, (float(REPORT_BURST), now_s))
        tokens = min(float(REPORT_BURST), tokens + max(0.0, now_s - at) / self.every_s)
        if tokens < 1:
            self._bucket[device_id] = (tokens, now_s)
            return False
        self._bucket[device_id] = (tokens - 1, now_s)
        return True

    def _note_drop(self, device_id: int, now_s: float) -> None:
        last = self._drop_logged.get(device_id)
        if last is None or now_s - last >= DROP_LOG_EVERY_S:
            self._drop_logged[device_id] = now_s
            log.warning("board %s sends too many sound reports; extra ones dropped", device_id)

    def _flush_later(self, device_id: int) -> None:
        """Store the board's newest dropped report once its allowance refills."""
        while True:
            with self._lock:
                tokens, _ = self._bucket.get(device_id, (0.0, 0.0))
                wait = max(0.0, (1 - tokens) * self.every_s)
            self.rt.socketio.sleep(wait + 0.01)
            with self._lock:
                pending = self._pending.get(device_id)
                if pending is None:
                    self._flushing.discard(device_id)
                    return
                now_s = self.clock()
                if not self._take(device_id, now_s):
                    continue
                del self._pending[device_id]
                self._flushing.discard(device_id)
                self._written[device_id] = (pending[0], now_s)
            self._store(device_id, *pending)
            return

    def _store(self, device_id: int, status: str, detail: str | None) -> None:
        at = iso(self.rt.ctx.now())
        with self.rt.ctx.db.write() as conn:
            store.record_sound(conn, device_id, status, detail, at)
        sound = {"status": status, "detail": detail, "at": at}
        body = {"device": device_id, "sound": sound}
        self.rt.socketio.emit(EV_DEVICE_SOUND, body, namespace=NS_DISPLAY, to=SUPERVISORS)
        if status != SoundStatus.PLAYED:
            log.warning("board %s cannot be heard: %s (%s)", device_id, status, detail or "")

    def connections(self, device_id: int) -> int:
        """The board's open connections (a display device connects to /display only),
        on every process when several share a queue."""
        return self.rt.device_connections()[device_id]

    def test(self, device_id: int, text: str, audio_url: str | None) -> dict[str, Any]:
        """Ask one board to play a test announcement (chime, then ``text`` spoken)."""
        with self._lock:
            self._written.pop(device_id, None)  # its answer is news: store it
        body = {"id": uuid.uuid4().hex[:12], "text": text, "audio_url": audio_url}
        self.rt.socketio.emit(EV_SOUND_TEST, body, namespace=NS_DISPLAY, to=device_room(device_id))
        return body
