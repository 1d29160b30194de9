"""A province on one machine: several `motcua serve` processes on one PostgreSQL schema
and one Redis channel, behind HAProxy run from the shipped `deploy/haproxy.cfg`.

The balancer's config is that file with only what loopback needs changed: the `bind`
address becomes a free loopback port, the `server` lines become one per process (the
first line's options kept), and `user`/`group` go (the test runs as whoever runs it).
HAProxy runs in the foreground (`-db`), its log in the cluster's temp folder."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from . import _server
from ._server import HOST, Server, free_port

SHIPPED = _server.ROOT / "deploy" / "haproxy.cfg"
_SERVER_LINE = re.compile(r"^(\s*server\s+)(\S+)(\s+)(\S+)(.*)$")


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/sbin/haproxy") if os.access(p, os.X_OK)), None
    )


def balancer_config(port: int, backends: list[int], shipped: str | None = None) -> str:
    """`deploy/haproxy.cfg` listening on `HOST:port`, in front of `backends` (ports)."""
    text = shipped if shipped is not None else SHIPPED.read_text(encoding="utf-8")
    out: list[str] = []
    template: re.Match[str] | None = None
    for line in text.splitlines():
        words = line.split()
        if words[:1] in (["user"], ["group"]):
            continue
        if words[:1] == ["bind"]:
            out.append(re.sub(r"bind\s+\S+", f"bind {HOST}:{port}", line, count=1))
            continue
        m = _SERVER_LINE.match(line)
        if m is None:
            out.append(line)
            continue
        if template is None:
            template = m
            name = m.group(2)
            for i, backend in enumerate(backends, 1):
                rest = m.group(5).replace(f" {name}", f" app{i}")
                out.append(f"{m.group(1)}app{i}{m.group(3)}{HOST}:{backend}{rest}")
    if template is None:
        raise ValueError("the balancer's config has no `server` line")
    return "\n".join(out) + "\n"


class Balancer:
    """HAProxy on a free loopback port (start, stop), its log in `tmp`."""

    def __init__(self, tmp: Path, backends: list[int]) -> None:
        binary = haproxy_binary()
        if binary is None:
            raise RuntimeError("haproxy is not installed (scripts/ensure-haproxy.sh)")
        self.binary = binary
        self.port = free_port()
        self.path = tmp / "haproxy.cfg"
        self.path.write_text(balancer_config(self.port, backends), encoding="utf-8")
        self.log_path = tmp / "haproxy.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "-db", "-f", str(self.path)],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited: {self.log_path.read_text()[-2000:]}")
            try:
                if _server.request(self.port, "GET", "/api/v1/health", timeout=1.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"haproxy did not answer /api/v1/health in {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


class Cluster:
    """`n` `motcua serve` on one config, data folder, database and Redis channel, and
    the balancer in front.  `database_url` names the (fresh) PostgreSQL schema to use."""

    def __init__(
        self,
        n: int,
        *,
        database_url: str,
        redis_url: str,
        counters: int = 4,
        extra: dict[str, Any] | None = None,
    ) -> None:
        env = {"MOTCUA_DATABASE_URL": database_url}
        sections = {
            "realtime": {"message_queue": redis_url, "channel": f"lb-{secrets.token_hex(6)}"},
            "security": {"trusted_proxies": 1},
            **(extra or {}),
        }
        first = Server(counters=counters, every_service=True, env=env, extra=sections)
        self.servers = [first]
        for _ in range(n - 1):
            srv = Server(counters=counters, every_service=True, env=env)
            srv.config, srv.data = first.config, first.data  # one center, one folder
            self.servers.append(srv)
        first.cli("migrate")
        self.balancer = Balancer(first.tmp, [s.port for s in self.servers])

    @property
    def first(self) -> Server:
        return self.servers[0]

    @property
    def port(self) -> int:
        """Where clients connect: the balancer."""
        return self.balancer.port

    def start(self) -> None:
        for srv in self.servers:
            srv.start()
        self.balancer.start()

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None, timeout=10.0
    ) -> tuple[int, Any]:
        """A request through the balancer."""
        return _server.request(self.port, method, path, body, token, timeout=timeout)

    def cleanup(self) -> None:
        self.balancer.stop()
        for srv in self.servers[1:]:
            srv.stop()
            shutil.rmtree(srv.tmp, ignore_errors=True)
        self.first.cleanup()
