"""One department key cannot flood the server (config `api_keys`, as shipped): once a
key has made its burst of requests it gets 429 rate_limited with Retry-After, whatever
it sends (invalid PUTs, reads, import uploads), answered after a hold so a client
looping on refusals slows down, while another key, a kiosk and staff are served as
before; the window passing lets the key in again."""

from __future__ import annotations

import io

import pytest
import yaml

from server import config as config_mod
from server.apikey_limit import ApiKeyLimit, settings
from server.config import ConfigError
from server.ratelimit import RateLimiter
from tests.conftest import ROOT, shipped_config
from tests.dossier_fixtures import CODE, catalog, keys

__all__ = ["catalog", "keys"]


@pytest.fixture
def cfg() -> config_mod.Config:
    return shipped_config()  # the limit as config.yaml ships it: 300 requests in 10 s


class Ticking:
    """A monotonic clock the test moves by hand; the refusals' hold moves it too."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.held: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.held.append(seconds)
        self.t += seconds


@pytest.fixture
def clock_s(monkeypatch, socketio) -> Ticking:
    clock = Ticking()
    monkeypatch.setattr(socketio, "sleep", clock.sleep)  # the server's cooperative sleep
    return clock


def _bad_put(client, token: str, code: str = CODE):
    # a status that does not exist: a cheap 400, the flood the limit is for
    return client.put(
        f"/api/v1/dossiers/{code}",
        json={"procedure": "STP-LLTP", "applicant": "X", "status": "không-có"},
        headers={"Authorization": f"Bearer {token}"},
    )


def _ticket(client, actors):
    return client.post("/api/v1/tickets", json={"service": "DD"}, headers=actors.h(actors.kiosk))


def test_the_shipped_limit_lets_a_days_sync_through_in_one_burst(cfg, ctx):
    assert settings(cfg) == ApiKeyLimit(requests=300, per_s=10.0, hold_s=1.0)
    limiter = ctx.limits["apikey"]
    assert (limiter.limit, limiter.per) == (300, 10.0)


def test_a_flooding_key_gets_429_while_another_key_and_a_kiosk_are_served(
    client, ctx, keys, actors, clock_s
):
    statuses = [_bad_put(client, keys.stp).status_code for _ in range(300)]
    assert statuses == [400] * 300  # a day's worth of requests, even bad ones, all answered
    r = _bad_put(client, keys.stp)
    assert r.status_code == 429
    error = r.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert "quá nhiều yêu cầu" in error["message"]
    assert 1 <= int(r.headers["Retry-After"]) <= 11
    assert clock_s.held == [1.0]  # the refusal was answered after the hold
    # a read by the same key is refused too
    read = client.get(f"/api/v1/dossiers/{CODE}/detail", headers=keys.h(keys.stp))
    assert read.status_code == 429
    # another department's key, a kiosk and a staff member are served as usual
    other = client.put(
        "/api/v1/dossiers/000.00.06.H56-261125-0002",
        json={"procedure": "SXD-GPXD", "applicant": "Trần Thị Bình", "status": "received"},
        headers=keys.h(keys.sxd),
    )
    assert other.status_code in (200, 201), other.get_json()
    assert _ticket(client, actors).status_code == 201
    call = client.post("/api/v1/counters/1/next", headers=actors.h(actors.staff[1]))
    assert call.status_code == 200, call.get_json()


def test_the_limit_resets_once_the_window_has_passed(client, ctx, keys, clock_s):
    clock = clock_s
    ctx.limits["apikey"] = RateLimiter(limit=3, per_seconds=10, clock=clock)
    assert [_bad_put(client, keys.stp).status_code for _ in range(4)] == [400, 400, 400, 429]
    assert clock.held == [1.0] and clock.t == 1001.0
    clock.t += 4
    r = _bad_put(client, keys.stp)  # 5 s to wait: held 1 s, then told 4 (rounded up: 5)
    assert r.status_code == 429 and r.headers["Retry-After"] == "5"
    assert clock.held == [1.0, 1.0]
    clock.t += 4.1
    assert _bad_put(client, keys.stp).status_code == 400
    good = client.put(
        f"/api/v1/dossiers/{CODE}",
        json={"procedure": "STP-LLTP", "applicant": "Nguyễn Văn An", "status": "received"},
        headers=keys.h(keys.stp),
    )
    assert good.status_code in (200, 201), good.get_json()


def test_import_uploads_count_against_the_key(client, ctx, keys, clock_s):
    ctx.limits["apikey"] = RateLimiter(limit=2, per_seconds=60, clock=clock_s)
    csv = "Mã hồ sơ,Mã thủ tục,Người nộp,Trạng thái\n".encode()
    answers = []
    for _ in range(3):
        r = client.post(
            "/api/v1/dossiers/imports",
            data={"file": (io.BytesIO(csv), "a.csv"), "dry_run": "1"},
            headers=keys.h(keys.stp),
            content_type="multipart/form-data",
        )
        answers.append(
            (r.status_code, r.get_json()["error"]["code"] if r.status_code >= 400 else "")
        )
    assert answers[2] == (429, "rate_limited")
    assert all(status != 429 for status, _ in answers[:2])


def test_requests_zero_turns_the_limit_off(tmp_path):
    from dataclasses import replace

    from server.app import create_app

    base = shipped_config()
    off = replace(base, extra={**base.extra, "api_keys": {"requests": 0}})
    app = create_app(off, tmp_path / "d", testing=True)
    try:
        assert "apikey" not in app.extensions["motcua"].limits
    finally:
        app.extensions["motcua"].close()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"requests": -1}, "api_keys.requests: expected a whole number"),
        ({"requests": "many"}, "api_keys.requests: expected a whole number"),
        ({"requests": True}, "api_keys.requests: expected a whole number"),
        ({"per_s": 0}, "api_keys.per_s: expected seconds 0.1–3600"),
        ({"per_s": ".inf"}, "api_keys.per_s: expected seconds"),
        ({"per_s": float("nan")}, "api_keys.per_s: expected seconds"),
        ({"hold_s": 11}, "api_keys.hold_s: expected seconds 0–10"),
        ({"hold_s": -1}, "api_keys.hold_s: expected seconds 0–10"),
        ({"burst": 5}, "api_keys.burst: unknown key"),
        ([300], "api_keys: expected a mapping"),
    ],
)
def test_the_limit_is_validated_naming_the_key(section, message):
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    raw["api_keys"] = section
    cfg = config_mod.parse(raw, env={})
    with pytest.raises(ConfigError) as e:
        settings(cfg)
    assert str(e.value).startswith(message)
