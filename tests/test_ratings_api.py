"""Ratings over HTTP and on the counter pad's Socket.IO namespace."""

from __future__ import annotations

import pytest

from server import accounts
from server.protocol import NS_PAD
from tests.conftest import drain


@pytest.fixture
def pads(ctx):
    now = ctx.now()
    return {
        1: accounts.add_device(ctx.db, "pad-1", "counter", now, counter=1),
        2: accounts.add_device(ctx.db, "pad-2", "counter", now, counter=2),
    }


def _call_next(client, actors, counter=1) -> int:
    r = client.post(f"/api/v1/counters/{counter}/next", headers=actors.h(actors.staff[counter]))
    assert r.status_code == 200
    return r.get_json()["ticket"]["id"]


def _serve(client, actors, clock, issue, counter=1, service="DD", minutes=5):
    t = issue(service)
    tid = _call_next(client, actors, counter)
    clock.advance(minutes=minutes)
    r = client.post(f"/api/v1/tickets/{tid}/finish", headers=actors.h(actors.staff[counter]))
    assert r.status_code == 200
    return t


def _rate(client, token, level="satisfied", pad=None, **extra):
    """POST a rating, from a pad's device token (pad) or else as the citizen's phone."""
    headers = {"Authorization": f"Bearer {pad}"} if pad else None
    return client.post(
        "/api/v1/ratings", json={"ticket": token, "level": level, **extra}, headers=headers
    )


def test_pad_rates_the_ticket_just_finished_once(client, actors, clock, issue, pads):
    t = _serve(client, actors, clock, issue)
    r = _rate(client, t["token"], "very_satisfied", pad=pads[1])
    assert r.status_code == 201, r.get_json()
    body = r.get_json()["rating"]
    assert (body["ticket"], body["level"], body["counter"], body["source"]) == (
        t["label"],
        "very_satisfied",
        1,
        "pad",
    )
    again = _rate(client, t["token"], pad=pads[1])
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_rated"
    assert _rate(client, t["token"]).status_code == 409  # nor from the phone


def test_unsatisfied_needs_a_reason_from_the_list(client, actors, clock, issue, pads):
    t = _serve(client, actors, clock, issue)
    for body, code in (
        ({"level": "unsatisfied"}, "reason_required"),
        ({"level": "unsatisfied", "reason": "bad mood"}, "bad_reason"),
        ({"level": "angry"}, "bad_level"),
        ({"level": "unsatisfied", "reason": "other", "text": 5}, "bad_text"),
    ):
        r = client.post("/api/v1/ratings", json={"ticket": t["token"], **body})
        assert r.status_code == 400 and r.get_json()["error"]["code"] == code, body
    r = _rate(client, t["token"], "unsatisfied", reason="long_wait", text="  chờ  quá lâu ")
    assert r.status_code == 201
    rating = r.get_json()["rating"]
    assert (rating["reason"], rating["reason_text"], rating["source"]) == (
        "long_wait",
        "chờ quá lâu",
        "web",
    )


def test_only_done_tickets_of_the_pads_own_counter(client, actors, clock, issue, pads):
    waiting = issue("HT")  # nobody at counter 1 serves it
    r = _rate(client, waiting["token"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_finished"
    assert _rate(client, "x" * 22).status_code == 404
    r = client.post("/api/v1/ratings", json={"level": "satisfied"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "missing_ticket"
    t = _serve(client, actors, clock, issue, counter=1)
    r = _rate(client, t["token"], pad=pads[2])
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_this_counter"
    clock.advance(minutes=31)
    r = _rate(client, t["token"], pad=pads[1])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "rating_expired"
    # … but the citizen may still rate from the phone with the ticket's token
    assert _rate(client, t["token"]).status_code == 201


def test_no_show_cannot_be_rated(client, actors, issue):
    t = issue("DD")
    tid = _call_next(client, actors)
    client.post(f"/api/v1/tickets/{tid}/no-show", headers=actors.h(actors.staff[1]))
    r = _rate(client, t["token"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_finished"


def test_public_state_and_options_for_the_tracking_widget(client, actors, clock, issue):
    t = issue("DD")
    state = client.get(f"/api/v1/ratings/{t['token']}").get_json()
    assert state == {
        "status": "waiting",
        "rated": False,
        "level": None,
        "can_rate": False,
        "expired": False,
    }
    tid = _call_next(client, actors)
    client.post(f"/api/v1/tickets/{tid}/finish", headers=actors.h(actors.staff[1]))
    assert client.get(f"/api/v1/ratings/{t['token']}").get_json()["can_rate"] is True
    _rate(client, t["token"])
    state = client.get(f"/api/v1/ratings/{t['token']}").get_json()
    assert (state["rated"], state["level"], state["can_rate"]) == (True, "satisfied", False)
    assert client.get("/api/v1/ratings/nope").status_code == 404
    opts = client.get("/api/v1/ratings/options").get_json()
    assert [lv["label"] for lv in opts["levels"]] == ["Rất hài lòng", "Hài lòng", "Không hài lòng"]
    assert "Chờ lâu" in [r["label"] for r in opts["reasons"]]
    assert opts["texts"]["rating.thanks"] == "Cảm ơn ông/bà đã đánh giá"
    en = client.get("/api/v1/ratings/options?lang=en").get_json()
    assert en["levels"][0]["label"] == "Very satisfied"


def test_public_ratings_are_rate_limited(client, actors, ctx):
    from server.ratelimit import RateLimiter

    ctx.limits["rating"] = RateLimiter(limit=2, per_seconds=60)
    codes = [_rate(client, "y" * 22).status_code for _ in range(3)]
    assert codes == [404, 404, 429]


def _pad(socketio, app, client, token):
    return socketio.test_client(
        app, namespace=NS_PAD, auth={"token": token}, flask_test_client=client
    )


def test_pad_gets_the_rate_prompt_then_rated_over_socketio(
    socketio, app, client, actors, clock, issue, pads
):
    pad1 = _pad(socketio, app, client, pads[1])
    pad2 = _pad(socketio, app, client, pads[2])
    assert pad1.is_connected(NS_PAD) and pad2.is_connected(NS_PAD)
    assert drain(pad1, NS_PAD) == []
    t = _serve(client, actors, clock, issue, counter=1)
    events = drain(pad1, NS_PAD)
    assert [name for name, _ in events] == ["rate"]
    prompt = events[0][1]
    assert prompt["ticket_token"] == t["token"] and prompt["label"] == t["label"]
    assert (prompt["counter"], prompt["counter_name"], prompt["service_name_vi"]) == (
        1,
        "Quầy 1",
        "Đất đai",
    )
    assert drain(pad2, NS_PAD) == []  # another counter's pad sees nothing
    r = _rate(client, prompt["ticket_token"], "unsatisfied", pad=pads[1], reason="attitude")
    assert r.status_code == 201
    assert drain(pad1, NS_PAD) == [("rated", {"ticket_token": t["token"]})]


def test_call_next_finishing_the_previous_citizen_also_prompts_the_pad(
    socketio, app, client, actors, issue, pads
):
    first = issue("DD")
    issue("DD")
    pad1 = _pad(socketio, app, client, pads[1])
    client.post("/api/v1/counters/1/next", headers=actors.h(actors.staff[1]))
    assert drain(pad1, NS_PAD) == []
    client.post("/api/v1/counters/1/next", headers=actors.h(actors.staff[1]))
    events = drain(pad1, NS_PAD)
    assert [(n, p["ticket_token"]) for n, p in events] == [("rate", first["token"])]


def test_a_reconnecting_pad_gets_the_unrated_ticket_again(
    socketio, app, client, actors, clock, issue, pads
):
    t = _serve(client, actors, clock, issue, counter=1)
    pad1 = _pad(socketio, app, client, pads[1])
    events = drain(pad1, NS_PAD)
    assert [(n, p["ticket_token"]) for n, p in events] == [("rate", t["token"])]
    clock.advance(minutes=3)
    late = _pad(socketio, app, client, pads[1])
    assert drain(late, NS_PAD) == []


def test_only_counter_pads_may_connect(socketio, app, client, actors, ctx):
    assert not _pad(socketio, app, client, actors.kiosk).is_connected(NS_PAD)
    loose = accounts.add_device(ctx.db, "pad-loose", "counter", ctx.now())
    assert not _pad(socketio, app, client, loose).is_connected(NS_PAD)
