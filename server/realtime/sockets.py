"""Socket.IO namespaces: who may connect to each, what a client gets when it connects,
and the events clients send (`resync`, `join`, `follow`).  What the server pushes later
goes through the publishers in `events`; `server.realtime.init_realtime` wires both to
the app."""

from __future__ import annotations

import contextlib
from typing import Any

from flask import request
from flask_socketio import ConnectionRefusedError as SocketRefused
from flask_socketio import Namespace, emit, join_room

from .. import hall
from ..accounts import Identity
from ..auth import socket_identity
from ..printjobs import record_seen
from ..protocol import (
    EV_CALL,
    EV_COUNTER,
    EV_ERROR,
    EV_QUEUE,
    EV_RATE,
    EV_SNAPSHOT,
    EV_TICKET,
    RESYNC_MAX,
    DeviceKind,
    Role,
)
from ..ratings import pending_at_counter
from ..store import tickets as store
from ..store.db import DatabaseClosed
from .events import Realtime, pad_prompt
from .guard import refusal
from .rooms import (
    PEOPLE,
    SUPERVISORS,
    counter_room,
    device_room,
    kiosk_room,
    pad_room,
    ticket_room,
    zone_room,
)
from .sound import SoundDesk


class _Base(Namespace):
    rt: Realtime

    def remember(self, who: Identity) -> None:
        self.rt.identities[(self.namespace, request.sid)] = who  # type: ignore[attr-defined]
        self.rt.app.extensions["motcua.anonymous_sockets"].vouch(request.sid, self.namespace)  # type: ignore[attr-defined]
        self.rt.watch_identities()
        self._seen(who)

    def on_disconnect(self, reason: Any = None) -> None:
        who = self.rt.identities.pop((self.namespace, request.sid), None)  # type: ignore[attr-defined]
        if who is not None:
            self._seen(who)

    def _seen(self, who: Identity) -> None:
        """A device's last_seen moves when it connects and when it goes: a board that
        dropped off overnight shows the supervisor since when (kiosks also beat)."""
        if who.kind != "device":
            return
        with contextlib.suppress(DatabaseClosed):  # the server is stopping
            record_seen(self.rt.ctx.db, who.id, self.rt.ctx.now())


class DisplayNamespace(_Base):
    """Hall boards (display devices) and supervisors' live views."""

    sound: SoundDesk

    def on_connect(self, auth: Any = None) -> None:
        who = socket_identity(auth)
        allowed = who is not None and (
            who.device_kind == DeviceKind.DISPLAY
            or who.has_role(Role.SUPERVISOR, Role.ADMIN, Role.STAFF)
        )
        if not allowed or who is None:
            raise SocketRefused(
                {"code": "unauthorized", "message": "Cần mã thiết bị bảng hiển thị."}
            )
        self.remember(who)
        zone = who.zone if who.kind == "device" else None
        join_room(zone_room(zone))
        if who.kind == "user":
            join_room(PEOPLE)
        if who.has_role(Role.SUPERVISOR, Role.ADMIN):
            join_room(SUPERVISORS)
        if who.kind == "device":
            join_room(device_room(who.id))  # a supervisor's test sound for this board
        self._snapshot(zone)

    def on_sound_status(self, data: Any = None) -> dict[str, Any]:
        """A board says how its last chime and voice went (see ``sound``)."""
        who = self.rt.identities.get((self.namespace, request.sid))  # type: ignore[attr-defined]
        return self.sound.report(who, data)

    def _snapshot(self, zone: str | None) -> None:
        """The zone's whole state, with the queues numbered like every later summary."""
        ctx = self.rt.ctx
        snap = hall.snapshot(ctx.db, ctx.cfg, ctx.now(), zone, ctx.announcer)
        with ctx.db.connection() as conn:
            queue = self.rt.queue_summary(conn)
        emit(
            EV_SNAPSHOT, {**snap, "services": queue["services"], "queue_version": queue["version"]}
        )

    def on_resync(self, data: Any = None) -> None:
        who = self.rt.identities.get((self.namespace, request.sid))  # type: ignore[attr-defined]
        zone = who.zone if who and who.kind == "device" else None
        after = data.get("after") if isinstance(data, dict) else None
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**63:
            emit(
                EV_ERROR, {"error": {"code": "bad_resync", "message": "resync needs {after: seq}"}}
            )
            return
        ctx = self.rt.ctx
        with ctx.db.read() as conn:
            rows = store.calls_after(conn, after, limit=RESYNC_MAX + 1, zone=zone)
            names = hall.service_names(conn)
            prev = store.calls_before_in_zone(conn, rows[0]["seq"], zone) if rows else after
            views = [] if len(rows) > RESYNC_MAX else hall.counters_view(conn, zone)
        if len(rows) > RESYNC_MAX:
            self._snapshot(zone)
            return
        # The live calls missed carried their counters' views: the counters as they are
        # now come first, so a replayed call is judged against its counter's present.
        emitted = self.rt.last_emitted()  # by any process: the rest is on its way live
        at = {row["counter"] for row in rows}
        for view in views:
            if view["number"] in at:
                emit(EV_COUNTER, {"counter": view})
        for row in rows:
            if row["seq"] > emitted:
                break  # not yet published live; it will arrive through the live stream
            emit(EV_CALL, {**hall.call_payload(row, names, ctx.announcer), "prev_seq": prev})
            prev = row["seq"]


class CounterNamespace(_Base):
    """Staff consoles: queue counts and counter changes without reloading."""

    def on_connect(self, auth: Any = None) -> None:
        who = socket_identity(auth)
        if who is None or who.kind != "user":
            raise SocketRefused({"code": "unauthorized", "message": "Cần đăng nhập cán bộ."})
        self.remember(who)

    def on_join(self, data: Any = None) -> dict[str, Any]:
        who = self.rt.identities.get((self.namespace, request.sid))  # type: ignore[attr-defined]
        number = data.get("counter") if isinstance(data, dict) else None
        if (
            who is None
            or not isinstance(number, int)
            or not 0 < number < 2**63  # SQLite's range: a larger number cannot be a counter
            or not who.may_use_counter(number)
        ):
            return {
                "ok": False,
                "error": {"code": "forbidden", "message": "Không được phép ở quầy này."},
            }
        join_room(counter_room(number))
        with self.rt.ctx.db.read() as conn:
            view = hall.one_counter(conn, number)
        return {"ok": True, "counter": view}


class KioskNamespace(_Base):
    """Kiosk agents and kiosk pages: queue counts, open/closed, print jobs."""

    def on_connect(self, auth: Any = None) -> None:
        who = socket_identity(auth)
        if who is None or who.device_kind != DeviceKind.KIOSK:
            raise SocketRefused({"code": "unauthorized", "message": "Cần mã thiết bị kiosk."})
        self.remember(who)
        join_room(kiosk_room(who.id))
        with self.rt.ctx.db.read() as conn:
            emit(
                EV_QUEUE,
                {"services": hall.services_summary(conn, self.rt.ctx.cfg, self.rt.ctx.now())},
            )


class TrackNamespace(_Base):
    """Public ticket tracking: anyone holding a ticket's token may follow it."""

    def on_connect(self, auth: Any = None) -> None:
        """No token needed, so each address may hold only its share of these
        (connections.anonymous_sockets_per_address, server/realtime/guard.py)."""
        guard = self.rt.app.extensions["motcua.anonymous_sockets"]
        if not guard.track(request.sid, self.namespace):  # type: ignore[attr-defined]
            raise SocketRefused(refusal()["error"])

    def on_follow(self, data: Any = None) -> dict[str, Any]:
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not 8 <= len(token) <= 64 or not token.isascii():
            return {
                "ok": False,
                "error": {"code": "bad_token", "message": "Mã phiếu không hợp lệ."},
            }
        ctx = self.rt.ctx
        with ctx.db.read() as conn:
            t = store.ticket_by_token(conn, token)
            view = hall.public_ticket(conn, ctx.cfg, t, ctx.now()) if t else None
        if view is None:
            return {
                "ok": False,
                "error": {"code": "unknown_ticket", "message": "Không tìm thấy phiếu."},
            }
        join_room(ticket_room(token))
        emit(EV_TICKET, {"ticket": view})
        return {"ok": True}


class PadNamespace(_Base):
    """Counter pads: a `rate` prompt after each service finished at the pad's counter."""

    def on_connect(self, auth: Any = None) -> None:
        who = socket_identity(auth)
        if who is None or who.device_kind != DeviceKind.COUNTER or who.counter is None:
            raise SocketRefused(
                {"code": "unauthorized", "message": "Cần mã thiết bị đánh giá gắn với một quầy."}
            )
        self.remember(who)
        join_room(pad_room(who.counter))
        pending = pending_at_counter(self.rt.ctx.db, who.counter, self.rt.ctx.now())
        if pending is not None:
            with self.rt.ctx.db.read() as conn:
                emit(EV_RATE, pad_prompt(conn, pending))
