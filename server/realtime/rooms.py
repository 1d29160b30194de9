"""Socket.IO room names: one helper per room, so no handler builds one inline."""

from __future__ import annotations

ALL_ZONES = "zone:*"
#: Supervisors' and admins' live views on /display (never boards): alerts go there.
SUPERVISORS = "supervisors"
#: Every person's live view on /display (staff, supervisors, admins; never boards): a
#: counter's view the boards already got inside a call still goes there.
PEOPLE = "people"


def zone_room(zone: str | None) -> str:
    return ALL_ZONES if zone is None else f"zone:{zone}"


def counter_room(number: int) -> str:
    return f"counter:{number}"


def ticket_room(token: str) -> str:
    return f"ticket:{token}"


def kiosk_room(device_id: int) -> str:
    return f"kiosk:{device_id}"


def pad_room(counter: int) -> str:
    return f"pad:{counter}"


def device_room(device_id: int) -> str:
    return f"device:{device_id}"


def kiosk_agent_room(device_id: int) -> str:
    return f"kiosk:{device_id}:agent"
