"""The gunicorn worker `motcua serve` runs: one gevent worker with WebSocket support.

gevent-websocket's handler writes an access-log line for every HTTP request through the
root logger, which `motcua` sets to INFO: formatting and writing that line cost about a
tenth of a small request's time and flooded the service log.  This worker keeps the
handler and drops that line (gunicorn's own access log is off as well; errors are still
logged by the app).  gunicorn imports this module by name, so nothing here runs in
tests or in the CLI."""

from __future__ import annotations

from geventwebsocket.gunicorn.workers import GeventWebSocketWorker
from geventwebsocket.handler import WebSocketHandler


class QuietWebSocketHandler(WebSocketHandler):
    def log_request(self) -> None:
        return None


class Worker(GeventWebSocketWorker):
    wsgi_handler = QuietWebSocketHandler
