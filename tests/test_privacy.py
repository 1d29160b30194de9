"""Public pages and APIs never show a citizen's full name or phone number, nor who the
staff are.

A realistic morning is built through the real entry points — kiosk tickets with phone
numbers (POST /api/v1/tickets), dossiers of named applicants pushed by a department's
API key and by a staff member (PUT /api/v1/dossiers/{code}, events with notes that
mention the applicant), calls, recalls, no-shows, transfers, finishes that link
dossiers, ratings from a pad and from a phone — while a board, a zone board, a kiosk, a
counter pad and a tracking page listen on Socket.IO.  Then every GET route of
app.url_map is requested as an anonymous phone and as each kind of device (a paired
page's cookie and a bearer token), and every body and every Socket.IO payload is
searched for the full names, the given names on their own, any 7 consecutive digits of
a phone number (with or without separators), and the staff's usernames and names.
A control read by a supervisor proves the data is really stored (so its absence from
public bodies means something)."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from server import accounts
from server.dossiers import apikeys
from server.protocol import NS_DISPLAY, NS_KIOSK, NS_PAD, NS_TRACK
from server.ratelimit import RateLimiter
from tests.conftest import drain
from tests.dossier_fixtures import setup_catalog
from tests.staff_fixtures import fast_hashes

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes"]

STATIC = Path(__file__).resolve().parent.parent / "server" / "web" / "static"

#: applicant → the parts of the name that must never appear on their own (the family
#: name may: the public lookup shows "Nguyễn V** A*")
CITIZENS: dict[str, tuple[str, ...]] = {
    "Nguyễn Văn An": ("Văn An",),
    "Trần Thị Bích Ngọc": ("Bích", "Ngọc", "Bích Ngọc"),
    "Lê Hoàng Quýnh": ("Hoàng Quýnh", "Quýnh"),
    "Khải": ("Khải",),  # a one-word name keeps only its initial
    # typed in decomposed Unicode by a department's system
    unicodedata.normalize("NFD", "Đặng Minh Diệp"): ("Minh Diệp", "Diệp"),
}
TICKET_PHONES = ("0903 718 264", "0388.459.127", "0912604853")
STAFF_PHONE = "0867 301 952"  # a ticket a staff member issues for a caller
DOSSIER_PHONES = ("0977 315 846", "+84 986 203 517", "0358-142-096", "0869207431", "0971 552 038")
#: username → (full name, counter, parts of the name that must not appear)
STAFF = {
    "khoi.dm": ("Đỗ Minh Khôi", 1, ("Minh Khôi", "Khôi")),
    "tuyet.nt": ("Nguyễn Thị Tuyết", 3, ("Thị Tuyết", "Tuyết")),
}
CODES = [f"000.00.06.H56-261125-{n:04d}" for n in range(101, 106)]


# --- what counts as a leak ---------------------------------------------------------------
def _digits_variants(phone: str) -> set[str]:
    d = re.sub(r"\D", "", phone)
    out = {d}
    if d.startswith("84"):
        out.add("0" + d[2:])
    elif d.startswith("0"):
        out.add("84" + d[1:])
    return out


def _phone_pattern() -> re.Pattern[str]:
    """Any 7 consecutive digits of any phone, spaced, dotted or dashed or not."""
    windows = set()
    for phone in (*TICKET_PHONES, STAFF_PHONE, *DOSSIER_PHONES):
        for d in _digits_variants(phone):
            windows |= {d[i : i + 7] for i in range(len(d) - 6)}
    return re.compile("|".join(r"[ .\-]?".join(w) for w in sorted(windows)))


PHONES = _phone_pattern()


def _words(*phrases: str) -> re.Pattern[str]:
    nfc = sorted({unicodedata.normalize("NFC", p) for p in phrases}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(" + "|".join(re.escape(p) for p in nfc) + r")(?!\w)", re.IGNORECASE)


NAMES = _words(*CITIZENS, *(part for parts in CITIZENS.values() for part in parts))
STAFF_WORDS = _words(
    *STAFF, *(s[0] for s in STAFF.values()), *(p for s in STAFF.values() for p in s[2])
)
_U_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


def readable(text: str) -> str:
    """The text as a person (or a script) would read it: JSON \\u escapes, HTML entities
    and percent-encoding decoded, Unicode composed."""
    text = _U_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = html.unescape(unquote(text))
    return unicodedata.normalize("NFC", text)


def leaks(text: str, echo: str = "") -> list[str]:
    """What `text` gives away; `echo` (the address asked for) may be repeated back."""
    text = readable(text)
    if echo:
        text = text.replace(readable(echo), "")
    found = [f"name {m.group(0)!r}" for m in NAMES.finditer(text)]
    found += [f"phone digits {m.group(0)!r}" for m in PHONES.finditer(text)]
    found += [f"staff {m.group(0)!r}" for m in STAFF_WORDS.finditer(text)]
    return found


def test_the_detector_finds_what_it_must():
    assert leaks("Họ tên: Trần Thị Bích Ngọc")
    assert leaks("Ng&#7885;c")  # entity-encoded "Ngọc"
    assert leaks('{"n": "Qu\\u00fdnh"}')
    assert leaks(unicodedata.normalize("NFD", "DIỆP"))
    assert leaks("gọi 0903.718.2") and leaks("84903718264") and leaks("098 620 35")
    assert leaks("cán bộ khoi.dm") and leaks("Khôi")
    assert not leaks("Nguyễn V** A* · Trần T** B*** N*** · *******264 · Quầy 1 · Đất đai")
    assert not leaks("Văn phòng đăng ký đất đai · An toàn · 2026-11-25T09:00:00+07:00")


# --- the morning --------------------------------------------------------------------------
def _ok(resp, status: int = 200) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:400])
    return resp.get_json() if resp.data else {}


@pytest.fixture
def world(app, ctx, actors, client, socketio):
    """Devices, staff, listeners, then a morning's activity through the real APIs."""
    for name in list(ctx.limits):
        ctx.limits[name] = RateLimiter(limit=10**9, per_seconds=60)
    db, now = ctx.db, ctx.now()
    staff = {}
    for username, (full_name, counter, _) in STAFF.items():
        accounts.add_user(
            db, username, "staff", "password123", now, full_name=full_name, counters=[counter]
        )
        staff[username] = actors.h(accounts.issue_user_token(db, username, now))
    devices = {
        "kiosk": actors.kiosk,
        "display": actors.board,
        "lookup": accounts.add_device(db, "lookup-1", "lookup", now),
        "counter": accounts.add_device(db, "pad-1", "counter", now, counter=1),
    }
    setup_catalog(db, now)
    stp_key = actors.h(apikeys.add_key(db, "STP", now)[1])

    def listen(ns: str, token: str | None, **auth: Any):
        sio = socketio.test_client(
            app, namespace=ns, auth={"token": token, **auth} if token else None
        )
        assert sio.is_connected(ns)
        return sio

    sockets = {
        NS_DISPLAY: listen(NS_DISPLAY, actors.board),
        "zone A": listen(NS_DISPLAY, actors.board_a),
        NS_KIOSK: listen(NS_KIOSK, actors.kiosk),
        "kiosk agent": listen(NS_KIOSK, actors.kiosk, agent=True),
        NS_PAD: listen(NS_PAD, devices["counter"]),
        NS_TRACK: listen(NS_TRACK, None),
    }
    kiosk = actors.h(actors.kiosk)

    # tickets, several with phone numbers (a kiosk's and a staff member's)
    issued = [
        _ok(client.post("/api/v1/tickets", json={"service": s, "phone": p}, headers=kiosk), 201)
        for s, p in zip(("DD", "HT", "DD"), TICKET_PHONES, strict=True)
    ]
    issued += [
        _ok(client.post("/api/v1/tickets", json={"service": s}, headers=kiosk), 201)
        for s in ("DD", "HT", "CC", "DD")
    ]
    issued.append(
        _ok(
            client.post(
                "/api/v1/tickets",
                json={"service": "HT", "phone": STAFF_PHONE},
                headers=staff["tuyet.nt"],
            ),
            201,
        )
    )
    for t in issued:
        assert sockets[NS_TRACK].emit(
            "follow", {"token": t["token"]}, namespace=NS_TRACK, callback=True
        )["ok"]

    # dossiers of named applicants: from the department's system and from a counter
    for i, (code, name) in enumerate(zip(CODES, CITIZENS, strict=True)):
        who = stp_key if i % 2 == 0 else staff["khoi.dm"]
        body = {
            "procedure": "STP-LLTP",
            "applicant": name,
            "phone": DOSSIER_PHONES[i],
            "status": "received",
            "note": f"Nhận từ {name}, điện thoại {DOSSIER_PHONES[i]}",
        }
        _ok(client.put(f"/api/v1/dossiers/{code}", json=body, headers=who), 201)
    events = f"/api/v1/dossiers/{CODES[0]}/events"
    _ok(
        client.post(
            events, json={"status": "in_progress", "note": "Gọi 0977315846"}, headers=stp_key
        ),
        201,
    )
    _ok(
        client.post(
            events,
            json={
                "status": "supplement_requested",
                "missing": "Bản sao giấy khai sinh",
                "note": "Đã báo ông Nguyễn Văn An",
            },
            headers=stp_key,
        ),
        201,
    )
    delay = {"type": "delay", "reason": "chờ xác minh", "new_due_at": "2026-12-28T17:00:00+07:00"}
    _ok(client.post(f"/api/v1/dossiers/{CODES[2]}/events", json=delay, headers=stp_key), 201)
    _ok(
        client.post(
            f"/api/v1/dossiers/{CODES[4]}/events",
            json={"status": "resolved", "note": "Kết quả cho Đặng Minh Diệp"},
            headers=stp_key,
        ),
        201,
    )

    # the counters at work
    khoi, tuyet = staff["khoi.dm"], staff["tuyet.nt"]
    first = _ok(client.post("/api/v1/counters/1/next", headers=khoi))["ticket"]
    _ok(client.post(f"/api/v1/tickets/{first['id']}/start", headers=khoi))
    _ok(
        client.post(
            f"/api/v1/tickets/{first['id']}/finish", json={"dossiers": [CODES[1]]}, headers=khoi
        )
    )
    _ok(
        client.post(
            "/api/v1/ratings",
            json={"ticket": issued[0]["token"], "level": "satisfied"},
            headers=actors.h(devices["counter"]),
        ),
        201,
    )
    second = _ok(client.post("/api/v1/counters/1/next", headers=khoi))["ticket"]
    _ok(client.post("/api/v1/counters/1/recall", headers=khoi))
    _ok(client.post(f"/api/v1/tickets/{second['id']}/no-show", headers=khoi))
    third = _ok(client.post("/api/v1/counters/1/next", headers=khoi))["ticket"]
    _ok(
        client.post(f"/api/v1/tickets/{third['id']}/transfer", json={"service": "HT"}, headers=khoi)
    )
    served = _ok(client.post("/api/v1/counters/3/next", headers=tuyet))["ticket"]
    _ok(client.post(f"/api/v1/tickets/{served['id']}/finish", headers=tuyet))
    done_token = next(t["token"] for t in issued if t["id"] == served["id"])
    _ok(
        client.post(
            "/api/v1/ratings",
            json={
                "ticket": done_token,
                "level": "unsatisfied",
                "reason": "long_wait",
                "text": "lâu",
            },
        ),
        201,
    )
    _ok(client.post("/api/v1/counters/3/next", headers=tuyet))
    _ok(client.post("/api/v1/counters/1/pause", json={"reason": "break"}, headers=khoi))
    ctx.realtime.flush()  # queue counts and tracking positions go out now, not in 0.5 s

    with ctx.db.read() as conn:
        called = [r[0] for r in conn.execute("SELECT DISTINCT label FROM call")]
    return {
        "devices": devices,
        "sockets": sockets,
        "tokens": [t["token"] for t in issued],
        "staff": staff,
        "called": called,
    }


# --- the crawl ----------------------------------------------------------------------------
def _static_files() -> list[str]:
    return sorted(str(p.relative_to(STATIC)) for p in STATIC.rglob("*") if p.is_file())


def _values(app, client, world) -> dict[str, list[str]]:
    """Real values for every URL variable name in app.url_map (first ones tried by all)."""
    calls = client.get("/api/v1/calls?after=0&limit=500").get_json()["calls"]
    keys = sorted(
        {c["audio_url"].rsplit("/", 1)[1][: -len(".wav")] for c in calls if c["audio_url"]}
    )
    return {
        "token": [*world["tokens"], "nosuchtoken123"],
        "code": [*CODES, "DD", "KHONG-CO-0001"],
        "number": ["1", "3", "99"],
        "page": ["kiosk", "board", "lookup", "pad", "staff"],
        "key": [*keys[:3], "0123abcd"],
        "filename": _static_files(),
        "kind": ["queue", "dossiers", "satisfaction"],
        "job_id": ["nojob"],
        "username": [*STAFF, "root"],
        "name": ["kiosk-1", "pad-1"],
        "ticket_id": ["1", "2"],
        "token_id": ["1"],
        "notification_id": ["1"],
    }


#: extra query strings worth reading (languages, a code in the lookup link, zones)
QUERIES = {
    "/api/v1/calls": ["?after=0&limit=500", "?after=0&zone=A"],
    "/api/v1/counters": ["", "?zone=A"],
    "/tra-cuu": [""] + [f"?ma={c}" for c in CODES],
    "/lookup": ["", "?public=1"],
    "/api/v1/dossiers/<code>": ["", "?lang=en"],
    "/t/<token>": ["", "?lang=en"],
    "/board": ["", "?lang=en"],
    "/<page>/pair": ["", "?token=wrong"],
}


def _urls(app, values: dict[str, list[str]], everything: bool) -> list[str]:
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or set()):
            continue
        if rule.endpoint == "static" and not everything:
            continue  # the same bytes for everybody: read once, anonymously
        paths = [rule.rule]
        for arg in sorted(rule.arguments):
            pool = values[arg] if everything else values[arg][:2]
            pattern = re.compile(r"<(?:[a-z]+:)?" + arg + ">")
            paths = [pattern.sub(v, p) for p in paths for v in pool]
        for path in paths:
            out += [path + q for q in QUERIES.get(rule.rule, [""])]
    return out


def _identities(app, world) -> dict[str, tuple[Any, dict[str, str]]]:
    """Who reads: a phone, each device paired as a page, each device with its token."""
    out: dict[str, tuple[Any, dict[str, str]]] = {"anonymous": (app.test_client(), {})}
    pages = {"kiosk": "kiosk", "display": "board", "lookup": "lookup", "counter": "pad"}
    for kind, token in world["devices"].items():
        paired = app.test_client()
        assert paired.get(f"/{pages[kind]}/pair?token={token}").status_code == 303
        out[f"{kind} page"] = (paired, {})
        out[f"{kind} token"] = (app.test_client(), {"Authorization": f"Bearer {token}"})
    return out


def _text(resp) -> str | None:
    kind = resp.mimetype or ""
    if kind.startswith("text/") or kind in ("application/json", "application/javascript"):
        return resp.get_data(as_text=True)
    return None


def test_no_public_page_or_api_shows_personal_data(app, client, world):
    values = _values(app, client, world)
    problems: list[str] = []
    read = 0
    for who, (c, headers) in _identities(app, world).items():
        for url in _urls(app, values, everything=who == "anonymous"):
            resp = c.get(url, headers=headers)
            assert resp.status_code < 500, f"{url} as {who}: {resp.status_code}"
            body = _text(resp)
            if body is None:
                continue
            read += 1
            path = url.split("?", 1)[0]  # an address asked for may be repeated back
            problems += [f"{url} as {who} ({resp.status_code}): {x}" for x in leaks(body, path)]
            problems += [
                f"{url} as {who}: header {k}: {x}"
                for k, v in resp.headers.items()
                for x in leaks(v, path)
            ]
    assert read > 300
    assert not problems, "\n".join(problems[:50])


def test_public_pages_still_show_what_citizens_need(app, client, world):
    """The crawl above reads real content: masked names, live tickets, the board."""
    lookup = client.get(f"/api/v1/dossiers/{CODES[1]}").get_json()["dossier"]
    assert "Trần T** B*** N***" in json.dumps(lookup, ensure_ascii=False)
    single = client.get(f"/api/v1/dossiers/{CODES[3]}").get_json()["dossier"]
    assert "K***" in json.dumps(single, ensure_ascii=False)
    supplement = json.dumps(
        client.get(f"/api/v1/dossiers/{CODES[0]}").get_json(), ensure_ascii=False
    )
    assert "Bản sao giấy khai sinh" in supplement and not leaks(supplement)
    track = client.get(f"/t/{world['tokens'][1]}")
    assert track.status_code == 200 and len(world["called"]) >= 4


def test_staff_detail_holds_the_data_the_public_never_sees(client, actors, world):
    """Control: the supervisor's view really contains the names and phones (stored)."""
    boss = actors.h(actors.supervisor)
    for code in CODES:
        body = client.get(f"/api/v1/dossiers/{code}/detail", headers=boss).get_data(as_text=True)
        found = leaks(body)
        assert any(x.startswith("name") for x in found), code
        assert any(x.startswith("phone") for x in found), code


def test_socket_payloads_carry_no_personal_data(app, socketio, actors, world):
    spaces = {"zone A": NS_DISPLAY, "kiosk agent": NS_KIOSK}
    received = {name: drain(sio, spaces.get(name, name)) for name, sio in world["sockets"].items()}
    # a board that connects (or resyncs) later gets the recent history
    late = socketio.test_client(app, namespace=NS_DISPLAY, auth={"token": actors.board})
    late.emit("resync", {"after": 0}, namespace=NS_DISPLAY)
    received["late board"] = drain(late, NS_DISPLAY)
    kinds = {name: {event for event, _ in events} for name, events in received.items()}
    assert {"snapshot", "call", "counter", "queue"} <= kinds[NS_DISPLAY]
    assert {"call"} <= kinds["zone A"]
    assert {"queue", "printer"} <= kinds[NS_KIOSK]
    assert {"print"} <= kinds["kiosk agent"]
    assert {"rate", "rated"} <= kinds[NS_PAD]
    assert {"ticket"} <= kinds[NS_TRACK]
    assert {"snapshot", "call"} <= kinds["late board"]
    problems = [
        f"{name} {event}: {x}"
        for name, events in received.items()
        for event, payload in events
        for x in leaks(json.dumps(payload, ensure_ascii=False))
    ]
    assert not problems, "\n".join(problems[:50])
