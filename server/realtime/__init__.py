"""Socket.IO, server side: everything the server pushes and the namespaces clients join.

- `rooms` — one helper per room name;
- `events` — `Realtime`, the publishers the API calls after commit (calls in `seq`
  order, counters, coalesced queue counts, tracking, pads, alerts, revocations);
- `sockets` — the namespaces: who may connect, what a client gets then, what it may ask;
- `kiosk` — print jobs and printer state on /kiosk (`kiosk_agents`: which agent serves
  each kiosk, shared by the processes); `sound` — boards' sound reports;
- `guard` — the cap on Socket.IO sessions per address that no token vouches for;
- with a message queue: `sequencer` (the calls' mark in Redis), `presence` (devices'
  connections on every process).

`init_realtime` wires them to the app.  Nothing here is imported by a lower layer: the
API and pages reach the publishers through `Context.realtime`."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_socketio import SocketIO

from .. import connlimits, redis_client
from ..context import Context
from ..protocol import NS_COUNTER, NS_DISPLAY, NS_KIOSK, NS_PAD, NS_TRACK
from ..security import origin_check
from ..store import tickets as store
from .events import Realtime
from .guard import AnonymousSockets
from .kiosk import install_kiosk
from .kiosk_agents import SharedAgents
from .presence import SharedPresence
from .sequencer import CallMark, LocalMark, RedisMark
from .sockets import CounterNamespace, DisplayNamespace, PadNamespace, TrackNamespace
from .sound import SoundDesk


def init_realtime(app: Flask, *, async_mode: str = "threading") -> Realtime:
    context: Context = app.extensions["motcua"]
    cfg = context.cfg
    queue: dict[str, Any] = {}
    if cfg.message_queue:
        # Flask-SocketIO's own Redis manager: every emit goes through the channel and
        # each process hands it to its own clients.
        queue = {"message_queue": cfg.message_queue, "channel": f"{cfg.realtime_channel}:socketio"}
    socketio = SocketIO(
        app,
        async_mode=async_mode,
        # Browsers may connect only from the server's own pages (see server.security).
        cors_allowed_origins=origin_check(
            app.extensions["motcua.security"], context.cfg.public_url
        ),
        logger=False,
        engineio_logger=False,
        ping_interval=10,
        ping_timeout=20,
        # Only these: a session may not wait in the default namespace "/" uncounted.
        namespaces=[NS_DISPLAY, NS_COUNTER, NS_KIOSK, NS_TRACK, NS_PAD],
        **queue,
    )
    rt = Realtime(app, socketio, context, _call_mark(context))
    sound = app.extensions["motcua.sound"] = SoundDesk(rt)
    for cls, ns in (
        (DisplayNamespace, NS_DISPLAY),
        (CounterNamespace, NS_COUNTER),
        (TrackNamespace, NS_TRACK),
        (PadNamespace, NS_PAD),
    ):
        handler = cls(ns)
        handler.rt = rt
        if isinstance(handler, DisplayNamespace):
            handler.sound = sound
        socketio.on_namespace(handler)
    app.extensions["motcua.socketio"] = socketio
    limits = connlimits.settings(context.cfg)
    app.extensions["motcua.connections"] = limits  # the worker's (server/wsgi.py)
    app.extensions["motcua.anonymous_sockets"] = AnonymousSockets(socketio.server, limits)
    agents = None
    if cfg.message_queue:
        shared = redis_client.client(cfg.message_queue)
        agents = SharedAgents(shared, cfg.realtime_channel)
        rt.presence = SharedPresence(shared, cfg.realtime_channel)
    # /kiosk: the base namespace plus print jobs and printer state
    install_kiosk(app, rt, agents)
    if rt.shared:
        rt.start_flusher()  # followers here move with other processes' writes too
    return rt


def _call_mark(context: Context) -> CallMark:
    with context.db.connection() as conn:
        last = store.last_seq(conn)
    url = context.cfg.message_queue
    if url is None:
        return LocalMark(last)
    return RedisMark(redis_client.client(url), context.cfg.realtime_channel, last)
