"""The HTTP contract of DESIGN.md: status codes, JSON bodies, errors, auth."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import BadRequest as BadRequestError

from server.api.openapi import document


def test_health_and_services(client):
    assert client.get("/api/v1/health").get_json()["status"] == "ok"
    services = client.get("/api/v1/services").get_json()["services"]
    dd = next(s for s in services if s["code"] == "DD")
    assert dd["name_vi"] == "Đất đai" and dd["open"] is True and dd["waiting"] == 0


def test_issue_ticket_contract(client, actors):
    r = client.post(
        "/api/v1/tickets",
        json={"service": "HT", "priority": "normal"},
        headers=actors.h(actors.kiosk),
    )
    assert r.status_code == 201
    body = r.get_json()
    for key in (
        "id",
        "label",
        "number",
        "service",
        "status",
        "issued_at",
        "people_ahead",
        "estimated_wait_min",
        "token",
        "tracking_url",
    ):
        assert key in body
    assert body["label"] == "2001" and body["status"] == "waiting"
    assert body["tracking_url"].endswith("/t/" + body["token"])
    assert len(body["token"]) >= 20


def test_public_ticket_status_has_no_personal_data(client, actors):
    r = client.post(
        "/api/v1/tickets",
        json={"service": "DD", "phone": "0912345678"},
        headers=actors.h(actors.kiosk),
    )
    token = r.get_json()["token"]
    body = client.get(f"/api/v1/tickets/{token}").get_json()["ticket"]
    assert body["status"] == "waiting" and body["people_ahead"] == 0
    assert "0912345678" not in str(body) and "phone" not in body
    assert client.get("/api/v1/tickets/nonexistent-token-123").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"service": "NOPE"}, 404, "unknown_service"),
        ({}, 400, "missing_service"),
        ({"service": 5}, 400, "missing_service"),
        ({"service": "DD", "priority": "vip"}, 400, "unknown_priority"),
        ({"service": "DD", "phone": "abc"}, 400, "bad_phone"),
    ],
)
def test_issue_bad_input(client, actors, body, status, code):
    r = client.post("/api/v1/tickets", json=body, headers=actors.h(actors.kiosk))
    assert r.status_code == status
    assert r.get_json()["error"]["code"] == code


def test_malformed_json_is_400_not_500(client, actors):
    r = client.post(
        "/api/v1/tickets",
        data="{not json",
        content_type="application/json",
        headers=actors.h(actors.kiosk),
    )
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "bad_json"
    r = client.post("/api/v1/tickets", json=[1, 2], headers=actors.h(actors.kiosk))
    assert r.status_code == 400


def test_a_json_body_reads_the_same_twice_and_a_short_one_is_a_400(app):
    """json_body() reads a sized body from the server's input once: a second call in
    the same request gets the same object, and a body shorter than its Content-Length
    (the client went away) is a 400, not a hang or a 500."""
    import io

    from server.api.common import json_body

    raw = '{"service": "ĐĐ", "note": "Nguyễn"}'.encode()
    with app.test_request_context(
        "/api/v1/tickets", method="POST", data=raw, content_type="application/json"
    ):
        assert json_body() == json_body() == {"service": "ĐĐ", "note": "Nguyễn"}
    with app.test_request_context(
        "/api/v1/tickets",
        method="POST",
        content_type="application/json",
        environ_overrides={"wsgi.input": io.BytesIO(raw[:10]), "CONTENT_LENGTH": str(len(raw))},
    ):
        with pytest.raises(BadRequestError) as refused:
            json_body()
        assert refused.value.code == 400


def test_auth_is_required_and_roles_are_checked(client, actors):
    assert client.post("/api/v1/tickets", json={"service": "DD"}).status_code == 401
    r = client.post("/api/v1/tickets", json={"service": "DD"}, headers=actors.h("made-up-token"))
    assert r.status_code == 401
    r = client.post("/api/v1/tickets", json={"service": "DD"}, headers=actors.h(actors.board))
    assert r.status_code == 403
    # A kiosk cannot call tickets; staff cannot call at another's counter.
    assert client.post("/api/v1/counters/1/next", headers=actors.h(actors.kiosk)).status_code == 403
    r = client.post("/api/v1/counters/2/next", headers=actors.h(actors.staff[1]))
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_your_counter"
    # A supervisor may act at any counter.
    assert (
        client.post("/api/v1/counters/2/next", headers=actors.h(actors.supervisor)).status_code
        == 204
    )


def test_call_flow_over_http(client, actors, issue):
    t = issue("DD")
    staff = actors.h(actors.staff[1])
    r = client.post("/api/v1/counters/1/next", headers=staff)
    assert r.status_code == 200
    body = r.get_json()
    assert body["ticket"]["label"] == t["label"] and body["call"]["counter"] == 1
    assert body["call"]["text"].startswith("Xin mời công dân có số thứ tự")
    assert body["call"]["audio_url"].startswith("/api/v1/audio/")
    tid = body["ticket"]["id"]
    assert (
        client.post(f"/api/v1/tickets/{tid}/start", headers=staff).get_json()["ticket"]["status"]
        == "serving"
    )
    r = client.post(f"/api/v1/tickets/{tid}/start", headers=staff)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "invalid_transition"
    assert (
        client.post(f"/api/v1/tickets/{tid}/finish", headers=staff).get_json()["ticket"]["status"]
        == "done"
    )
    # Another staff member cannot touch a ticket at counter 1.
    assert (
        client.post(f"/api/v1/tickets/{tid}/no-show", headers=actors.h(actors.staff[2])).status_code
        == 403
    )
    assert client.post("/api/v1/counters/1/next", headers=staff).status_code == 204
    assert (
        client.post("/api/v1/counters/99/next", headers=actors.h(actors.supervisor)).status_code
        == 404
    )


def test_counter_actions_over_http(client, actors, issue):
    staff = actors.h(actors.staff[1])
    issue("DD")
    r = client.post("/api/v1/counters/1/pause", json={"reason": "meeting"}, headers=staff)
    assert r.status_code == 200 and r.get_json()["counter"]["state"] == "paused"
    assert client.post("/api/v1/counters/1/next", headers=staff).status_code == 409
    r = client.post("/api/v1/counters/1/pause", json={"reason": "nap"}, headers=staff)
    assert r.status_code == 400
    assert client.post("/api/v1/counters/1/resume", headers=staff).status_code == 200
    assert client.post("/api/v1/counters/1/recall", headers=staff).status_code == 409
    assert client.post("/api/v1/counters/1/next", headers=staff).status_code == 200
    r = client.post("/api/v1/counters/1/recall", headers=staff)
    assert r.status_code == 200 and r.get_json()["call"]["recall"] is True
    counters = client.get("/api/v1/counters").get_json()["counters"]
    c1 = next(c for c in counters if c["number"] == 1)
    assert c1["serving"]["label"] == "1001" and c1["serving"]["recall_count"] == 1


def test_call_specific_label_and_transfer_over_http(client, actors, issue):
    issue("HT")
    second = issue("HT")
    staff3 = actors.h(actors.staff[3])
    r = client.post("/api/v1/counters/3/call", json={"label": second["label"]}, headers=staff3)
    assert r.status_code == 200 and r.get_json()["ticket"]["id"] == second["id"]
    r = client.post("/api/v1/counters/3/call", json={}, headers=staff3)
    assert r.status_code == 400
    r = client.post(
        f"/api/v1/tickets/{second['id']}/transfer", json={"service": "CC"}, headers=staff3
    )
    assert r.status_code == 200
    assert (
        r.get_json()["ticket"]["queue_service"] == "CC"
        and r.get_json()["ticket"]["status"] == "waiting"
    )
    r = client.post(
        f"/api/v1/tickets/{second['id']}/transfer", json={"service": "CC"}, headers=staff3
    )
    assert r.status_code == 403  # no longer at counter 3


def test_call_a_number_respects_a_transfer_to_another_counter(client, actors, issue):
    t = issue("DD")
    staff1, staff2 = actors.h(actors.staff[1]), actors.h(actors.staff[2])
    boss = actors.h(actors.supervisor)
    assert client.post("/api/v1/counters/1/next", headers=staff1).status_code == 200
    r = client.post(f"/api/v1/tickets/{t['id']}/transfer", json={"counter": 7}, headers=staff1)
    assert r.status_code == 200 and r.get_json()["ticket"]["target_counter"] == 7
    # counter 2 serves DD too, but 1001 was sent to counter 7: neither way of calling takes it
    assert client.post("/api/v1/counters/2/next", headers=staff2).status_code == 204
    r = client.post("/api/v1/counters/2/call", json={"label": t["label"]}, headers=staff2)
    assert r.status_code == 409
    assert r.get_json()["error"]["code"] == "transferred_elsewhere"
    assert "quầy số 7" in r.get_json()["error"]["message"]
    assert client.get(f"/api/v1/tickets/{t['token']}").get_json()["ticket"]["status"] == "waiting"
    r = client.post("/api/v1/counters/7/call", json={"label": t["label"]}, headers=boss)
    assert r.status_code == 200 and r.get_json()["call"]["counter"] == 7


def test_pause_with_a_reason_that_is_not_text_is_a_400(client, actors):
    staff = actors.h(actors.staff[1])
    for reason in ({}, [], ["break"], True, 5, None):
        r = client.post("/api/v1/counters/1/pause", json={"reason": reason}, headers=staff)
        assert r.status_code == 400, reason
        assert r.get_json()["error"]["code"] == "bad_pause_reason"
    counters = client.get("/api/v1/counters").get_json()["counters"]
    assert next(c for c in counters if c["number"] == 1)["state"] == "open"


def test_calls_history(client, actors, issue):
    for _ in range(3):
        issue("DD")
    for _ in range(3):
        client.post("/api/v1/counters/1/next", headers=actors.h(actors.staff[1]))
    calls = client.get("/api/v1/calls?after=0").get_json()
    assert [c["seq"] for c in calls["calls"]] == [1, 2, 3]
    assert [c["label"] for c in calls["calls"]] == ["1001", "1002", "1003"]
    assert client.get("/api/v1/calls?after=2").get_json()["calls"][0]["seq"] == 3
    assert client.get("/api/v1/calls?after=x").status_code == 400


def test_unknown_api_route_is_json_404(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"


def test_openapi_lists_every_api_route(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = set(document()["paths"])
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = rule.rule[len("/api/v1") :]
        for conv in ("int:", "path:", "string:"):
            path = path.replace(f"<{conv}", "<")
        path = path.replace("<", "{").replace(">", "}")
        assert path in documented, f"{path} is not in openapi.json"


def test_security_headers_once_on_api_answers_and_a_views_own_value_is_kept(app, client):
    @app.get("/test-own-frame-policy")
    def own_frame_policy():
        return "ok", 200, {"x-frame-options": "SAMEORIGIN"}

    answer = client.get("/api/v1/health")
    for name in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"):
        assert len(answer.headers.getlist(name)) == 1, name
    assert not answer.headers.get("Set-Cookie")  # no session for a cookie-less API call
    own = client.get("/test-own-frame-policy")
    assert own.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert own.headers["Referrer-Policy"] == "same-origin"


def test_security_headers_on_pages(client):
    r = client.get("/")
    assert "Trung tâm" in r.get_data(as_text=True)
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"
