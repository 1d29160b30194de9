"""What the server sends a hall board, parsed and checked: calls, counters, services.

A field the board cannot do without (a call's seq, label, counter and time; a counter's
number and state; a service's code and name) that is missing or of the wrong type raises
`BoardPayloadError`, and the board keeps what it had: one bad event never blanks it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.protocol import CallState, CounterState


class BoardPayloadError(ValueError):
    """An event payload lacks a field the board needs or has the wrong type."""


@dataclass(frozen=True)
class Call:
    seq: int
    ticket_id: int | str | None
    label: str
    counter: int
    counter_name: str
    service: str
    service_name: str
    recall: bool
    at: datetime
    """When the server made the call (aware datetime)."""
    text: str
    audio_url: str | None
    zone: str | None
    prev_seq: int | None = None
    """The seq of the call before this one on this board's stream (the server sends a
    zone's calls only to that zone's boards, so global seqs skip).  None: ``seq - 1``."""
    arrived_at: datetime | None = None
    """When this board learnt of it live; None for calls that only came in a snapshot,
    which the renderer shows without flashing."""
    state: str = CallState.CALLED
    """How the call stands (``server.protocol.CallState``): the server's word when the
    call was read, moved by `call_state` events."""


@dataclass(frozen=True)
class Serving:
    label: str
    status: str
    ticket_id: int | None = None


@dataclass(frozen=True)
class Counter:
    number: int
    name: str
    zone: str | None
    services: tuple[str, ...]
    state: str
    pause_reason: str | None
    serving: Serving | None

    @property
    def is_open(self) -> bool:
        return self.state == CounterState.OPEN

    @property
    def is_paused(self) -> bool:
        return self.state == CounterState.PAUSED


@dataclass(frozen=True)
class Service:
    code: str
    name_vi: str
    name_en: str
    open: bool
    waiting: int
    estimated_wait_min: int

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name_vi


def require(payload: Mapping[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(payload, Mapping):
        raise BoardPayloadError(f"expected an object, got {type(payload).__name__}")
    if key not in payload:
        raise BoardPayloadError(f"missing field {key!r}")
    value = payload[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BoardPayloadError(f"field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _number(payload: Mapping[str, Any], key: str) -> int:
    value = payload.get(key) or 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BoardPayloadError(f"field {key!r} must be a number, got {value!r}")
    return int(value)


def optional_int(payload: Mapping[str, Any], key: str) -> int | None:
    value = payload.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BoardPayloadError(f"field {key!r} must be an integer, got {value!r}")
    return value


def optional_str(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return None if value is None else str(value)


def parse_call(payload: Mapping[str, Any], arrived_at: datetime | None = None) -> Call:
    at_text = require(payload, "at", str)
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError as exc:
        raise BoardPayloadError(f"field 'at' is not ISO-8601: {at_text!r}") from exc
    if at.tzinfo is None:
        raise BoardPayloadError(f"field 'at' has no UTC offset: {at_text!r}")
    counter = require(payload, "counter", int)
    return Call(
        seq=require(payload, "seq", int),
        ticket_id=payload.get("ticket_id"),
        label=str(require(payload, "label", (str, int))),
        counter=counter,
        counter_name=str(payload.get("counter_name") or counter),
        service=str(payload.get("service") or ""),
        service_name=str(payload.get("service_name") or ""),
        recall=bool(payload.get("recall", False)),
        at=at,
        text=str(payload.get("text") or ""),
        audio_url=optional_str(payload, "audio_url"),
        zone=optional_str(payload, "zone"),
        prev_seq=optional_int(payload, "prev_seq"),
        arrived_at=arrived_at,
        state=str(payload.get("state") or CallState.CALLED),
    )


def parse_counter(payload: Mapping[str, Any]) -> Counter:
    serving_raw = payload.get("serving") if isinstance(payload, Mapping) else None
    serving = None
    if serving_raw is not None:
        serving = Serving(
            label=str(require(serving_raw, "label", (str, int))),
            status=str(serving_raw.get("status") or ""),
            ticket_id=optional_int(serving_raw, "id"),
        )
    number = require(payload, "number", int)
    services = payload.get("services") or []
    if not isinstance(services, Sequence) or isinstance(services, str):
        raise BoardPayloadError("field 'services' must be a list")
    return Counter(
        number=number,
        name=str(payload.get("name") or number),
        zone=optional_str(payload, "zone"),
        services=tuple(str(code) for code in services),
        state=str(require(payload, "state", str)),
        pause_reason=optional_str(payload, "pause_reason"),
        serving=serving,
    )


def parse_service(payload: Mapping[str, Any]) -> Service:
    name_vi = str(require(payload, "name_vi", str))
    return Service(
        code=str(require(payload, "code", str)),
        name_vi=name_vi,
        name_en=str(payload.get("name_en") or name_vi),
        open=bool(payload.get("open", True)),
        waiting=_number(payload, "waiting"),
        estimated_wait_min=_number(payload, "estimated_wait_min"),
    )
