"""The sound a call makes: the server renders real Vietnamese speech for every call, once,
at the URL in the call's payload, and the chime every board plays before it."""

from __future__ import annotations

import array
import io
import math
import wave

from server.protocol import NS_DISPLAY
from tests.conftest import drain


def wav_stats(data: bytes) -> tuple[float, float, int]:
    """(duration in seconds, RMS of the samples from 0 to 1, sample rate)."""
    with wave.open(io.BytesIO(data)) as wav:
        assert wav.getsampwidth() == 2
        rate, frames = wav.getframerate(), wav.getnframes()
        samples = array.array("h", wav.readframes(frames))
    rms = math.sqrt(sum(s * s for s in samples) / max(1, len(samples))) / 32768
    return frames / rate, rms, rate


def _call(client, actors, counter: int, action: str = "next") -> dict:
    r = client.post(f"/api/v1/counters/{counter}/{action}", headers=actors.h(actors.supervisor))
    assert r.status_code == 200, r.get_json()
    return r.get_json()["call"]


def test_every_call_carries_a_url_of_real_speech_of_plausible_length(
    client, actors, issue, socketio, app
) -> None:
    issue("DD")
    issue("HT")
    board = socketio.test_client(
        app, namespace=NS_DISPLAY, auth={"token": actors.board}, flask_test_client=client
    )
    drain(board, NS_DISPLAY)
    first = _call(client, actors, 1)
    second = _call(client, actors, 3)
    pushed = [p for name, p in drain(board, NS_DISPLAY) if name == "call"]
    assert [p["audio_url"] for p in pushed] == [first["audio_url"], second["audio_url"]]
    assert first["text"] == (
        "Xin mời công dân có số thứ tự một nghìn không trăm linh một đến quầy số một"
    )
    bodies = []
    for call in (first, second):
        assert call["audio_url"].startswith("/api/v1/audio/") and call["audio_url"].endswith(".wav")
        r = client.get(call["audio_url"])
        assert r.status_code == 200 and r.mimetype == "audio/wav"
        duration, rms, rate = wav_stats(r.data)
        assert 2.0 <= duration <= 8.0, duration
        assert rms > 0.02, rms  # speech, not silence
        assert rate >= 16000
        bodies.append(r.data)
    assert bodies[0] != bodies[1]  # 1001 at counter 1 and 2001 at counter 3 sound different


def test_a_recall_points_to_the_same_rendered_file(client, actors, issue) -> None:
    issue("CC")
    first = _call(client, actors, 5)
    again = _call(client, actors, 5, "recall")
    assert again["recall"] is True
    assert again["audio_url"] == first["audio_url"]
    assert client.get(again["audio_url"]).data == client.get(first["audio_url"]).data


def test_the_chime_is_a_short_audible_sound(client) -> None:
    r = client.get("/api/v1/audio/chime.wav")
    assert r.status_code == 200 and r.mimetype == "audio/wav"
    duration, rms, _ = wav_stats(r.data)
    assert 0.3 <= duration <= 3.0 and rms > 0.02


def test_unknown_audio_is_a_json_404(client) -> None:
    r = client.get("/api/v1/audio/0123456789abcdef01234567.wav")
    assert r.status_code == 404
    assert r.get_json()["error"]["code"] == "unknown_audio"
    assert client.get("/api/v1/audio/..%2Fsecret.wav").status_code == 404
