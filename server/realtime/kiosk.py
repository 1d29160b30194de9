"""The /kiosk namespace at work: print jobs to a kiosk's agent, their outcome and the
printer's state to the kiosk's page, and the live view supervisors use to spot a broken
kiosk.

A kiosk is two clients in one room (``kiosk_room``): the touch page (paired session
cookie) and the agent next to the printer (device token, ``auth.agent = true``).  Print
jobs go only to the agent's own room, and one agent per kiosk is kept — a second one
replaces the first — so a job is never handed to two printers.  Everything here runs
after the domain call has committed (``server.printjobs``)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, current_app, has_request_context, request
from flask_socketio import ConnectionRefusedError as SocketRefused
from flask_socketio import disconnect, emit, join_room

from .. import printjobs
from ..accounts import Identity, token_hash
from ..auth import socket_identity
from ..errors import MotcuaError
from ..protocol import EV_ERROR, EV_PRINT, EV_PRINT_STATUS, EV_PRINTER, NS_KIOSK, DeviceKind
from ..public_url import public_base
from .events import Realtime
from .kiosk_agents import Agents, LocalAgents
from .rooms import kiosk_agent_room, kiosk_room
from .sockets import KioskNamespace

log = logging.getLogger(__name__)


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


class KioskHub:
    def __init__(self, rt: Realtime, agents: Agents | None = None) -> None:
        self.rt = rt
        self.ctx = rt.ctx
        #: Each kiosk's agent and printer: the same on every process (kiosk_agents).
        self.agents: Agents = agents or LocalAgents()
        self._lock = threading.Lock()
        #: The kiosk pages connected to this process, and which kiosk each sid is.
        self._pages: dict[int, set[str]] = {}
        self._sid_device: dict[str, int] = {}

    def job_base(self, device_id: int) -> str:
        """Where the QR of this kiosk's tickets points: `center.public_url`, else the
        address its agent reached the server at (or the ticket request's), with a
        loopback name replaced by the LAN address (server.public_url)."""
        reached = self.agents.get(device_id).agent_url
        if reached is None and has_request_context():
            reached = request.host_url
        return public_base(self.ctx.cfg.public_url, reached)

    def agent_present(self, device_id: int) -> bool:
        return self.agents.get(device_id).agent_sid is not None

    # --- HTTP: a ticket was issued on a kiosk ---------------------------------------------
    def ticket_issued(
        self, who: Identity, ticket: dict[str, Any], body: dict[str, Any], data: dict[str, Any]
    ) -> dict[str, Any]:
        """Hand the ticket's print job to the kiosk's agent; returns the `print` part of the
        201 body, so the page knows at once when no agent is there to print."""
        c = self.ctx
        state = self.agents.get(who.id)
        agent, printer = state.agent_sid is not None, state.printer
        if not agent:
            # The ticket stays valid; the agent prints it if it comes back within minutes
            # (the job is rebuilt from the ticket then: only its id is needed now).
            return {
                "job_id": printjobs.job_id_for(ticket),
                "printer": printer,
                "agent": False,
                "status": str(printjobs.PrintJobStatus.QUEUED),
            }
        lang = data.get("lang") if isinstance(data.get("lang"), str) else "vi"
        service = {"name_vi": body["service_name_vi"], "name_en": body["service_name_en"]}
        with c.db.read() as conn:
            counters = printjobs.serving_counters(conn, ticket["queue_service"])
        job = printjobs.build_job(
            c.cfg,
            ticket,
            service,
            people_ahead=body["people_ahead"],
            estimated_wait_min=body["estimated_wait_min"],
            base_url=self.job_base(who.id),
            counters=counters,
            lang=str(lang),
        )
        printjobs.record_sent(c.db, job, who.id, ticket["day"], c.now())
        self.rt.socketio.emit(
            EV_PRINT, {"job": job}, namespace=NS_KIOSK, to=kiosk_agent_room(who.id)
        )
        return {
            "job_id": job["job_id"],
            "printer": printer,
            "agent": True,
            "status": str(printjobs.PrintJobStatus.SENT),
        }

    # --- Socket.IO: connections -----------------------------------------------------------
    def agent_connected(self, who: Identity, sid: str, token: str) -> None:
        c = self.ctx
        with self._lock:
            self._sid_device[sid] = who.id
        old = self.agents.connect(who.id, sid, token_hash(token), request.host_url)
        join_room(kiosk_agent_room(who.id))
        if old is not None and old != sid:
            log.warning("kiosk %s: a new agent connected; dropping the previous one", who.name)
            self.rt.socketio.emit(
                EV_ERROR,
                {"error": {"code": "replaced", "message": "Another agent serves this kiosk."}},
                namespace=NS_KIOSK,
                to=old,
            )
            # on whichever process holds it (the message queue carries the disconnect)
            self.rt.socketio.server.disconnect(old, namespace=NS_KIOSK)
        now = c.now()
        printjobs.record_seen(c.db, who.id, now)
        jobs = printjobs.jobs_to_resend(c.db, c.cfg, who.id, now, self.job_base(who.id))
        for job in jobs:
            emit(EV_PRINT, {"job": job})
        log.info("kiosk %s: agent connected, %d job(s) to print", who.name, len(jobs))
        self._publish_printer(who.id)

    def page_connected(self, who: Identity, sid: str) -> None:
        with self._lock:
            self._pages.setdefault(who.id, set()).add(sid)
            self._sid_device[sid] = who.id
        known = self.agents.get(who.id)
        state = {"printer": known.printer, "agent": known.agent_sid is not None}
        printjobs.record_seen(self.ctx.db, who.id, self.ctx.now())
        emit(EV_PRINTER, state)

    def disconnected(self, sid: str) -> None:
        with self._lock:
            device_id = self._sid_device.pop(sid, None)
            if device_id is None:
                return
            self._pages.get(device_id, set()).discard(sid)
        if self.agents.disconnect(device_id, sid):
            log.info("kiosk #%d: agent disconnected", device_id)
            self._publish_printer(device_id)

    def _is_agent(self, who: Identity | None, sid: str) -> bool:
        return who is not None and self.agents.get(who.id).agent_sid == sid

    # --- Socket.IO: agent events ----------------------------------------------------------
    def printed(self, who: Identity | None, sid: str, data: Any) -> dict[str, Any]:
        if who is None or not self._is_agent(who, sid):
            return _refusal("not_agent", "Only the kiosk's agent reports print jobs.")
        try:
            job = printjobs.acknowledge(self.ctx.db, who.id, data, self.ctx.now())
        except MotcuaError as exc:
            log.warning("kiosk %s: bad printed event: %s", who.name, exc.message)
            return _refusal(exc.code, exc.message)
        printer = data.get("printer") or self.agents.get(who.id).printer
        if data.get("printer"):
            self._set_printer(who.id, data["printer"], None)
        ok = job["status"] == printjobs.PrintJobStatus.PRINTED
        if not ok:
            log.warning("kiosk %s: job %s failed: %s", who.name, job["id"], job["error"])
        self.rt.socketio.emit(
            EV_PRINT_STATUS,
            {
                "ticket_id": job["ticket_id"],
                "job_id": job["id"],
                "label": job["payload"]["label"],
                "ok": ok,
                "error": None if ok else job["error"],
                "printer": printer,
            },
            namespace=NS_KIOSK,
            to=kiosk_room(who.id),
        )
        return {"ok": True, "status": job["status"]}

    def heartbeat(self, who: Identity | None, sid: str, data: Any) -> dict[str, Any]:
        if who is None or not self._is_agent(who, sid):
            return _refusal("not_agent", "Only the kiosk's agent sends heartbeats.")
        if not printjobs.device_still_valid(
            self.ctx.db, who.id, self.agents.get(who.id).token_hash
        ):
            self._drop_revoked(who)
            return _refusal("revoked", "This kiosk's token was revoked or replaced.")
        try:
            printer, detail = printjobs.parse_heartbeat(data)
        except MotcuaError as exc:
            return _refusal(exc.code, exc.message)
        # The detail (memory) before the state (database): a status read in between must
        # never find a new printer state with the old state's detail.
        self._set_printer(who.id, printer, detail)
        printjobs.record_seen(self.ctx.db, who.id, self.ctx.now(), printer)
        return {"ok": True}

    def _drop_revoked(self, who: Identity) -> None:
        """A revoked kiosk loses its agent and its pages (which then cannot reconnect)."""
        log.warning("kiosk %s: token revoked or rotated; disconnecting it", who.name)
        emit(EV_ERROR, {"error": {"code": "revoked", "message": "Mã thiết bị đã bị thu hồi."}})
        with self._lock:
            pages = list(self._pages.get(who.id, ()))
        for page_sid in pages:  # here; another process's sweep drops its own
            self.rt.socketio.server.disconnect(page_sid, namespace=NS_KIOSK)
        disconnect()

    def _set_printer(self, device_id: int, printer: str, detail: str | None) -> None:
        if self.agents.set_printer(device_id, printer, detail):
            self._publish_printer(device_id)

    def _publish_printer(self, device_id: int) -> None:
        known = self.agents.get(device_id)
        state = {"printer": known.printer, "agent": known.agent_sid is not None}
        self.rt.socketio.emit(EV_PRINTER, state, namespace=NS_KIOSK, to=kiosk_room(device_id))

    # --- supervisors ----------------------------------------------------------------------
    def device_status(self, lang: str = "vi") -> list[dict[str, Any]]:
        connections = self.rt.device_connections()  # on every process
        live: dict[int, dict[str, Any]] = {
            device_id: {"agent": k.agent_sid is not None, "printer_detail": k.detail}
            for device_id, k in self.agents.all().items()
        }
        with self._lock:
            for device_id, pages in self._pages.items():
                live.setdefault(device_id, {})["pages"] = len(pages)
        for device_id, n in connections.items():
            info = live.setdefault(device_id, {})
            info["connections"] = n
            if self.rt.presence is not None:
                # A kiosk's page may be on another process: its connections but the agent.
                others = n - (1 if info.get("agent") else 0)
                info["pages"] = max(info.get("pages", 0), others)
        c = self.ctx
        return printjobs.device_report(c.db, c.cfg, c.now(), live, lang)


class KioskPrintNamespace(KioskNamespace):
    """The base /kiosk namespace (server.sockets) plus agents, print jobs and heartbeats."""

    hub: KioskHub

    def on_connect(self, auth: Any = None) -> None:
        who = socket_identity(auth)
        if who is None or who.device_kind != DeviceKind.KIOSK:
            # message "unauthorized": how the page and the agent tell a refusal (revoked,
            # wrong kind) from a network error, and stop retrying
            raise SocketRefused(
                "unauthorized", {"code": "unauthorized", "message": "Cần mã thiết bị kiosk."}
            )
        super().on_connect(auth)  # joins kiosk_room, sends the queue
        sid: str = request.sid  # type: ignore[attr-defined]
        who = self.rt.identities[(self.namespace, sid)]
        token = auth.get("token") if isinstance(auth, dict) else None
        if isinstance(auth, dict) and auth.get("agent") is True and isinstance(token, str):
            self.hub.agent_connected(who, sid, token)
        else:
            self.hub.page_connected(who, sid)

    def on_disconnect(self, reason: Any = None) -> None:
        self.hub.disconnected(request.sid)  # type: ignore[attr-defined]
        super().on_disconnect(reason)

    def _who(self) -> tuple[Identity | None, str]:
        sid: str = request.sid  # type: ignore[attr-defined]
        return self.rt.identities.get((self.namespace, sid)), sid

    def on_printed(self, data: Any = None) -> dict[str, Any]:
        return self.hub.printed(*self._who(), data)

    def on_heartbeat(self, data: Any = None) -> dict[str, Any]:
        return self.hub.heartbeat(*self._who(), data)


def install_kiosk(app: Flask, rt: Realtime, agents: Agents | None = None) -> KioskHub:
    """Register /kiosk: the base namespace plus agents, print jobs and heartbeats."""
    kiosk_hub = KioskHub(rt, agents)
    handler = KioskPrintNamespace(NS_KIOSK)
    handler.rt = rt
    handler.hub = kiosk_hub
    rt.socketio.on_namespace(handler)
    app.extensions["motcua.kiosk"] = kiosk_hub
    return kiosk_hub


def hub() -> KioskHub:
    return current_app.extensions["motcua.kiosk"]
