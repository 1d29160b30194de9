"""The hall board's pure state model: what the board knows, fed by Socket.IO events.

The network client only translates events into method calls here and acts on the
returned outcomes (announce, ask for a resync); the renderer only reads.  Keeping the
rules in one place without pygame or sockets makes the hard promises testable alone:
a call is never shown twice, never shown out of order, and a board that comes back
after an outage does not replay a morning's worth of chimes.

Typical client wiring::

    state = BoardState()
    on snapshot:  for call in state.apply_snapshot(payload, now): maybe_announce(call)
    on call:      outcome = state.apply_call(payload, now)
                  for call in outcome.applied: maybe_announce(call)
                  if outcome.resync_after is not None: emit("resync", {"after": ...})
    every second: same as "on call" with state.tick(now)
    maybe_announce(call): if state.should_announce(call, now): audio.enqueue(...)

Every ``now`` is a timezone-aware datetime passed in by the caller, so tests are
deterministic and the model never reads a clock itself.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from display.payload import (
    BoardPayloadError,
    Call,
    Counter,
    Service,
    Serving,
    optional_int,
    optional_str,
    parse_call,
    parse_counter,
    parse_service,
    require,
)
from server.protocol import ACTIVE_CALL, CallState, CounterState

logger = logging.getLogger(__name__)

RECENT_MAX = 8
"""How many calls the board remembers for its "recently called" list."""


class CallStatus(enum.Enum):
    NEW = "new"
    """Shown now; ``CallOutcome.applied`` lists it (and any buffered calls it released)."""
    DUPLICATE = "duplicate"
    """Seen before (seq ≤ last seq, or already buffered): ignored."""
    GAP = "gap"
    """Earlier calls are missing: buffered until they arrive; the client must resync."""
    IDLE = "idle"
    """A tick with nothing to do."""


@dataclass(frozen=True)
class CallOutcome:
    """What the client must do after feeding a call (or a tick) into the model."""

    status: CallStatus
    applied: tuple[Call, ...] = ()
    """Calls that became visible, oldest first: candidates for announcement."""
    resync_after: int | None = None
    """When set, emit ``resync {"after": resync_after}``."""


@dataclass
class BoardState:
    """Everything one hall board shows, plus the bookkeeping that keeps calls in order.

    Feed it from one thread (the Socket.IO client's).  Updates replace containers
    instead of editing them, so the render loop on another thread always reads a
    whole list or dict, never one half-changed, without taking a lock.
    """

    lang: str = "vi"
    announce_max_age_s: float = 60.0
    resync_retry_s: float = 5.0
    """A gap still open after this long asks the server again (the reply may be lost)."""
    gap_timeout_s: float = 30.0
    """A gap still open after this long is given up: buffered calls are shown in order,
    so a missing call on the server side can never freeze the board."""
    clock_offset_s: float = 0.0
    """This board's clock minus the server's, in seconds.  Zero when the board keeps NTP
    time; a client that can see the server's time (an HTTP ``Date`` header) may set it
    so a box whose clock drifts still judges a call's age right."""
    connected: bool = False
    center: str = ""
    notice: str = ""
    zone: str | None = None
    last_seq: int = field(default=0, init=False)
    current_call: Call | None = field(default=None, init=False)
    recent_calls: list[Call] = field(default_factory=list, init=False)
    """Newest first, at most RECENT_MAX, one entry per ticket (a recall moves it up)."""
    services: list[Service] = field(default_factory=list, init=False)
    _queue_version: int = field(default=0, init=False)
    """The number of the queue summary shown (the server numbers them; 0: none)."""
    _counters: dict[int, Counter] = field(default_factory=dict, init=False)
    _has_baseline: bool = field(default=False, init=False)
    _pending: dict[int, Call] = field(default_factory=dict, init=False)
    _gap_since: datetime | None = field(default=None, init=False)
    _resync_asked_at: datetime | None = field(default=None, init=False)

    # --- reading ----------------------------------------------------------------------

    @property
    def counters(self) -> list[Counter]:
        """The board zone's counters, by number."""
        return [self._counters[n] for n in sorted(self._counters)]

    @property
    def zone_services(self) -> list[Service]:
        """Services served in this zone (all of them when the board has no zone)."""
        if self.zone is None:
            return list(self.services)
        codes = {code for c in self._counters.values() for code in c.services}
        if not codes:
            return list(self.services)
        return [s for s in self.services if s.code in codes]

    @property
    def main_call(self) -> Call | None:
        """The call the board shows big: the newest whose invitation still holds.

        A call that ended (no-show, finished, transferred, its counter paused or
        closed) must not keep inviting anyone: it stays in the recent list, marked,
        and the newest call still active takes the main area — or nothing does."""
        for call in self.recent_calls:
            if self.call_ended(call) is None:
                return call
        return None

    def call_ended(self, call: Call) -> str | None:
        """Why ``call`` no longer invites anyone (a ``CallState``), None while it holds.

        The server's word first (``call.state``); then the counter as this board sees
        it: paused or closed, or serving another ticket ("call next" finishes the
        previous citizen without an event of its own, so that means "done")."""
        if call.state not in ACTIVE_CALL:
            return call.state
        counter = self._counters.get(call.counter)
        if counter is None:
            return None  # a counter outside this board's zone: the call's state decides
        if counter.state == CounterState.PAUSED:
            return CallState.COUNTER_PAUSED
        if counter.state == CounterState.CLOSED:
            return CallState.COUNTER_CLOSED
        if counter.serving is None or not _same_ticket(counter.serving, call):
            return CallState.DONE
        return None

    @property
    def has_baseline(self) -> bool:
        """True once a snapshot or a call arrived: a later snapshot is a reconnect."""
        return self._has_baseline

    @property
    def awaiting_resync(self) -> bool:
        return bool(self._pending)

    def service_name(self, code: str, fallback: str) -> str:
        """A service's name in the board's language (calls carry only the Vietnamese)."""
        for service in self.services:
            if service.code == code:
                return service.name(self.lang)
        return fallback

    # --- feeding ----------------------------------------------------------------------

    def apply_snapshot(self, payload: Mapping[str, Any], now: datetime) -> list[Call]:
        """Replace everything with the server's view; return calls worth announcing.

        On the first snapshot nothing is returned (a board that boots is silent).  On a
        reconnect, the calls this board had not seen that are still fresh (see
        ``should_announce``) are returned and stamped as arrived now, so they flash: a
        short network blip still voices the call made during it, while the calls of a
        long outage only appear in the list.
        """
        seq = require(payload, "seq", int)
        raw_calls = payload.get("calls") or []
        calls = [parse_call(c) for c in raw_calls]
        counters = [parse_counter(c) for c in payload.get("counters") or []]
        services = [parse_service(s) for s in payload.get("services") or []]
        queue_version = optional_int(payload, "queue_version") or 0
        reconnect = self._has_baseline
        previous_seq = self.last_seq

        self.zone = optional_str(payload, "zone")
        self.center = str(payload.get("center") or "")
        self.notice = str(payload.get("notice") or "")
        self._counters = {c.number: c for c in counters if self._in_zone(c.zone)}
        self.services = services
        self._queue_version = queue_version
        recent: list[Call] = []
        fresh: list[Call] = []
        for call in sorted(calls, key=lambda c: c.seq):
            if not self._in_zone(call.zone):
                continue
            if reconnect and call.seq > previous_seq and self.should_announce(call, now):
                call = replace(call, arrived_at=now)
                fresh.append(call)
            recent = _push(recent, call)
        self.current_call = recent[0] if recent else None
        self.recent_calls = recent
        self.last_seq = max(seq, max((c.seq for c in calls), default=0))
        self._has_baseline = True
        self._pending = {s: c for s, c in self._pending.items() if s > self.last_seq}
        released = self._release_pending()
        if not self._pending:
            self._clear_gap()
        return fresh + [c for c in released if self._in_zone(c.zone)]

    def apply_call(self, payload: Mapping[str, Any], now: datetime) -> CallOutcome:
        call = parse_call(payload, arrived_at=now)
        self._apply_counter_view(payload.get("counter_view"))
        self._apply_queue_in_call(payload.get("queue"))
        if self._has_baseline and (call.seq <= self.last_seq or call.seq in self._pending):
            logger.debug("ignoring duplicate call seq=%s (last %s)", call.seq, self.last_seq)
            return CallOutcome(CallStatus.DUPLICATE)
        if self._has_baseline and _prev(call) > self.last_seq:
            self._pending[call.seq] = call
            if self._gap_since is None:
                self._gap_since = now
                self._resync_asked_at = now
                logger.info("call seq=%s after %s: gap, asking resync", call.seq, self.last_seq)
                return CallOutcome(CallStatus.GAP, resync_after=self.last_seq)
            return CallOutcome(CallStatus.GAP)
        self._has_baseline = True
        self.last_seq = call.seq
        self._show(call)
        applied = [call, *self._release_pending()]
        if not self._pending:
            self._clear_gap()
        return CallOutcome(
            CallStatus.NEW, applied=tuple(c for c in applied if self._in_zone(c.zone))
        )

    def tick(self, now: datetime) -> CallOutcome:
        """Re-ask for a resync that went unanswered, or give a hopeless gap up."""
        if not self._pending or self._gap_since is None:
            return CallOutcome(CallStatus.IDLE)
        if (now - self._gap_since).total_seconds() >= self.gap_timeout_s:
            first = self._pending[min(self._pending)]
            logger.warning(
                "calls after %s up to %s never arrived; showing the buffered calls",
                self.last_seq,
                first.seq,
            )
            self.last_seq = max(self.last_seq, _prev(first))
            released = tuple(c for c in self._release_pending() if self._in_zone(c.zone))
            if not self._pending:
                self._clear_gap()
                return CallOutcome(CallStatus.NEW, applied=released)
            # The buffer itself had a hole: a new gap, with its own timer and request.
            self._gap_since = self._resync_asked_at = now
            return CallOutcome(CallStatus.NEW, applied=released, resync_after=self.last_seq)
        asked = self._resync_asked_at or self._gap_since
        if (now - asked).total_seconds() >= self.resync_retry_s:
            self._resync_asked_at = now
            return CallOutcome(CallStatus.GAP, resync_after=self.last_seq)
        return CallOutcome(CallStatus.GAP)

    def apply_queue(self, payload: Mapping[str, Any]) -> None:
        """A queue summary, unless the board already shows a newer one: a call's and a
        flush's summaries may arrive out of order (the server numbers them)."""
        services = require(payload, "services", list)
        version = optional_int(payload, "version")
        if version is not None and version <= self._queue_version:
            logger.debug("ignoring queue summary %s (showing %s)", version, self._queue_version)
            return
        self.services = [parse_service(s) for s in services]
        if version is not None:
            self._queue_version = version

    def apply_call_state(self, payload: Mapping[str, Any]) -> bool:
        """A called ticket moved on: mark its call (True if this board shows it)."""
        seq = require(payload, "seq", int)
        state = str(require(payload, "state", str))

        def marked(call: Call) -> Call:
            return replace(call, state=state) if call.seq == seq else call

        shown = any(c.seq == seq for c in self.recent_calls)
        self.recent_calls = [marked(c) for c in self.recent_calls]
        if self.current_call is not None:
            self.current_call = marked(self.current_call)
        if seq in self._pending:
            self._pending[seq] = marked(self._pending[seq])
        return shown

    def apply_counter(self, payload: Mapping[str, Any]) -> None:
        counter = parse_counter(require(payload, "counter", Mapping))
        counters = dict(self._counters)
        if self._in_zone(counter.zone):
            counters[counter.number] = counter
        else:
            counters.pop(counter.number, None)
        self._counters = counters

    def _apply_queue_in_call(self, queue: Any) -> None:
        """A live call carries the queues after it (the server sends its boards no
        `queue` event for that change); a bad one loses the counts, not the call."""
        if queue is None:
            return
        try:
            if not isinstance(queue, Mapping):
                raise BoardPayloadError("field 'queue' must be an object")
            self.apply_queue(queue)
        except BoardPayloadError as exc:
            logger.warning("queue in a call ignored: %s", exc)

    def _apply_counter_view(self, view: Any) -> None:
        """A live call carries its counter as it is now (the server sends boards no
        `counter` event after a call); a bad view loses the tile update, not the call."""
        if view is None:
            return
        try:
            if not isinstance(view, Mapping):
                raise BoardPayloadError("field 'counter_view' must be an object")
            self.apply_counter({"counter": view})
        except BoardPayloadError as exc:
            logger.warning("counter in a call ignored: %s", exc)

    # --- announce policy ----------------------------------------------------------------

    def should_announce(self, call: Call, now: datetime) -> bool:
        """Voice a call only while it is fresh; recalls are fresh calls of their own.

        Calls that reach the board late (caught up after an outage) still appear in the
        list, but a hall does not want to hear a string of numbers nobody is waiting for.
        """
        if not self._in_zone(call.zone):
            return False
        age = (now - call.at).total_seconds() - self.clock_offset_s
        return age <= self.announce_max_age_s

    # --- internals ----------------------------------------------------------------------

    def _in_zone(self, zone: str | None) -> bool:
        return self.zone is None or zone is None or zone == self.zone

    def _show(self, call: Call) -> None:
        if self._in_zone(call.zone):
            self.recent_calls = _push(self.recent_calls, call)
            self.current_call = call

    def _release_pending(self) -> list[Call]:
        released = []
        while self._pending:
            call = self._pending[min(self._pending)]
            if _prev(call) > self.last_seq:
                break
            del self._pending[call.seq]
            if call.seq <= self.last_seq:
                continue
            self.last_seq = call.seq
            self._show(call)
            released.append(call)
        return released

    def _clear_gap(self) -> None:
        self._gap_since = None
        self._resync_asked_at = None


def _same_ticket(serving: Serving, call: Call) -> bool:
    if serving.ticket_id is not None and call.ticket_id is not None:
        return str(serving.ticket_id) == str(call.ticket_id)
    return serving.label == call.label


def _prev(call: Call) -> int:
    return call.prev_seq if call.prev_seq is not None else call.seq - 1


def _push(recent: list[Call], call: Call) -> list[Call]:
    """A new recent list with ``call`` on top and the ticket's older entry removed."""

    def key(c: Call) -> object:
        return c.ticket_id if c.ticket_id is not None else c.label

    return [call, *(c for c in recent if key(c) != key(call))][:RECENT_MAX]


def age_seconds(call: Call, now: datetime) -> float:
    """Seconds since the board learnt of ``call`` live (infinite for snapshot calls)."""
    if call.arrived_at is None:
        return float("inf")
    return (now - call.arrived_at).total_seconds()


__all__ = [
    "RECENT_MAX",
    "BoardState",
    "CallOutcome",
    "CallStatus",
    "age_seconds",
]
