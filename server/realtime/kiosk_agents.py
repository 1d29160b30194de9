"""Which agent serves each kiosk, and its printer as last reported.

The kiosk's page may ask for a ticket through one process while its agent is connected
to another: whether an agent is there (send the job now, or tell the page the printer
cannot print), which connection it is (one agent per kiosk: a second replaces the
first), and the printer's state must be the same on every process.  `LocalAgents` keeps
them in memory (one process, the default); `SharedAgents` in one Redis hash per kiosk
that lives `TTL_S` past the agent's last sign of life (its heartbeats refresh it), so a
process killed with its agent's entry does not leave a kiosk "connected" for long.
The print job itself goes to the agent's room, which the message queue delivers on
whichever process holds it."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from typing import Protocol

import redis

log = logging.getLogger(__name__)

#: Three of the agent's heartbeats (kiosk.agent.HEARTBEAT_S = 10 s).
TTL_S = 30


@dataclass(frozen=True)
class AgentState:
    agent_sid: str | None = None
    token_hash: str | None = None
    printer: str | None = None  # last reported printer state
    detail: str = ""
    agent_url: str | None = None  # the server address the agent connected to


class Agents(Protocol):
    def get(self, device_id: int) -> AgentState: ...

    def connect(self, device_id: int, sid: str, token_hash: str, url: str) -> str | None: ...

    def disconnect(self, device_id: int, sid: str) -> bool: ...

    def set_printer(self, device_id: int, printer: str, detail: str | None) -> bool: ...

    def all(self) -> dict[int, AgentState]: ...


class LocalAgents:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[int, AgentState] = {}

    def get(self, device_id: int) -> AgentState:
        with self._lock:
            return self._states.get(device_id, AgentState())

    def connect(self, device_id: int, sid: str, token_hash: str, url: str) -> str | None:
        """Make `sid` the kiosk's agent; returns the agent it replaces (None if none)."""
        with self._lock:
            old = self._states.get(device_id, AgentState())
            self._states[device_id] = replace(
                old, agent_sid=sid, token_hash=token_hash, agent_url=url
            )
            return old.agent_sid

    def disconnect(self, device_id: int, sid: str) -> bool:
        """Whether `sid` was the kiosk's agent (it no longer is)."""
        with self._lock:
            old = self._states.get(device_id, AgentState())
            if old.agent_sid != sid:
                return False
            self._states[device_id] = replace(old, agent_sid=None)
            return True

    def set_printer(self, device_id: int, printer: str, detail: str | None) -> bool:
        """Store the printer's state (and detail, unless None); whether the state changed."""
        with self._lock:
            old = self._states.get(device_id, AgentState())
            new = replace(old, printer=printer, detail=old.detail if detail is None else detail)
            self._states[device_id] = new
            return old.printer != printer

    def all(self) -> dict[int, AgentState]:
        with self._lock:
            return dict(self._states)


_CONNECT = """
local old = redis.call('HGET', KEYS[1], 'agent_sid')
redis.call('HSET', KEYS[1], 'agent_sid', ARGV[1], 'token_hash', ARGV[2], 'agent_url', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[5])
return old
"""
_DISCONNECT = """
if redis.call('HGET', KEYS[1], 'agent_sid') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'agent_sid', 'agent_url', 'token_hash')
  return 1
end
return 0
"""
_PRINTER = """
local old = redis.call('HGET', KEYS[1], 'printer')
redis.call('HSET', KEYS[1], 'printer', ARGV[1])
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'detail', ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[5])
if old == ARGV[1] then return 0 end
return 1
"""


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode()


class SharedAgents:
    """The same, in Redis: `<prefix>:kiosk:<id>` hashes and the set `<prefix>:kiosks` of
    the kiosks that have one.  Redis not answering: no agent is known (a job waits for
    the agent's next connection, which prints every job it missed), logged."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.redis = client
        self.prefix = prefix
        self.index = f"{prefix}:kiosks"
        self._connect = client.register_script(_CONNECT)
        self._disconnect = client.register_script(_DISCONNECT)
        self._printer = client.register_script(_PRINTER)

    def _key(self, device_id: int) -> str:
        return f"{self.prefix}:kiosk:{device_id}"

    @staticmethod
    def _state(raw: dict[bytes, bytes]) -> AgentState:
        return AgentState(
            agent_sid=_text(raw.get(b"agent_sid")),
            token_hash=_text(raw.get(b"token_hash")),
            printer=_text(raw.get(b"printer")),
            detail=_text(raw.get(b"detail")) or "",
            agent_url=_text(raw.get(b"agent_url")),
        )

    def get(self, device_id: int) -> AgentState:
        try:
            return self._state(self.redis.hgetall(self._key(device_id)))  # type: ignore[arg-type]
        except redis.RedisError as exc:
            log.warning("kiosk #%d: its agent's state is unavailable: %s", device_id, exc)
            return AgentState()

    def connect(self, device_id: int, sid: str, token_hash: str, url: str) -> str | None:
        try:
            old = self._connect(
                keys=[self._key(device_id), self.index],
                args=[sid, token_hash, url, TTL_S, device_id],
            )
        except redis.RedisError as exc:
            log.warning("kiosk #%d: its agent could not be recorded: %s", device_id, exc)
            return None
        return _text(old)

    def disconnect(self, device_id: int, sid: str) -> bool:
        try:
            return bool(self._disconnect(keys=[self._key(device_id)], args=[sid]))
        except redis.RedisError as exc:
            log.warning("kiosk #%d: its agent's departure not recorded: %s", device_id, exc)
            return True

    def set_printer(self, device_id: int, printer: str, detail: str | None) -> bool:
        try:
            changed = self._printer(
                keys=[self._key(device_id), self.index],
                args=[printer, detail or "", "0" if detail is None else "1", TTL_S, device_id],
            )
        except redis.RedisError as exc:
            log.warning("kiosk #%d: its printer state not recorded: %s", device_id, exc)
            return False
        return bool(changed)

    def all(self) -> dict[int, AgentState]:
        try:
            ids = sorted(int(i) for i in self.redis.smembers(self.index))  # type: ignore[union-attr]
            with self.redis.pipeline(transaction=False) as pipe:
                for device_id in ids:
                    pipe.hgetall(self._key(device_id))
                found = pipe.execute()
        except redis.RedisError as exc:
            log.warning("kiosks' agents unavailable: %s", exc)
            return {}
        return {i: self._state(raw) for i, raw in zip(ids, found, strict=True) if raw}
