"""Socket.IO: the publishers the API calls after commit (the namespaces, who may connect
and what each gets then, are in `sockets`; room names in `rooms`).

Calls go out through one sequencer: whoever publishes takes every committed call after
the last one emitted, in `seq` order, so boards never see a call out of order even when
two counters commit at once.  Queue counts and tracking positions are coalesced and
flushed a few times a second, so a burst of 1,000 tickets is not 1,000 recomputations.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask
from flask_socketio import SocketIO

from .. import hall, logins
from ..accounts import Identity
from ..clock import business_day
from ..context import Context
from ..protocol import (
    EV_ALERT,
    EV_CALL,
    EV_CALL_STATE,
    EV_COUNTER,
    EV_QUEUE,
    EV_RATE,
    EV_RATED,
    EV_TICKET,
    NS_COUNTER,
    NS_DISPLAY,
    NS_KIOSK,
    NS_PAD,
    NS_TRACK,
    RESYNC_MAX,
)
from ..store import catalog
from ..store import tickets as store
from ..store.db import DatabaseClosed
from .presence import SharedPresence
from .rooms import ALL_ZONES, PEOPLE, SUPERVISORS, pad_room, ticket_room, zone_room
from .sequencer import CallMark, LocalMark, Unavailable

log = logging.getLogger(__name__)

#: Queue counts go out at most this often: with hundreds of boards every `queue` event
#: is hundreds of socket writes, and counts twice a second are fresh enough for people.
FLUSH_INTERVAL_S = 0.5
#: A fan-out to many clients goes in waves (see Realtime._fan_out): the first this big,
FIRST_WAVE = 8
#: the next ones this big.
WAVE = 64
#: How often open connections are checked against the database (revoked devices,
#: sessions and tokens): a revocation by another process takes effect within this.
SWEEP_INTERVAL_S = 3.0


class Realtime:
    def __init__(
        self, app: Flask, socketio: SocketIO, context: Context, mark: CallMark | None = None
    ) -> None:
        self.app = app
        self.socketio = socketio
        self.ctx = context
        #: Several processes share the events through a message queue: rooms and their
        #: members are known only where each client is connected, so emits go to the
        #: room itself (the queue hands them to every process) instead of this process's
        #: members, and nothing is skipped because no member is here.
        self.shared = context.cfg.message_queue is not None
        self._seq_lock = threading.Lock()
        if mark is None:
            with context.db.connection() as conn:
                mark = LocalMark(store.last_seq(conn))
        self.mark: CallMark = mark
        #: Every process's connection counts, when several share a queue.
        self.presence: SharedPresence | None = None
        self._version = 0
        #: The newest ticket event the last flush saw (see _follow_others).
        self._events_seen = 0
        self._dirty_services: set[str] = set()
        self._dirty_lock = threading.Lock()
        self._flusher_started = False
        self._sweeper_started = False
        self.stopped = False
        self._last_summary: list[dict[str, Any]] | None = None
        #: Queue summaries are numbered in the order they are read (see queue_summary);
        #: what each boards' room last got, from a call or a flush.
        self._summary_lock = threading.Lock()
        self._boards_have: dict[str, list[dict[str, Any]]] = {}
        self.identities: dict[tuple[str, str], Identity] = {}
        #: Counter views the boards just got inside a call (see publish_counter).
        self._views_in_calls: dict[int, dict[str, Any]] = {}

    # --- calls ----------------------------------------------------------------------------
    def publish_calls(self) -> list[dict[str, Any]]:
        """Emit every committed call not yet emitted, in seq order (returns them).

        Each call carries its counter's view (`counter_view`) and the queues as they
        are after it (`queue`, numbered like the `queue` event), so a board updates
        the counter's tile and the waiting counts from the call itself, and neither
        the `counter` event nor the queue flush that follow go to its boards again:
        with hundreds of boards, each such second round of socket writes would delay
        the next call by as long as the first took."""
        try:
            return self._publish_calls()
        except Unavailable as exc:
            # Committed calls stay in the database: the next publish, by any process,
            # sends them, and boards that miss one ask for it (`resync`).
            log.warning("calls not published now, the shared mark is unavailable: %s", exc)
            return []

    def last_emitted(self) -> int:
        """The last call published live (by any process when they share a queue)."""
        try:
            return self.mark.get()
        except Unavailable as exc:
            log.warning("call mark unavailable: %s", exc)
            return 0

    def _publish_calls(self) -> list[dict[str, Any]]:
        sent = []
        with self._seq_lock, self.mark.held():
            after = self.mark.get()
            with self.ctx.db.read() as conn:
                rows = store.calls_after(conn, after, limit=RESYNC_MAX)
                if not rows and after and store.last_seq(conn) < after:
                    # The database went back (a restore): the shared mark follows it.
                    self.mark.set(store.last_seq(conn))
                names = hall.service_names(conn) if rows else {}
                first = rows[0]["seq"] if rows else 0
                prev_all = store.calls_before_in_zone(conn, first, None)
                prev_zone = {
                    z: store.calls_before_in_zone(conn, first, z) for z in {r["zone"] for r in rows}
                }
                views = {n: hall.one_counter(conn, n) for n in {r["counter"] for r in rows}}
                queue = self.queue_summary(conn) if rows else None
            for row in rows:
                self.mark.keep()  # several processes: still ours, or stop (see sequencer)
                payload = hall.call_payload(row, names, self.ctx.announcer)
                shown = {**payload, "counter_view": views[row["counter"]], "queue": queue}
                self._fan_out(EV_CALL, {**shown, "prev_seq": prev_all}, NS_DISPLAY, ALL_ZONES)
                prev_all = row["seq"]
                self._fan_out(
                    EV_CALL,
                    {**shown, "prev_seq": prev_zone[row["zone"]]},
                    NS_DISPLAY,
                    zone_room(row["zone"]),
                )
                prev_zone[row["zone"]] = row["seq"]
                self.mark.set(row["seq"])
                sent.append(payload)
            self._views_in_calls.update((n, v) for n, v in views.items() if v is not None)
            if queue is not None:
                for room in (ALL_ZONES, *(zone_room(z) for z in prev_zone)):
                    self._boards_have[room] = queue["services"]
        if sent:
            # Let the sockets' writers deliver the calls now, before this request queues
            # counter and queue updates behind them: the boards' latency is the call's.
            self.socketio.sleep(0)
        for payload in sent:
            self.socketio.start_background_task(
                self._render_audio, payload["label"], payload["counter"]
            )
        return sent

    def publish_call_state(self, t: dict[str, Any]) -> None:
        """A called ticket moved on (start, finish, no-show, transfer): its boards mark
        its latest call, so none keeps inviting a citizen who has gone (or came)."""
        with self._seq_lock:
            with self.ctx.db.read() as conn:
                row = store.latest_call_of(conn, t["id"])
            if row is None or row["seq"] > self.last_emitted():
                return  # never called, or its call is not out yet: that carries the state
            body = {
                "seq": row["seq"],
                "ticket_id": row["ticket_id"],
                "label": row["label"],
                "counter": row["counter"],
                "zone": row["zone"],
                "state": hall.call_state(row),
            }
            self._fan_out(EV_CALL_STATE, body, NS_DISPLAY, ALL_ZONES)
            self._fan_out(EV_CALL_STATE, body, NS_DISPLAY, zone_room(row["zone"]))

    def _render_audio(self, label: str, counter: int) -> None:
        if self.ctx.announcer is not None:
            self.ctx.announcer.render(label, counter)

    # --- counters, tickets, queues --------------------------------------------------------
    def publish_counter(self, number: int) -> None:
        # Under the calls' lock: a fan-out yields between its waves, and a counter's view
        # must reach the boards in the order it was read, also relative to the view a
        # call carries.
        with self._seq_lock:
            with self.ctx.db.read() as conn:
                view = hall.one_counter(conn, number)
            if view is None:
                return
            body = {"counter": view}
            if self._views_in_calls.pop(number, None) == view:
                # The boards already have this view from the call: only people's live
                # views on /display (supervisors) listen for `counter` alone.
                self.socketio.emit(EV_COUNTER, body, namespace=NS_DISPLAY, to=PEOPLE)
            else:
                self._fan_out(EV_COUNTER, body, NS_DISPLAY, ALL_ZONES)
                self._fan_out(EV_COUNTER, body, NS_DISPLAY, zone_room(view["zone"]))
            self._fan_out(EV_COUNTER, body, NS_COUNTER)

    def _fan_out(self, event: str, body: Any, namespace: str, room: str | None = None) -> None:
        """Emit to a room (None: the whole namespace) in waves, letting the sockets'
        writers run between them.  Queued all at once, the first board's frame waited
        behind every other board's queueing and every frame queued just before it (the
        queue summary goes to every board twice a second); in waves, the first boards
        get it at once and a call arriving meanwhile waits for one wave, not all.
        Waves of two fan-outs may interleave: emits whose order matters for a board
        (calls, counter views) run under ``_seq_lock``; queue summaries are whole states
        that a later one replaces.
        With a message queue the room's members are spread over the processes: one emit
        to the room, which every process hands to its own members."""
        if self.shared:
            self.socketio.emit(event, body, namespace=namespace, to=room)
            return
        clients = [sid for sid, _ in self.socketio.server.manager.get_participants(namespace, room)]
        if len(clients) <= FIRST_WAVE:
            if clients:
                self.socketio.emit(event, body, namespace=namespace, to=room)
            return
        start, size = 0, FIRST_WAVE
        while start < len(clients):
            if start:
                self.socketio.sleep(0)
            self.socketio.emit(event, body, namespace=namespace, to=clients[start : start + size])
            start, size = start + size, WAVE

    def publish_ticket(self, t: dict[str, Any]) -> None:
        room = ticket_room(t["token"])
        if not self._has_members(NS_TRACK, room):
            return  # nobody follows it (on any process, when they share a queue)
        with self.ctx.db.read() as conn:
            body = {"ticket": hall.public_ticket(conn, self.ctx.cfg, t, self.ctx.now())}
        self.socketio.emit(EV_TICKET, body, namespace=NS_TRACK, to=room)

    def queue_changed(self, *services: str) -> None:
        """Mark queues whose counts and positions moved; the flusher publishes them."""
        with self._dirty_lock:
            self._dirty_services.update(services)
            start = not self._flusher_started
            self._flusher_started = True
        if start:
            self.socketio.start_background_task(self._flush_loop)

    def start_flusher(self) -> None:
        self.queue_changed()

    def flush(self) -> None:
        with self._dirty_lock:
            dirty, self._dirty_services = self._dirty_services, set()
        if not dirty:
            if self.shared:
                self._follow_others()
            return
        now = self.ctx.now()
        with self.ctx.db.read() as conn:
            body = self.queue_summary(conn, now)
            summary = body["services"]
            self._events_seen = store.last_event_id(conn)
            updates = self._followers(conn, now, dirty)
            rooms = self._board_rooms(conn)
        if summary != self._last_summary:  # e.g. a recall moves nothing in the queues
            self._last_summary = summary
            for ns in (NS_COUNTER, NS_KIOSK):
                self._fan_out(EV_QUEUE, body, ns)
        # Boards, room by room: those that got these queues inside a call need nothing.
        for room in rooms:
            if self._boards_have.get(room) != summary:
                self._boards_have[room] = summary
                self._fan_out(EV_QUEUE, body, NS_DISPLAY, room)
        self._send_followers(updates)

    def _followers(
        self, conn: Any, now: datetime, dirty: set[str] | None
    ) -> list[tuple[str, dict[str, Any]]]:
        """The live view of each waiting ticket followed here (a handful, not every
        waiting ticket) in the `dirty` queues (None: in any queue)."""
        day = business_day(now, self.ctx.cfg.tz).isoformat()
        followers = [
            t
            for t in store.tickets_by_tokens(conn, self._followed_tokens())
            if t["status"] == "waiting"
            and t["day"] == day
            and (dirty is None or t["queue_service"] in dirty)
        ]
        return [(t["token"], hall.public_ticket(conn, self.ctx.cfg, t, now)) for t in followers]

    def _follow_others(self) -> None:
        """With several processes, a ticket followed here may move through another
        process, whose flush only knows its own followers: when the tickets' history
        has moved since the last look, the followers here get their new positions."""
        if not self._followed_tokens():
            return
        now = self.ctx.now()
        with self.ctx.db.read() as conn:
            seen = store.last_event_id(conn)
            if seen == self._events_seen:
                return
            self._events_seen = seen
            updates = self._followers(conn, now, None)
        self._send_followers(updates)

    def _board_rooms(self, conn: Any) -> list[str]:
        """The boards' rooms: those someone is in here, or, with a message queue (the
        boards are on every process), every zone the center has."""
        if not self.shared:
            return self._rooms_in_use(NS_DISPLAY, zone_room(""))
        return [ALL_ZONES, *(zone_room(z) for z in catalog.zones(conn))]

    def _send_followers(self, updates: list[tuple[str, dict[str, Any]]]) -> None:
        for token, view in updates:
            self.socketio.emit(
                EV_TICKET, {"ticket": view}, namespace=NS_TRACK, to=ticket_room(token)
            )

    def queue_summary(self, conn: Any, now: datetime | None = None) -> dict[str, Any]:
        """The queues' summary and its number.  Numbers follow the order of the reads,
        so a board that gets two summaries out of order — a call's and a flush's
        fan-outs may interleave — keeps the newer one.  The number is the wall clock
        in microseconds when the read began (made to grow within the process), so
        summaries read by different processes — or before a restart — compare too."""
        with self._summary_lock:
            version = self._version = max(self._version + 1, time.time_ns() // 1000)
            services = hall.services_summary(conn, self.ctx.cfg, now or self.ctx.now())
        return {"services": services, "version": version}

    def queue_read(self) -> None:
        """A console just read the queues over HTTP, between two flushes: it may show a
        state that was never emitted, so the next flush must emit even if its summary
        equals the last one sent (two changes inside one flush window cancel out)."""
        self._last_summary = None

    def _flush_loop(self) -> None:
        while not self.stopped:
            self.socketio.sleep(FLUSH_INTERVAL_S)
            try:
                with self.app.app_context():
                    self.flush()
            except DatabaseClosed:
                return  # the app shut down
            except Exception:  # the loop must survive one bad flush; log it with its trace
                log.exception("realtime flush failed")

    def stop(self) -> None:
        self.stopped = True

    def _followed_tokens(self) -> list[str]:
        prefix = ticket_room("")
        return [r[len(prefix) :] for r in self._rooms_in_use(NS_TRACK, prefix)]

    def _rooms_in_use(self, namespace: str, prefix: str) -> list[str]:
        """The namespace's rooms named `prefix…` that someone is in."""
        rooms = self.socketio.server.manager.rooms.get(namespace, {})
        return [r for r, members in list(rooms.items()) if r and r.startswith(prefix) and members]

    def _has_members(self, namespace: str, room: str) -> bool:
        """Whether someone is in the room — here; with a message queue, someone may be
        on another process, so yes."""
        if self.shared:
            return True
        rooms = self.socketio.server.manager.rooms.get(namespace, {})
        return bool(rooms.get(room))

    # --- counter pads (ratings) ------------------------------------------------------------
    def ticket_finished(self, t: dict[str, Any] | None) -> None:
        """Ask the pad of the ticket's counter to show the satisfaction faces."""
        if not t or t.get("counter") is None or t.get("status") != "done":
            return
        room = pad_room(t["counter"])
        if not self._has_members(NS_PAD, room):
            return
        with self.ctx.db.read() as conn:
            payload = pad_prompt(conn, t)
        self.socketio.emit(EV_RATE, payload, namespace=NS_PAD, to=room)

    def ticket_rated(self, counter: int, token: str) -> None:
        """A rating arrived (pad or phone): the pad showing that ticket goes back to idle."""
        self.socketio.emit(
            EV_RATED, {"ticket_token": token}, namespace=NS_PAD, to=pad_room(counter)
        )

    def alert_supervisors(self, alert: dict[str, Any]) -> None:
        """Something in the hall needs a supervisor now (after the commit that audited it)."""
        self.socketio.emit(EV_ALERT, alert, namespace=NS_DISPLAY, to=SUPERVISORS)

    # --- sessions -------------------------------------------------------------------------
    def disconnect_identity(self, kind: str, ident: int) -> int:
        """Drop every open connection of a revoked device or user at once."""
        return self._drop(lambda who: who.kind == kind and who.id == ident)

    def disconnect_session(self, credential: str) -> int:
        """Drop the connections a staff session opened (that browser signed out)."""
        return self._drop(lambda who: who.via == "session" and who.credential == credential)

    def _drop(self, which: Callable[[Identity], bool]) -> int:
        gone = [key for key, who in list(self.identities.items()) if which(who)]
        return self._disconnect(gone)

    def _disconnect(self, keys: list[tuple[str, str]]) -> int:
        for ns, sid in keys:
            self.socketio.server.disconnect(sid, namespace=ns)
            self.identities.pop((ns, sid), None)
        return len(keys)

    def watch_identities(self) -> None:
        """Start the sweep (once): called when a connection with an identity is accepted."""
        with self._dirty_lock:
            start = not self._sweeper_started
            self._sweeper_started = True
        if start:
            self.socketio.start_background_task(self._sweep_loop)

    def device_connections(self) -> Counter[int]:
        """Connections per device id: this process's, and with a message queue the
        other processes' as they last published them (see `presence`)."""
        here = Counter(who.id for who in list(self.identities.values()) if who.kind == "device")
        if self.presence is None:
            return here
        return here + self.presence.others()

    def sweep(self) -> int:
        """Drop the connections whose credential no longer holds: a device revoked or
        rotated, a session signed out, a token revoked, an account switched off or its
        rights changed — by this process or by another one (`motcua device revoke`),
        which is why the database is asked, not this process's memory.  Returns how
        many connections were dropped."""
        items = list(self.identities.items())
        if self.presence is not None:
            self.presence.publish(Counter(w.id for _, w in items if w.kind == "device"))
        if not items:
            return 0
        valid = logins.still_valid(self.ctx.db, [who for _, who in items], self.ctx.now())
        gone = [key for (key, _), ok in zip(items, valid, strict=True) if not ok]
        if gone:
            log.info("dropping %d connection(s) whose credentials no longer hold", len(gone))
        return self._disconnect(gone)

    def _sweep_loop(self) -> None:
        while not self.stopped:
            self.socketio.sleep(SWEEP_INTERVAL_S)
            try:
                self.sweep()
            except DatabaseClosed:
                return  # the app shut down
            except Exception:  # the loop must survive one bad sweep; log it with its trace
                log.exception("realtime sweep failed")


def pad_prompt(conn: Any, t: dict[str, Any]) -> dict[str, Any]:
    """The `rate` payload: what the pad shows above the faces."""
    counter = catalog.counter(conn, t["counter"])
    svc = catalog.service(conn, t["queue_service"]) or {}
    return {
        "ticket_token": t["token"],
        "label": t["label"],
        "counter": t["counter"],
        "counter_name": counter["name"] if counter else None,
        "service": t["queue_service"],
        "service_name_vi": svc.get("name_vi"),
        "service_name_en": svc.get("name_en"),
        "finished_at": t["finished_at"],
    }
