"""Print jobs of kiosk tickets over /kiosk, with a real Socket.IO test client as the agent:
a job per kiosk ticket, emitted after commit, acknowledged, re-sent on reconnect, never
printed twice, failed on paper-out with the page told, and kiosk health for supervisors."""

from __future__ import annotations

import pytest

from server import accounts
from server.protocol import NS_KIOSK
from server.store import accounts as account_store
from server.store import printjobs as job_store
from tests.conftest import drain
from tests.kiosk_fixtures import KioskActors, make_actors


@pytest.fixture
def kactors(ctx) -> KioskActors:
    return make_actors(ctx)


def _agent(socketio, app, client, token):
    return socketio.test_client(
        app, namespace=NS_KIOSK, auth={"token": token, "agent": True}, flask_test_client=client
    )


def _page(socketio, app, client, token):
    """The kiosk page's connection (no `agent` flag)."""
    return socketio.test_client(
        app, namespace=NS_KIOSK, auth={"token": token}, flask_test_client=client
    )


def _events(sio, name):
    return [p for n, p in drain(sio, NS_KIOSK) if n == name]


def _jobs(sio):
    return [p["job"] for p in _events(sio, "print")]


def _issue(client, kactors, service="DD", **body):
    r = client.post(
        "/api/v1/tickets", json={"service": service, **body}, headers=kactors.h(kactors.kiosk)
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _kiosk_status(client, kactors, lang="vi"):
    r = client.get(f"/api/v1/devices/status?lang={lang}", headers=kactors.h(kactors.supervisor))
    assert r.status_code == 200
    return next(d for d in r.get_json()["devices"] if d["name"] == "kiosk-1"), r.get_json()


def _row(ctx, job_id):
    with ctx.db.connection() as conn:
        return job_store.job(conn, job_id)


def test_job_goes_to_the_agent_after_commit_and_the_ack_marks_it_printed(
    socketio, app, client, kactors, ctx
):
    agent = _agent(socketio, app, client, kactors.kiosk)
    page = _page(socketio, app, client, kactors.kiosk)
    assert agent.is_connected(NS_KIOSK) and page.is_connected(NS_KIOSK)
    drain(agent, NS_KIOSK)
    drain(page, NS_KIOSK)

    body = _issue(client, kactors, "HT")
    assert body["print"]["status"] == "sent" and body["print"]["agent"] is True
    [job] = _jobs(agent)
    assert job["job_id"] == body["print"]["job_id"]
    assert job["ticket_id"] == body["id"] and job["label"] == body["label"] == "2001"
    assert job["service_name"] == "Hộ tịch – Tư pháp"
    assert job["tracking_url"] == body["tracking_url"]
    assert job["center"].startswith("Trung tâm") and job["priority"] is None
    # the row exists before the agent could answer: the job was recorded, then emitted
    assert _row(ctx, job["job_id"])["status"] == "sent"
    assert not _events(page, "print"), "print jobs go to the agent only"

    ack = agent.emit(
        "printed", {"job_id": job["job_id"], "ok": True}, namespace=NS_KIOSK, callback=True
    )
    assert ack == {"ok": True, "status": "printed"}
    row = _row(ctx, job["job_id"])
    assert row["status"] == "printed" and row["attempts"] == 1 and row["finished_at"]
    [status] = _events(page, "print_status")
    assert status["ok"] is True and status["ticket_id"] == body["id"]
    assert status["label"] == "2001" and status["error"] is None


def test_jobs_issued_while_the_agent_is_away_print_when_it_connects(
    socketio, app, client, kactors, ctx
):
    first = _issue(client, kactors, "DD")
    second = _issue(client, kactors, "CC", priority="elderly")
    assert first["print"] == {
        "job_id": first["print"]["job_id"],
        "status": "queued",
        "printer": None,
        "agent": False,
    }
    agent = _agent(socketio, app, client, kactors.kiosk)
    jobs = _jobs(agent)
    assert [j["label"] for j in jobs] == ["1001", "3001"]
    assert [j["job_id"] for j in jobs] == [first["print"]["job_id"], second["print"]["job_id"]]
    assert jobs[1]["priority"] == "Người cao tuổi"
    assert jobs[0]["tracking_url"].endswith("/t/" + first["token"])

    # not acknowledged: a reconnection gets the same jobs again, same ids
    agent.disconnect(namespace=NS_KIOSK)
    agent = _agent(socketio, app, client, kactors.kiosk)
    again = _jobs(agent)
    assert [j["job_id"] for j in again] == [j["job_id"] for j in jobs]
    assert _row(ctx, jobs[0]["job_id"])["attempts"] == 2
    for j in again:
        agent.emit("printed", {"job_id": j["job_id"], "ok": True}, namespace=NS_KIOSK)
    agent.disconnect(namespace=NS_KIOSK)
    agent = _agent(socketio, app, client, kactors.kiosk)
    assert _jobs(agent) == [], "printed jobs are never sent again"


def test_a_repeated_ack_changes_nothing(socketio, app, client, kactors, ctx):
    agent = _agent(socketio, app, client, kactors.kiosk)
    drain(agent, NS_KIOSK)
    body = _issue(client, kactors)
    job_id = body["print"]["job_id"]
    for _ in range(2):
        agent.emit("printed", {"job_id": job_id, "ok": True}, namespace=NS_KIOSK)
    late_failure = agent.emit(
        "printed",
        {"job_id": job_id, "ok": False, "error": "late"},
        namespace=NS_KIOSK,
        callback=True,
    )
    assert late_failure == {"ok": True, "status": "printed"}
    row = _row(ctx, job_id)
    assert row["status"] == "printed" and row["error"] is None and row["attempts"] == 1


def test_paper_out_fails_the_job_and_tells_the_page(socketio, app, client, kactors, ctx):
    agent = _agent(socketio, app, client, kactors.kiosk)
    page = _page(socketio, app, client, kactors.kiosk)
    drain(page, NS_KIOSK)
    body = _issue(client, kactors)
    [job] = _jobs(agent)
    ack = agent.emit(
        "printed",
        {
            "job_id": job["job_id"],
            "ok": False,
            "error": "printer paper_out",
            "printer": "paper_out",
        },
        namespace=NS_KIOSK,
        callback=True,
    )
    assert ack == {"ok": True, "status": "failed"}
    row = _row(ctx, job["job_id"])
    assert row["status"] == "failed" and row["error"] == "printer paper_out"
    events = drain(page, NS_KIOSK)
    status = next(p for n, p in events if n == "print_status")
    assert status == {
        "ticket_id": body["id"],
        "job_id": job["job_id"],
        "label": body["label"],
        "ok": False,
        "error": "printer paper_out",
        "printer": "paper_out",
    }
    assert ("printer", {"printer": "paper_out", "agent": True}) in events
    # the citizen was told to note the number: a failed job never prints later
    agent.disconnect(namespace=NS_KIOSK)
    agent = _agent(socketio, app, client, kactors.kiosk)
    assert _jobs(agent) == []


def test_jobs_older_than_a_few_minutes_are_not_printed_any_more(
    socketio, app, client, kactors, ctx, clock
):
    agent = _agent(socketio, app, client, kactors.kiosk)
    drain(agent, NS_KIOSK)
    sent = _issue(client, kactors)  # handed over, never acknowledged
    agent.disconnect(namespace=NS_KIOSK)
    queued = _issue(client, kactors)  # never handed over
    clock.advance(minutes=6)
    fresh = _issue(client, kactors)
    agent = _agent(socketio, app, client, kactors.kiosk)
    assert [j["job_id"] for j in _jobs(agent)] == [fresh["print"]["job_id"]]
    row = _row(ctx, sent["print"]["job_id"])
    assert row["status"] == "failed" and row["error"] == "expired"
    assert _row(ctx, queued["print"]["job_id"]) is None


def test_tickets_of_yesterday_are_never_printed(socketio, app, client, kactors, clock):
    _issue(client, kactors)
    clock.advance(days=1)
    agent = _agent(socketio, app, client, kactors.kiosk)
    assert _jobs(agent) == []


def test_ticket_prints_in_the_language_the_citizen_chose(socketio, app, client, kactors):
    agent = _agent(socketio, app, client, kactors.kiosk)
    drain(agent, NS_KIOSK)
    _issue(client, kactors, "DD", priority="veteran", lang="en")
    [job] = _jobs(agent)
    assert job["lang"] == "en" and job["service_name"] == "Land"
    assert job["center"] == "Provincial Public Administrative Service Center"
    assert job["priority"] == "Veteran / person of merit"


def test_staff_issued_tickets_have_no_print_job(socketio, app, client, kactors):
    agent = _agent(socketio, app, client, kactors.kiosk)
    drain(agent, NS_KIOSK)
    r = client.post("/api/v1/tickets", json={"service": "DD"}, headers=kactors.h(kactors.staff1))
    assert r.status_code == 201 and "print" not in r.get_json()
    assert _jobs(agent) == []


@pytest.mark.parametrize(
    "auth",
    [None, {"token": "not-a-token"}, "board", "staff"],
)
def test_only_kiosk_devices_may_connect(socketio, app, client, kactors, auth):
    if auth == "board":
        auth = {"token": kactors.board, "agent": True}
    elif auth == "staff":
        auth = {"token": kactors.staff1, "agent": True}
    sio = socketio.test_client(app, namespace=NS_KIOSK, auth=auth, flask_test_client=client)
    assert not sio.is_connected(NS_KIOSK)


def test_the_page_cannot_acknowledge_jobs_or_send_heartbeats(socketio, app, client, kactors):
    page = _page(socketio, app, client, kactors.kiosk)
    assert page.emit("heartbeat", {"printer": "online"}, namespace=NS_KIOSK, callback=True)[
        "error"
    ]["code"] == ("not_agent")
    r = page.emit("printed", {"job_id": "x", "ok": True}, namespace=NS_KIOSK, callback=True)
    assert r["ok"] is False and r["error"]["code"] == "not_agent"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (None, "bad_ack"),
        ({"job_id": 5, "ok": True}, "bad_ack"),
        ({"job_id": "x"}, "bad_ack"),
        ({"job_id": "x", "ok": True, "printer": "on fire"}, "bad_ack"),
        ({"job_id": "20261125-1001-deadbeef", "ok": True}, "unknown_job"),
    ],
)
def test_bad_acknowledgements_get_an_error_not_a_crash(socketio, app, client, kactors, data, code):
    agent = _agent(socketio, app, client, kactors.kiosk)
    r = agent.emit("printed", data, namespace=NS_KIOSK, callback=True)
    assert r["ok"] is False and r["error"]["code"] == code
    assert agent.is_connected(NS_KIOSK)


def test_another_kiosks_job_cannot_be_acknowledged(socketio, app, client, kactors, ctx):
    other = accounts.add_device(ctx.db, "kiosk-2", "kiosk", ctx.now())
    mine = _agent(socketio, app, client, kactors.kiosk)
    drain(mine, NS_KIOSK)
    body = _issue(client, kactors)
    theirs = _agent(socketio, app, client, other)
    r = theirs.emit(
        "printed",
        {"job_id": body["print"]["job_id"], "ok": False},
        namespace=NS_KIOSK,
        callback=True,
    )
    assert r["error"]["code"] == "unknown_job"
    assert _row(ctx, body["print"]["job_id"])["status"] == "sent"


def test_a_second_agent_replaces_the_first(socketio, app, client, kactors):
    first = _agent(socketio, app, client, kactors.kiosk)
    drain(first, NS_KIOSK)
    second = _agent(socketio, app, client, kactors.kiosk)
    assert not first.is_connected(NS_KIOSK) and second.is_connected(NS_KIOSK)
    drain(second, NS_KIOSK)
    body = _issue(client, kactors)
    assert [j["job_id"] for j in _jobs(second)] == [body["print"]["job_id"]]


def test_heartbeats_update_the_device_and_the_supervisors_view(
    socketio, app, client, kactors, ctx, clock
):
    agent = _agent(socketio, app, client, kactors.kiosk)
    page = _page(socketio, app, client, kactors.kiosk)
    drain(page, NS_KIOSK)
    ack = agent.emit(
        "heartbeat",
        {"printer": "paper_low", "detail": "PAPER_LOW"},
        namespace=NS_KIOSK,
        callback=True,
    )
    assert ack == {"ok": True}
    assert ("printer", {"printer": "paper_low", "agent": True}) in drain(page, NS_KIOSK)
    with ctx.db.connection() as conn:
        device = account_store.device_by_name(conn, "kiosk-1")
    assert device["status"] == "paper_low" and device["last_seen"]

    kiosk, _ = _kiosk_status(client, kactors)
    assert kiosk["status"] == "paper_low" and kiosk["printer"] == "paper_low"
    assert kiosk["last_seen"] and kiosk["agent_connected"] and kiosk["pages_connected"] == 1
    assert kiosk["printer_detail"] == "PAPER_LOW"
    assert kiosk["health"] == "warning"
    assert kiosk["problems"] == [{"code": "printer_paper_low", "message": "Máy in sắp hết giấy"}]

    agent.emit("heartbeat", {"printer": "paper_out", "detail": ""}, namespace=NS_KIOSK)
    kiosk, _ = _kiosk_status(client, kactors)
    assert kiosk["health"] == "fault" and kiosk["problems"][0]["code"] == "printer_paper_out"

    clock.advance(seconds=60)  # no heartbeat for a minute: a stuck agent
    kiosk, _ = _kiosk_status(client, kactors)
    assert "heartbeat_stale" in [p["code"] for p in kiosk["problems"]]

    agent.disconnect(namespace=NS_KIOSK)
    kiosk, body = _kiosk_status(client, kactors, "en")
    assert kiosk["agent_connected"] is False and kiosk["health"] == "fault"
    assert kiosk["problems"][0] == {
        "code": "agent_disconnected",
        "message": "The kiosk's printer agent is not connected",
    }
    board = next(d for d in body["devices"] if d["name"] == "board-all")
    assert board["kind"] == "display" and "health" not in board


def test_device_status_is_for_supervisors_only(client, kactors):
    assert client.get("/api/v1/devices/status").status_code == 401
    r = client.get("/api/v1/devices/status", headers=kactors.h(kactors.staff1))
    assert r.status_code == 403
    assert client.get("/api/v1/devices/status", headers=kactors.h(kactors.kiosk)).status_code == 403
    assert client.get("/api/v1/devices/status", headers=kactors.h(kactors.admin)).status_code == 200


@pytest.mark.parametrize(
    "data", [None, {}, {"printer": "broken"}, {"printer": "online", "detail": 5}]
)
def test_bad_heartbeats_are_refused_politely(socketio, app, client, kactors, data):
    agent = _agent(socketio, app, client, kactors.kiosk)
    r = agent.emit("heartbeat", data, namespace=NS_KIOSK, callback=True)
    assert r["ok"] is False and r["error"]["code"] == "bad_heartbeat"


def test_a_revoked_kiosk_loses_its_agent_and_page(socketio, app, client, kactors, ctx):
    agent = _agent(socketio, app, client, kactors.kiosk)
    page = _page(socketio, app, client, kactors.kiosk)
    accounts.revoke_device(ctx.db, "kiosk-1", ctx.now())
    agent.emit("heartbeat", {"printer": "online"}, namespace=NS_KIOSK)
    assert not agent.is_connected(NS_KIOSK) and not page.is_connected(NS_KIOSK)
    assert not _agent(socketio, app, client, kactors.kiosk).is_connected(NS_KIOSK)
    r = client.post("/api/v1/tickets", json={"service": "DD"}, headers=kactors.h(kactors.kiosk))
    assert r.status_code == 401


def test_a_rotated_token_ends_the_old_agent(socketio, app, client, kactors, ctx):
    agent = _agent(socketio, app, client, kactors.kiosk)
    new_token = accounts.add_device(ctx.db, "kiosk-1", "kiosk", ctx.now(), replace=True)
    r = agent.emit("heartbeat", {"printer": "online"}, namespace=NS_KIOSK, callback=True)
    assert r is None or r["ok"] is False
    assert not agent.is_connected(NS_KIOSK)
    assert _agent(socketio, app, client, new_token).is_connected(NS_KIOSK)


def test_issue_answer_and_jobs_are_documented(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/devices/status" in doc["paths"]
    issued = doc["components"]["schemas"]["IssuedTicket"]["properties"]
    assert issued["print"] == {"$ref": "#/components/schemas/KioskPrint"}


def test_job_ids_are_stable_and_safe_file_names(client, kactors):
    from server.printjobs import job_id_for

    body = _issue(client, kactors)
    ticket = {"id": body["id"], "label": body["label"], "day": "2026-11-25", "token": body["token"]}
    job_id = job_id_for(ticket)
    assert job_id == job_id_for(dict(ticket))
    assert job_id.startswith("20261125-1001-") and body["token"] not in job_id
    assert job_id == body["print"]["job_id"]
