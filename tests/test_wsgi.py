"""The production server's request reading (server/wsgi.py): its header parser on its
own, then `motcua serve` (gunicorn, the gevent worker) answering raw HTTP the way
kiosks, browsers and boards send it — and refusing malformed headers with a 400."""

from __future__ import annotations

import gc
import io
import json
import socket
from collections.abc import Iterator

import pytest
import socketio

from benchmarks import _server
from server import wsgi
from server.wsgi import MAX_FIELDS, MAX_LINE, RequestHeaders

BLOCK = (
    b"Host: 127.0.0.1:5000\r\n"
    b"Authorization: Bearer abc.def\r\n"
    b"content-type:application/json  \r\n"
    b"Content-Length: 17\r\n"
    b"X-Twice: first\r\n"
    b"x-twice: second\r\n"
    b"\r\n"
    b'{"service":"DD"}\n'
)


def _read(raw: bytes) -> RequestHeaders:
    return RequestHeaders.read(io.BytesIO(raw))


def test_fields_are_read_up_to_the_blank_line() -> None:
    rfile = io.BytesIO(BLOCK)
    h = RequestHeaders.read(rfile)
    assert rfile.read() == b'{"service":"DD"}\n'  # the body is left for the app
    assert h.get("host") == "127.0.0.1:5000"
    assert h.getheader("AUTHORIZATION") == "Bearer abc.def"
    assert h.typeheader == "application/json"  # spaces around the value dropped
    assert h.get("x-twice") == "first"  # the first of repeated fields, as http.client
    assert h.get("missing") is None and h.get("missing", "d") == "d"
    assert "content-length" in h and "nope" not in h
    assert list(h.headers)[:2] == ["Host: 127.0.0.1:5000\r\n", "Authorization: Bearer abc.def\r\n"]
    assert h.status == ""


def test_deleting_a_field_removes_every_copy() -> None:
    h = _read(BLOCK)
    del h["X-TWICE"]
    assert h.get("x-twice") is None
    del h["not-there"]  # no error, as http.client's message
    assert len(list(h.headers)) == 4


def test_bare_newlines_and_an_early_end_are_accepted() -> None:
    assert _read(b"Host: a\nAccept: */*\n\n").get("accept") == "*/*"
    assert _read(b"Host: a\r\n").get("host") == "a"  # connection closed mid-headers
    assert list(_read(b"\r\n").headers) == []


@pytest.mark.parametrize(
    "raw",
    [
        b"Host: a\r\n folded continuation\r\n\r\n",  # obsolete line folding
        b"Host : a\r\n\r\n",  # space before the colon
        b"no colon here\r\n\r\n",
        b": empty name\r\n\r\n",
        b"Bad\x00Name: a\r\n\r\n",
        b"X-A: one\x00two\r\n\r\n",
        b"X-A: one\rtwo\r\n\r\n",
        b"X-Long: " + b"a" * MAX_LINE + b"\r\n\r\n",
        b"".join(b"X-%d: v\r\n" % i for i in range(MAX_FIELDS + 1)) + b"\r\n",
    ],
    ids=["folded", "space", "nocolon", "noname", "nul-name", "nul", "cr", "long", "many"],
)
def test_malformed_header_blocks_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        _read(raw)


def test_the_limits_themselves_are_accepted() -> None:
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(MAX_FIELDS))
    assert len(list(_read(fields + b"\r\n").headers)) == MAX_FIELDS
    long = b"X-Long: " + b"a" * (MAX_LINE - 10) + b"\r\n"
    assert len(_read(long + b"\r\n").get("x-long") or "") == MAX_LINE - 10


def test_the_worker_collects_young_garbage_less_often(monkeypatch) -> None:
    """Once the app is loaded, only the young generation's threshold changes."""
    monkeypatch.setattr(wsgi.GeventWebSocketWorker, "load_wsgi", lambda self: None)
    before = gc.get_threshold()
    try:
        wsgi.Worker.load_wsgi(object.__new__(wsgi.Worker))
        assert gc.get_threshold() == (wsgi.YOUNG_COLLECTION_AFTER, *before[1:])
    finally:
        gc.set_threshold(*before)


# --- through `motcua serve` ----------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[_server.Server, dict[str, str]]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_server, "NICE", 0)
        srv = _server.Server()
        kiosk = srv.device("kiosk-wsgi", "kiosk")
        board = srv.device("board-wsgi", "display")
        srv.start()
        try:
            yield srv, {"kiosk": kiosk, "board": board}
        finally:
            srv.stop()


def _exchange(port: int, *requests: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """Send each request on one keep-alive connection; the answers, in order."""
    out = []
    with socket.create_connection((_server.HOST, port), timeout=10) as s:
        rfile = s.makefile("rb")
        for raw in requests:
            s.sendall(raw)
            status = int(rfile.readline().split()[1])
            headers = {}
            while (line := rfile.readline()) not in (b"\r\n", b""):
                k, _, v = line.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
            body = rfile.read(int(headers.get("content-length", "0")))
            out.append((status, headers, body))
    return out


def _issue_request(kiosk: str, service: str, *, chunked: bool = False) -> bytes:
    """A kiosk's `POST /api/v1/tickets`, its body sized or chunked."""
    body = json.dumps({"service": service}).encode()
    head = (
        f"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {kiosk}\r\n"
        "Content-Type: application/json\r\n"
    ).encode()
    if chunked:
        return head + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    return head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def test_a_kiosk_issues_on_a_kept_alive_connection(served) -> None:
    srv, tokens = served
    issue = _issue_request(tokens["kiosk"], "DD")
    answers = _exchange(srv.port, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n", issue, issue)
    assert [a[0] for a in answers] == [200, 201, 201]
    first, second = (json.loads(a[2]) for a in answers[1:])
    assert second["number"] == first["number"] + 1
    assert answers[1][1]["x-frame-options"] == "DENY"  # the app's headers still go out


def test_a_chunked_body_is_read(served) -> None:
    srv, tokens = served
    [(status, _, answer)] = _exchange(srv.port, _issue_request(tokens["kiosk"], "HT", chunked=True))
    assert status == 201 and json.loads(answer)["service"] == "HT"


@pytest.mark.parametrize(
    "head",
    [b"Host: x\r\n bad fold\r\n", b"Host : x\r\n", b"X-A: a\x00b\r\nHost: x\r\n"],
    ids=["folded", "space", "nul"],
)
def test_a_malformed_header_gets_a_400_and_the_server_goes_on(served, head: bytes) -> None:
    srv, _ = served
    with socket.create_connection((_server.HOST, srv.port), timeout=10) as s:
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\n" + head + b"\r\n")
        answer = s.makefile("rb").read()  # the server closes the connection
    assert answer.startswith(b"HTTP/1.1 400")
    assert srv.request("GET", "/api/v1/health")[0] == 200


def test_a_board_connects_over_websocket(served) -> None:
    srv, _ = served
    with socketio.SimpleClient() as board:
        board.connect(
            f"http://{_server.HOST}:{srv.port}",
            namespace="/display",
            transports=["websocket"],
            auth={"token": served[1]["board"]},
        )
        event, *_ = board.receive(timeout=10)
        assert event == "snapshot"
