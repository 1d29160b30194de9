"""An import lands all at once for every reader (issue 15, finding 4): while a file is
applied in short batches — a kiosk's ticket goes through between any two — a reader
sees none of it (counts, a dossier's status and timeline, report figures, the SMS
outbox), then all of it; a runner that dies mid-apply resumes and publishes once; a job
that fails or is given up is undone and never seen; and a department's write to a
dossier the job holds is a 503 to retry, not a change lost when the job lands."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from server.dossiers import jobs, pipeline
from server.store import dossier_stats, import_publish, notifications
from server.store import dossiers as store
from server.store import imports as job_store
from tests.dossier_fixtures import Keys, catalog, keys, put

__all__ = ["catalog", "keys"]

HEADER = "Mã hồ sơ,Mã thủ tục,Người nộp,Số điện thoại,Hình thức,Ngày tiếp nhận,Trạng thái\n"
OLD = [f"000.00.06.H56-261125-{i:04d}" for i in range(1, 21)]  # exist before the file
NEW = 280  # dossiers the file creates
WATCHED = OLD[0]
DAY = ("2026-11-24T17:00:00+00:00", "2026-11-25T17:00:00+00:00")  # 25 Nov in Vietnam


def new_code(i: int) -> str:
    return f"000.00.06.H56-261125-{5000 + i:04d}"


def the_file(bad: bool = False) -> bytes:
    """The 20 existing dossiers move on to "in progress"; 280 new ones are received
    (each with an SMS); with `bad`, one row has a status nobody knows."""
    lines = [HEADER]
    for i, code in enumerate(OLD):
        lines.append(f"{code},STP-LLTP,Nguyễn Văn {i},0913{i:06d},Trực tiếp,,Đang xử lý\n")
    for i in range(NEW):
        status = "xong rồi" if bad and i == 7 else "Đã tiếp nhận"
        lines.append(
            f"{new_code(i)},STP-LLTP,Trần Thị {i},0988{i:06d},Trực tuyến,25/11/2026 08:30,{status}\n"
        )
    return "".join(lines).encode("utf-8")


def seen(db) -> dict[str, Any]:
    """What readers see, in one snapshot."""
    with db.read() as conn:
        d = store.dossier_for_lookup(conn, WATCHED)
        assert d is not None
        received = dossier_stats.received(conn, *DAY, ["direct", "online"])
        opened = dossier_stats.open_at(conn, DAY[1], DAY[1])
        return {
            "dossiers": store.count_dossiers(conn),
            "status": d["status"],
            "timeline": len(store.events(conn, d["id"])),
            "received": sorted((dep, p, tuple(sorted(s.items()))) for dep, p, s in received),
            "open": sorted(tuple(r) for r in opened),
            "sms": notifications.counts(conn),
            "watch": len(
                dossier_stats.watch_candidates(
                    conn, stale_before="9999", due_before="9999", running=["in_progress"]
                )
            ),
        }


def raw(db) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the dossier tables, as stored."""
    with db.read() as conn:
        return {
            t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY id")]
            for t in ("dossier", "dossier_event", "notification")
        }


@pytest.fixture
def existing(catalog):
    for i, code in enumerate(OLD):
        put(catalog, code, applicant=f"Nguyễn Văn {i}", phone=f"0913{i:06d}")
    return catalog


def new_job(ctx, *, policy: str = "all-or-nothing", bad: bool = False) -> dict[str, Any]:
    return jobs.create(
        ctx.db,
        ctx.cfg,
        ctx.data_dir,
        "ho-so.csv",
        the_file(bad),
        actor="cli:import",
        now=ctx.now(),
        policy=policy,
        dry_run=False,
        scope=None,
        notify=True,
    )


def runner(ctx, job: dict[str, Any], sleep) -> pipeline.Runner:
    r = pipeline.Runner(ctx.db, ctx.cfg, job["id"], limits=jobs.limits(ctx.cfg), sleep=sleep)
    assert r.claim()
    return r


class Undone(Exception):
    """Leaves a write transaction without committing it."""


class Died(BaseException):
    """The runner's process dying between two batches."""


@pytest.mark.parametrize("policy", ["all-or-nothing", "skip-bad"])
def test_readers_see_none_of_the_file_then_all_of_it(existing, client, actors, monkeypatch, policy):
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 40)
    before = seen(existing.db)
    assert before["dossiers"] == 20 and before["status"] == "received"
    during: list[dict[str, Any]] = []
    tickets: list[int] = []
    stop = threading.Event()
    polled: list[dict[str, Any]] = []

    def poll() -> None:  # a reader of its own, as fast as it goes
        while not stop.is_set():
            polled.append(seen(existing.db))

    def between_batches(_: float) -> None:  # each pause: a reader and a kiosk
        during.append(seen(existing.db))
        r = client.post("/api/v1/tickets", json={"service": "DD"}, headers=actors.h(actors.kiosk))
        tickets.append(r.status_code)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        done = runner(
            existing, new_job(existing, policy=policy, bad=policy == "skip-bad"), between_batches
        ).run()
    finally:
        stop.set()
        poller.join(timeout=60)
    assert done["status"] == "done" and done["report"]["committed"], done
    after = seen(existing.db)
    created = NEW - (policy == "skip-bad")
    assert after["dossiers"] == 20 + created and after["status"] == "in_progress"
    assert after["timeline"] == before["timeline"] + 1
    assert after["sms"]["queued"] == before["sms"]["queued"] + created
    assert len(during) >= 8  # the file went in many batches …
    assert all(s == before for s in during)  # … and between them readers saw none of it
    assert all(s in (before, after) for s in polled) and polled
    assert tickets == [201] * len(during)  # a kiosk issued a ticket between every two
    with existing.db.read() as conn:
        assert import_publish.pending_jobs(conn) == []
        assert conn.execute("SELECT COUNT(*) FROM dossier_before").fetchone()[0] == 0


def test_a_runner_that_dies_mid_apply_resumes_and_publishes_once(
    existing, client, keys, monkeypatch
):
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 40)
    before = seen(existing.db)
    job = new_job(existing)
    pauses = {"n": 0}

    def die_after_three(_: float) -> None:
        pauses["n"] += 1
        if pauses["n"] == 3:
            raise Died

    with pytest.raises(Died):
        runner(existing, job, die_after_three).run()
    half = jobs.get(existing.db, job["id"])
    assert half is not None and half["phase"] == "applying" and 0 < half["applied"] < 300
    assert seen(existing.db) == before  # the committed batches are not shown
    # their SMS are not sent either
    claimed: list[dict[str, Any]] = []
    with pytest.raises(Undone), existing.db.write() as conn:  # a sender's claim, undone
        claimed += notifications.claim(conn, "w", "9999", 1000)
        raise Undone
    assert len(claimed) == before["sms"]["queued"]
    assert all(n["import_job"] is None for n in claimed)
    # a department's change to a dossier the job holds waits for it (503, retry) …
    held = client.put(
        f"/api/v1/dossiers/{WATCHED}",
        json={"procedure": "STP-LLTP", "applicant": "Nguyễn Văn 0", "status": "resolved"},
        headers=Keys.h(keys.stp),
    )
    assert held.status_code == 503 and held.get_json()["error"]["code"] == "import_pending"
    assert "tệp nhập" in held.get_json()["error"]["message"] and held.headers["Retry-After"]
    # … while its other dossiers are written as ever
    free = client.put(
        "/api/v1/dossiers/000.00.06.H56-261125-0999",
        json={"procedure": "STP-LLTP", "applicant": "Lê Thị Hoa", "status": "received"},
        headers=Keys.h(keys.stp),
    )
    assert free.status_code == 201, free.get_json()
    # the dead runner's lease expires; a restarted server resumes the job
    with existing.db.write() as conn:
        job_store.update_job(conn, job["id"], {"lease_until": 0})
    launcher = jobs.Launcher(
        existing.db,
        lambda: existing.cfg,
        mode="thread",
        spawn=lambda fn, *a: fn(*a),
        sleep=lambda s: None,
    )
    assert launcher.resume() == 1
    done = jobs.get(existing.db, job["id"])
    assert done is not None and done["status"] == "done", done
    after = seen(existing.db)
    assert after["dossiers"] == 20 + NEW + 1 and after["status"] == "in_progress"
    assert after["timeline"] == before["timeline"] + 1  # each row applied once
    with existing.db.read() as conn:
        job_sms = conn.execute(
            "SELECT COUNT(*) FROM notification WHERE import_job = ?", (job["id"],)
        ).fetchone()[0]
        assert import_publish.pending_jobs(conn) == []
    assert job_sms == NEW  # one SMS per new dossier, none twice
    again = client.put(
        f"/api/v1/dossiers/{WATCHED}",
        json={"procedure": "STP-LLTP", "applicant": "Nguyễn Văn 0", "status": "resolved"},
        headers=Keys.h(keys.stp),
    )
    assert again.status_code == 200, again.get_json()


def test_a_job_that_fails_mid_apply_is_undone_and_never_seen(existing, monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 40)
    monkeypatch.setattr(pipeline, "BATCH_SECONDS", 60.0)  # batches by rows, on any engine
    monkeypatch.setattr(pipeline, "UNDO_BATCH", 7)
    before, rows = seen(existing.db), raw(existing.db)
    pauses = {"n": 0}
    during: list[dict[str, Any]] = []

    def disk_fails(_: float) -> None:
        pauses["n"] += 1
        during.append(seen(existing.db))
        if pauses["n"] == 4:
            raise OSError("disk full")

    done = runner(existing, new_job(existing), disk_fails).run()
    assert done["status"] == "failed" and done["error"]["code"] == "io_error"
    assert len(during) > 6 and all(s == before for s in during)  # undoing took batches too
    assert seen(existing.db) == before
    after = raw(existing.db)
    assert after["dossier_event"] == rows["dossier_event"]
    assert after["notification"] == rows["notification"]
    assert after["dossier"] == rows["dossier"]  # the touched ones restored as they were
    with existing.db.read() as conn:
        assert import_publish.pending_jobs(conn) == []
        assert conn.execute("SELECT COUNT(*) FROM dossier_before").fetchone()[0] == 0


def test_a_job_given_up_after_crashes_leaves_nothing(existing, monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 40)
    before, rows = seen(existing.db), raw(existing.db)
    job = new_job(existing)

    def die(_: float) -> None:
        raise Died

    with pytest.raises(Died):
        runner(existing, job, die).run()
    with existing.db.write() as conn:
        job_store.update_job(conn, job["id"], {"lease_until": 0, "attempts": jobs.MAX_ATTEMPTS})
    launcher = jobs.Launcher(
        existing.db,
        lambda: existing.cfg,
        mode="thread",
        spawn=lambda fn, *a: fn(*a),
        sleep=lambda s: None,
    )
    assert launcher.resume() == 1
    failed = jobs.get(existing.db, job["id"])
    assert failed is not None and failed["status"] == "failed"
    assert failed["error"]["code"] == "import_crashed"
    assert "không dòng nào" in failed["error"]["message"]
    assert seen(existing.db) == before and raw(existing.db) == rows


def test_the_dossier_before_table_has_the_dossier_columns(ctx):
    with ctx.db.read() as conn:
        live = [c[0] for c in conn.execute("SELECT * FROM dossier WHERE 1 = 0").description]
        former = [
            c[0] for c in conn.execute("SELECT * FROM dossier_before WHERE 1 = 0").description
        ]
    assert tuple(live) == import_publish.COLUMNS == tuple(former)
