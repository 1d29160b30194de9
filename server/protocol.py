"""Names shared by the server, the kiosk agent and the hall board.

Every state, namespace and event name lives here once, so a rename is one edit and a
client can never drift from the server.  Payload shapes are documented next to the
event constants; the server builds them in ``server.realtime.events`` (what it pushes) and
``server.realtime.sockets`` (what a client gets on connect or asks for), and the clients read
them in ``kiosk/`` and ``display/``.
"""

from __future__ import annotations

from enum import StrEnum


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    LAPSED = "lapsed"
    """A remote ticket passed over `remote.grace_calls` times before its holder checked in."""


#: States in which a ticket occupies a counter.
AT_COUNTER = (TicketStatus.CALLED, TicketStatus.SERVING)
#: States from which nothing moves any more.
FINAL = (TicketStatus.DONE, TicketStatus.NO_SHOW, TicketStatus.CANCELLED, TicketStatus.LAPSED)


class CallState(StrEnum):
    """How a call stands now, as boards show it (``state`` of every call payload)."""

    CALLED = "called"
    """The invitation stands: the ticket is called at that counter."""
    SERVING = "serving"
    """The citizen came: the ticket is being served at that counter."""
    DONE = "done"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    """Sent to another service or counter (or called again elsewhere since)."""
    CANCELLED = "cancelled"
    COUNTER_PAUSED = "counter_paused"
    COUNTER_CLOSED = "counter_closed"
    """The last two are judged by the boards from the counter's own state (a counter
    pauses or closes only when nobody is at it, so the server's calls never carry them)."""


#: Calls whose invitation still holds: the main call area of a board shows the newest.
ACTIVE_CALL = (CallState.CALLED, CallState.SERVING)


class SoundStatus(StrEnum):
    """What a board reports about its last chime and voice (``sound_status``)."""

    PLAYED = "played"
    FAILED = "failed"
    BLOCKED = "blocked"
    """The browser refused to play without a touch (the TV's autoplay policy)."""


class TicketAction(StrEnum):
    """Kinds of rows in ``ticket_event`` (the append-only history)."""

    ISSUE = "issue"
    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    TRANSFER = "transfer"
    CANCEL = "cancel"
    CHECK_IN = "check_in"
    """A remote ticket's holder arrived (kiosk or counter): it may be called now."""
    PASS = "pass"
    """A call went to someone after a remote ticket not checked in (detail: passes)."""
    LAPSE = "lapse"


class CounterState(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class PauseReason(StrEnum):
    BREAK = "break"
    MEETING = "meeting"
    ASSISTING = "assisting"
    TECHNICAL = "technical"


class Role(StrEnum):
    STAFF = "staff"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class DeviceKind(StrEnum):
    KIOSK = "kiosk"
    DISPLAY = "display"
    LOOKUP = "lookup"
    COUNTER = "counter"


class PrinterState(StrEnum):
    """What a kiosk agent's heartbeat says about its printer."""

    ONLINE = "online"
    PAPER_LOW = "paper_low"
    PAPER_OUT = "paper_out"
    OFFLINE = "offline"


class Channel(StrEnum):
    """How a ticket was issued (the kiosk id is stored beside it)."""

    KIOSK = "kiosk"
    STAFF = "staff"
    WEB = "web"
    REMOTE = "remote"
    """Taken from a phone (/lay-so) or a portal; called only after check-in."""


# --- Socket.IO namespaces -------------------------------------------------------------
NS_DISPLAY = "/display"
NS_COUNTER = "/counter"
NS_KIOSK = "/kiosk"
NS_TRACK = "/track"
#: counter pads (device kind "counter"): the citizen rates the service just finished there.
NS_PAD = "/pad"

# --- Events, server → client ------------------------------------------------------------
#: /display on connect: {"seq": int, "calls": [call...] (newest last), "counters": [counter...],
#:  "services": [service_summary...], "zone": str|None, "center": str, "notice": str}
EV_SNAPSHOT = "snapshot"
#: /display on every call and recall: {"seq", "ticket_id", "label", "counter", "counter_name",
#:  "service", "service_name", "recall": bool, "at": ISO-8601, "text": announcement,
#:  "audio_url": "/api/v1/audio/<key>.wav", "zone", "state": CallState, "prev_seq",
#:  "counter_view": counter|None}
#: "state" is how the call stands when it is read (live: "called"; in a snapshot, a resync
#: replay or GET /api/v1/calls: whatever happened to its ticket since), and `call_state`
#: events move it.  A board's main call area shows its newest call that is still active
#: (ACTIVE_CALL, at a counter the board sees open, and that counter's `serving` is that
#: ticket: "call next" finishes the previous citizen without a ticket event of its own,
#: so a counter that moved on to another ticket means "done"); ended calls stay in the
#: recent list, marked.
#: "counter_view" is the calling counter as the `counter` event would show it, sent live
#: only (not in resync replays): boards update the counter from it, and the `counter` event
#: that follows a call goes to people's live views on /display, not to the boards.
#: "prev_seq" is the seq of the call before this one on the receiving board's stream (its
#: zone's calls, or all calls for a board without a zone), 0 when none: a board whose last
#: seq is lower has missed a call and emits `resync` (zone boards see seqs skip, so
#: seq - 1 is not the previous call).  Calls in GET /api/v1/calls carry no prev_seq.
EV_CALL = "call"
#: /display, /counter, /kiosk: {"services": [service_summary...]} whenever waiting counts move.
EV_QUEUE = "queue"
#: /display, /counter: {"counter": counter} whenever a counter's state or ticket changes.
#: A `resync` reply starts with the `counter` views of the counters its calls were made
#: at (the boards missed the views those live calls carried).
EV_COUNTER = "counter"
#: /display (boards of the call's zone, and all-zone boards) when a called ticket moves on
#: (start, finish, no-show, transfer), before the counter's own `counter` event:
#:  {"seq": the ticket's latest call, "ticket_id", "label", "counter", "zone",
#:   "state": CallState}.  Boards update the call with that seq (older calls of the ticket
#:  are already replaced in their lists); nothing is sent while that call is unpublished.
EV_CALL_STATE = "call_state"
#: /display (the one board's room, device_room) when a supervisor asks for a test sound:
#:  {"id": str, "text": str, "audio_url": str|None} — chime then voice, reported back
#:  with `sound_status` like any announcement.
EV_SOUND_TEST = "sound_test"
#: /display, to supervisors' live views (room SUPERVISORS, never boards), when a board reports its
#: sound: {"device": id, "sound": {"status": SoundStatus, "detail": str|None, "at": ISO}}.
EV_DEVICE_SOUND = "device_sound"
#: /track: {"ticket": public ticket status} whenever the ticket's position or state moves.
EV_TICKET = "ticket"
#: /kiosk: {"job": print job} for a ticket issued on that kiosk.
EV_PRINT = "print"
#: /kiosk (the kiosk's room: its page and agent) when a print job's outcome is known:
#:  {"ticket_id", "job_id", "label", "ok": bool, "error": str|None, "printer": PrinterState}
EV_PRINT_STATUS = "print_status"
#: /kiosk (the kiosk's room) on a page's connect and whenever the printer's state changes:
#:  {"printer": PrinterState, "agent": bool (an agent is connected)}
EV_PRINTER = "printer"
#: /pad (room of the pad's counter) when a ticket at that counter is finished:
#:  {"ticket_token", "label", "counter", "counter_name", "service", "service_name_vi",
#:   "service_name_en", "finished_at"} — the pad shows the satisfaction faces.
EV_RATE = "rate"
#: /pad when that ticket has been rated (from the pad or the tracking page): {"ticket_token"}.
EV_RATED = "rated"
#: any namespace: {"error": {"code", "message"}} before the server disconnects a client.
EV_ERROR = "error"
#: /display, supervisors and admins only (their room, `realtime.SUPERVISORS`): something
#: in the hall needs them, e.g. a kiosk over its ticket limit:
#:  {"kind": "kiosk_ticket_limit", "device", "device_name", "at", "burst", "every_s"}
#:  or a person issuing tickets over the same limit:
#:  {"kind": "staff_ticket_limit", "device": null, "user", "user_name", "at", "burst", "every_s"}
EV_ALERT = "alert"

# --- Events, client → server ------------------------------------------------------------
#: /display: {"after": seq} → the server emits every missed `call` in order, or a fresh
#: `snapshot` when the gap is larger than RESYNC_MAX.
EV_RESYNC = "resync"
#: /track: {"token": ticket token} → joins that ticket's room and gets an `ticket` event.
EV_FOLLOW = "follow"
#: /counter: {"counter": number} → joins that counter's room (staff must be allowed there).
EV_JOIN = "join"
#: /kiosk: {"job_id", "ok": bool, "error": str|None} after printing a job.
EV_PRINTED = "printed"
#: /kiosk: {"printer": "online"|"paper_low"|"paper_out"|"offline", "detail": str}
EV_HEARTBEAT = "heartbeat"
#: /display (display devices only) after each announcement, and when a web board finds
#: its browser blocks sound: {"status": SoundStatus, "detail": str (≤ 200 chars),
#:  "announcement": "call-<seq>" | "test-<id>" | "probe" (web: a silent try at connect) |
#:  "startup" (pygame: no audio device, at each connection)}.  Stored on the device; the
#: supervisor's device list shows it.
EV_SOUND_STATUS = "sound_status"

RESYNC_MAX = 500
