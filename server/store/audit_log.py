"""SQL for the supervisors' audit log: one newest-first stream over three sources, so the
issue path writes nothing more for it —

- `audit`: logins, administration, service stops, dossier corrections, kiosk floods;
- `ticket_event`: what staff did to citizens' tickets at a counter (call, recall,
  no-show, transfer) — already written by the state machine;
- `counter_event`: counters paused (with the reason), resumed, closed.

Pages go by a keyset cursor (at, source, id), never OFFSET, and each source is read
newest-first through its time index (`audit_at`, the partial `ticket_event_at` — hence
`counter IS NOT NULL` — and `counter_event_at`), so a page costs about its size."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

#: Ticket events a supervisor needs to see (issue, start, finish are routine).
TICKET_ACTIONS = ("call", "recall", "no_show", "transfer")
#: How an action from each source is named in the stream (audit actions have no dot).
TICKET_PREFIX, COUNTER_PREFIX = "queue.", "counter."

_AUDIT = """SELECT 'a' AS src, id, at, actor, action, target, detail, ip,
                   NULL AS label, CAST(NULL AS INTEGER) AS counter, NULL AS reason
            FROM audit WHERE {where} ORDER BY at DESC, id DESC LIMIT :n"""
_TICKET = f"""SELECT 't' AS src, e.id, e.at, e.actor, '{TICKET_PREFIX}' || e.action AS action,
                     CAST(NULL AS TEXT) AS target, e.detail, CAST(NULL AS TEXT) AS ip, t.label,
                     e.counter, CAST(NULL AS TEXT) AS reason
              FROM ticket_event e JOIN ticket t ON t.id = e.ticket_id
              WHERE e.counter IS NOT NULL AND e.action IN {TICKET_ACTIONS!r} AND {{where}}
              ORDER BY e.at DESC, e.id DESC LIMIT :n"""
_COUNTER = f"""SELECT 'c' AS src, id, at, actor, '{COUNTER_PREFIX}' || state AS action,
                      CAST(NULL AS TEXT) AS target, CAST(NULL AS TEXT) AS detail,
                      CAST(NULL AS TEXT) AS ip, CAST(NULL AS TEXT) AS label, counter, reason
               FROM counter_event WHERE {{where}} ORDER BY at DESC, id DESC LIMIT :n"""


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: its last row's time, source and id."""

    at: str
    src: str
    id: int

    def text(self) -> str:
        return f"{self.at}|{self.src}|{self.id}"

    @staticmethod
    def parse(raw: str) -> Cursor | None:
        parts = raw.split("|")
        if len(parts) != 3 or parts[1] not in ("a", "c", "t") or len(raw) > 80:
            return None
        at, src, ident = parts
        if not (ident.isascii() and ident.isdigit() and len(ident) < 19):
            return None
        return Cursor(at, src, int(ident))


def search(
    conn: sqlite3.Connection,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    after: Cursor | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first: entries of every source matching the filters, after `after`.
    `actor` is a user name (audit's "user:name" matches it too) or an audit actor;
    `action` an audit action, or "queue.<ticket action>" / "counter.<state>"."""
    sources = {"a": _AUDIT, "t": _TICKET, "c": _COUNTER}
    if action is not None:
        src = (
            "t"
            if action.startswith(TICKET_PREFIX)
            else "c"
            if action.startswith(COUNTER_PREFIX)
            else "a"
        )
        sources = {src: sources[src]}
    args: dict[str, Any] = {"n": limit}
    parts: list[str] = []
    for src, sql in sources.items():
        col = "e." if src == "t" else ""
        conds = ["1 = 1"]
        if actor is not None:
            args["actor"], args["user_actor"] = actor, f"user:{actor}"
            conds.append(
                f"{col}actor IN (:actor, :user_actor)" if src == "a" else f"{col}actor = :actor"
            )
        if action is not None:
            args["action"] = action
            if src == "a":
                conds.append("action = :action")
            elif src == "t":
                args["ticket_action"] = action.removeprefix(TICKET_PREFIX)
                conds.append("e.action = :ticket_action")
            else:
                args["state"] = action.removeprefix(COUNTER_PREFIX)
                conds.append("state = :state")
        if since is not None:
            args["since"] = since
            conds.append(f"{col}at >= :since")
        if until is not None:
            args["until"] = until
            conds.append(f"{col}at < :until")
        if after is not None:
            args.update(c_at=after.at, c_src=after.src, c_id=after.id)
            # (at, src, id) < the cursor's, in the stream's order
            conds.append(
                f"({col}at < :c_at OR ({col}at = :c_at AND ('{src}' < :c_src"
                f" OR ('{src}' = :c_src AND {col}id < :c_id))))"
            )
        parts.append(f"SELECT * FROM ({sql.format(where=' AND '.join(conds))}) AS part{len(parts)}")
    rows = conn.execute(
        " UNION ALL ".join(parts) + " ORDER BY at DESC, src DESC, id DESC LIMIT :n", args
    )
    out = []
    for r in rows:
        d = dict(r)
        d["detail"] = json.loads(d["detail"]) if d["detail"] else None
        out.append(d)
    return out


def actors(conn: sqlite3.Connection) -> list[str]:
    """Who can appear in the log, for the filter list: every account, and the audit's
    other actors (devices, failed logins' names), "user:" dropped."""
    found = {r[0] for r in conn.execute('SELECT username FROM "user"')}
    for (a,) in conn.execute("SELECT DISTINCT actor FROM audit"):
        found.add(a.removeprefix("user:"))
    return sorted(found)


def full_names(conn: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute('SELECT username, full_name FROM "user"') if r[1]}


def audit_actions(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT DISTINCT action FROM audit")]
