"""Imports that cannot freeze the hall (issue 15, findings 3 and 4): a file's cost is
bounded before it is parsed, the header is checked before the body, rows are capped,
the work runs as a job outside the request (a worker process under gevent), rows reach
the live database in short batches while kiosks and departments keep writing, a job
that dies mid-apply finishes on restart, and a lock wait is a 503, never a 500."""

from __future__ import annotations

import io
import sqlite3
import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from server.dossiers import importer, jobs, pipeline
from server.dossiers import settings as dsettings
from server.store import imports as store
from tests.dossier_fixtures import CODE, Keys, catalog, dossier, events, keys
from tests.test_dossier_import import big_csv
from tests.xlsx_raw import one_cell_rows, xlsx

__all__ = ["catalog", "keys"]

URL = "/api/v1/dossiers/imports"


def with_imports(ctx, **imports: Any) -> None:
    """The running app's config with ``dossiers.imports`` set (as config.yaml would)."""
    extra = {**ctx.cfg.extra, "dossiers": {"imports": imports}}
    ctx.cfg = replace(ctx.cfg, extra=extra)
    dsettings.settings(ctx.cfg)  # validated like config.yaml's


def upload(client, headers, raw: bytes, name: str = "ho-so.csv", **form: str):
    return client.post(
        URL,
        data={"file": (io.BytesIO(raw), name), **form},
        headers=headers,
        content_type="multipart/form-data",
    )


def finished(client, headers, job: dict[str, Any], seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
        r = client.get(f"{URL}/{job['id']}", headers=headers)
        assert r.status_code == 200, r.get_json()
        job = r.get_json()["job"]
    assert job["status"] != "running", job
    return job


def count(ctx, table: str) -> int:
    with ctx.db.read() as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


# --- 15.3: what a file may cost, checked before it is parsed --------------------------
def test_a_sheet_past_the_row_cap_is_refused_with_413(client, catalog, keys):
    with_imports(catalog, max_rows=500)
    raw = xlsx(one_cell_rows(5_000, ["code", "status"]))
    r = upload(client, Keys.h(keys.stp), raw, "ho-so.xlsx")
    assert r.status_code == 202, r.get_json()
    job = finished(client, Keys.h(keys.stp), r.get_json()["job"])
    assert job["status"] == "failed" and job["error"]["code"] == "too_many_rows"
    assert "500" in job["error"]["message"]
    assert count(catalog, "dossier") == 0


def test_the_header_is_checked_before_the_body_is_read(client, catalog, keys):
    """A sheet without the required columns is refused for that, even though its body
    is broken further down: the body was never parsed."""
    raw = xlsx(one_cell_rows(2_000, ["x"]), tail=b"<row r='3'><c><<<broken")
    r = upload(client, Keys.h(keys.stp), raw, "ho-so.xlsx")
    job = finished(client, Keys.h(keys.stp), r.get_json()["job"])
    assert job["status"] == "failed" and job["error"]["code"] == "missing_columns", job


def test_a_workbook_that_inflates_past_the_limit_is_refused_before_parsing(client, catalog, keys):
    with_imports(catalog, max_sheet_mb=1)
    rows = [["code", "status"], *([f"A-{i}", "received"] for i in range(40_000))]
    raw = xlsx(rows)
    assert len(raw) < 1024 * 1024  # small as uploaded …
    r = upload(client, Keys.h(keys.stp), raw, "ho-so.xlsx")
    assert r.status_code == 413  # … refused from its ZIP directory, at once
    assert r.get_json()["error"]["code"] == "xlsx_too_large"
    assert not list((catalog.data_dir / "imports").glob("*"))


def test_a_file_over_the_size_limit_is_a_413(client, catalog, keys):
    with_imports(catalog, max_file_mb=1)
    r = upload(client, Keys.h(keys.stp), b"code,status\n" + b"A,received\n" * 200_000)
    assert r.status_code == 413 and r.get_json()["error"]["code"] in (
        "file_too_large",
        "request_entity_too_large",
    )


def test_stored_uploads_are_private(client, catalog, actors):
    r = upload(client, actors.h(actors.supervisor), big_csv(5))
    finished(client, actors.h(actors.supervisor), r.get_json()["job"])
    folder = catalog.data_dir / "imports"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert [f.stat().st_mode & 0o777 for f in folder.iterdir()] == [0o600]


def test_the_upload_runs_in_a_worker_process(client, catalog, actors):
    """Under gevent the job runs in a separate process (forced here in threading mode):
    the request only stores the file, and the process saves the rows."""
    with_imports(catalog, runner="process")
    boss = actors.h(actors.supervisor)
    r = upload(client, boss, big_csv(120), policy="skip-bad", notify="0")
    assert r.status_code == 202 and r.headers["Location"].endswith(r.get_json()["job"]["id"])
    job = finished(client, boss, r.get_json()["job"])
    assert job["status"] == "done" and job["phase"] == "done", job
    assert job["report"]["accepted"] == 119 and job["report"]["committed"]
    assert dossier(catalog, "000.00.06.H56-261120-00004")["status"] == "received"


# --- 15.4: short transactions, all-or-nothing kept, resumable -------------------------
def test_kiosks_and_departments_write_while_a_big_import_applies(
    client, catalog, actors, keys, monkeypatch
):
    monkeypatch.setattr(pipeline, "BATCH_SECONDS", 0.002)
    boss = actors.h(actors.supervisor)
    r = upload(client, boss, big_csv(2_000), policy="skip-bad", notify="0")
    job = r.get_json()["job"]
    deadline = time.monotonic() + 60
    while job["phase"] in ("queued", "reading", "validating") and time.monotonic() < deadline:
        time.sleep(0.02)  # the writes below must meet the rows being saved
        job = client.get(f"{URL}/{job['id']}", headers=boss).get_json()["job"]
    assert job["phase"] == "applying", job
    statuses: list[int] = []
    lock = threading.Lock()

    def kiosk() -> None:
        for _ in range(2):  # within the kiosk's burst (queue.kiosk_limit)
            got = client.post(
                "/api/v1/tickets", json={"service": "DD"}, headers=actors.h(actors.kiosk)
            )
            with lock:
                statuses.append(got.status_code)

    def department(n: int) -> None:
        for i in range(15):
            got = client.put(
                f"/api/v1/dossiers/000.00.06.H56-261125-9{n}{i:02d}",
                json={"procedure": "STP-LLTP", "status": "received", "applicant": "Lê Thị Hoa"},
                headers=Keys.h(keys.stp),
            )
            with lock:
                statuses.append(got.status_code)

    workers = [threading.Thread(target=kiosk) for _ in range(2)]
    workers += [threading.Thread(target=department, args=(n,)) for n in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    job = finished(client, boss, job, seconds=120)
    assert set(statuses) <= {200, 201} and len(statuses) == 34, statuses
    assert job["status"] == "done" and job["report"]["accepted"] == 1_999
    assert count(catalog, "dossier") == 1_999 + 30


def test_all_or_nothing_with_one_bad_row_leaves_every_table_untouched(client, catalog, actors):
    before = {t: count(catalog, t) for t in ("dossier", "dossier_event", "notification")}
    boss = actors.h(actors.supervisor)
    job = finished(client, boss, upload(client, boss, big_csv(300)).get_json()["job"])
    assert job["status"] == "done" and not job["report"]["committed"]
    assert job["report"]["rejected_total"] == 1 and job["report"]["accepted"] == 299
    assert {t: count(catalog, t) for t in before} == before


class Died(BaseException):
    """The runner's process dying between two batches."""


def test_a_job_that_dies_mid_apply_finishes_on_restart(catalog, monkeypatch):
    job = jobs.create(
        catalog.db,
        catalog.cfg,
        catalog.data_dir,
        "ho-so.csv",
        big_csv(400),
        actor="cli:import",
        now=catalog.now(),
        policy="skip-bad",
        dry_run=False,
        scope=None,
        notify=False,
    )
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 25)
    batches = {"n": 0}

    def die_after_four(_: float) -> None:
        batches["n"] += 1
        if batches["n"] == 4:
            raise Died

    first = pipeline.Runner(catalog.db, catalog.cfg, job["id"], limits=jobs.limits(catalog.cfg))
    first.sleep = die_after_four
    assert first.claim()
    with pytest.raises(Died):
        first.run()
    half = jobs.get(catalog.db, job["id"])
    assert half is not None and half["phase"] == "applying" and 0 < half["applied"] < 400
    assert count(catalog, "dossier") == half["applied"]  # the journal and the rows agree
    # The dead runner's lease expires; a restarted server resumes the job.
    with catalog.db.write() as conn:
        store.update_job(conn, job["id"], {"lease_until": 0})
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 200)
    launcher = jobs.Launcher(
        catalog.db,
        lambda: catalog.cfg,
        mode="thread",
        spawn=lambda fn, *a: fn(*a),
        sleep=time.sleep,
    )
    assert launcher.resume() == 1
    done = jobs.get(catalog.db, job["id"])
    assert done is not None and done["status"] == "done", done
    assert done["report"]["accepted"] == 399 and done["report"]["rejected_total"] == 1
    assert count(catalog, "dossier") == 399
    # each row applied once: no duplicated timeline entry
    assert [e["status"] for e in events(catalog, "000.00.06.H56-261120-00006")] == [
        "received",
        "in_progress",
    ]


# --- a lock wait is a 503, never a 500 ------------------------------------------------
@pytest.mark.sqlite_only  # PostgreSQL's lock wait: tests/test_pg_schema.py
def test_a_write_lock_held_elsewhere_is_a_503_not_a_500(client, catalog, actors, keys):
    catalog.db.lock_wait = 0.2
    other = sqlite3.connect(catalog.db.path, isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        put = client.put(
            f"/api/v1/dossiers/{CODE}",
            json={"procedure": "STP-LLTP", "status": "received"},
            headers=Keys.h(keys.stp),
        )
        ticket = client.post(
            "/api/v1/tickets", json={"service": "DD"}, headers=actors.h(actors.kiosk)
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
    for r in (put, ticket):
        assert r.status_code == 503, (r.status_code, r.get_json())
        assert r.get_json()["error"]["code"] == "busy" and r.headers["Retry-After"]
    again = client.post("/api/v1/tickets", json={"service": "DD"}, headers=actors.h(actors.kiosk))
    assert again.status_code == 201


def test_run_import_is_the_same_job_as_the_upload(catalog):
    report = importer.run_import(
        catalog.db, catalog.cfg, "a.csv", big_csv(20), actor="t", now=catalog.now()
    )
    assert report.committed and report.accepted == 20 and report.rejected_total == 0
    with catalog.db.read() as conn:
        assert store.open_jobs(conn) == []  # finished, not left running
