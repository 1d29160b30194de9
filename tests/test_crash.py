"""kill -9 of the production server mid-load loses no acknowledged ticket, and
numbering continues without a duplicate after the restart (reduced size for CI; the
full-size run is in benchmarks/)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from tests.browser import free_port
from tests.conftest import ROOT

MOTCUA = str(Path(sys.executable).with_name("motcua"))


def always_open_config(tmp: Path) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["opening_hours"].update(
        days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        sessions=[["00:00", "23:59"]],
        issue_before_min=0,
        public_holidays=False,
    )
    for s in data["seed"]["services"]:
        s.update(width=5, last=99999)
        s.pop("daily_cap", None)
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def start_server(config: Path, data: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [MOTCUA, "serve", "--config", str(config), "--data-dir", str(data), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError("server did not start within 20 s")


def test_kill_9_mid_load_loses_no_acknowledged_ticket(tmp_path):
    config = always_open_config(tmp_path)
    data = tmp_path / "data"
    token = subprocess.run(
        [
            MOTCUA,
            "device",
            "add",
            "kiosk-crash",
            "--kind",
            "kiosk",
            "--config",
            str(config),
            "--data-dir",
            str(data),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = free_port()
    proc = start_server(config, data, port)
    acknowledged: list[dict] = []
    lock = threading.Lock()
    stop = threading.Event()

    def kiosk(service: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        body = json.dumps({"service": service})
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        while not stop.is_set():
            try:
                conn.request("POST", "/api/v1/tickets", body, headers)
                resp = conn.getresponse()
                payload = resp.read()
            except (OSError, http.client.HTTPException):
                return  # the server died under us: whatever was not acknowledged may be lost
            if resp.status == 201:
                with lock:
                    acknowledged.append(json.loads(payload))

    threads = [
        threading.Thread(target=kiosk, args=(s,)) for s in ("DD", "HT", "DD", "HT", "CC", "DD")
    ]
    for th in threads:
        th.start()
    time.sleep(1.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    stop.set()
    for th in threads:
        th.join(timeout=10)
    assert len(acknowledged) > 20, "the load did not get going before the kill"

    proc = start_server(config, data, port)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for t in acknowledged[-50:]:  # the public lookup is rate limited: sample the newest
            conn.request("GET", f"/api/v1/tickets/{t['token']}")
            resp = conn.getresponse()
            body = json.loads(resp.read())
            assert resp.status == 200, t
            assert body["ticket"]["label"] == t["label"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        conn.request("POST", "/api/v1/tickets", json.dumps({"service": "DD"}), headers)
        after = json.loads(conn.getresponse().read())
        dd_numbers = [t["number"] for t in acknowledged if t["service"] == "DD"]
        assert after["number"] > max(dd_numbers)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    import sqlite3

    db = sqlite3.connect(data / "motcua.sqlite3")
    dup = db.execute(
        "SELECT count(*) - count(DISTINCT service || '/' || day || '/' || number) FROM ticket"
    ).fetchone()[0]
    stored = dict(db.execute("SELECT token, label FROM ticket").fetchall())
    db.close()
    assert dup == 0
    assert all(stored.get(t["token"]) == t["label"] for t in acknowledged)
