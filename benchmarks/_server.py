"""The real production server as a subprocess, for the HTTP and Socket.IO benchmarks.

`motcua serve` (gunicorn, one GeventWebSocketWorker worker) on a free loopback port,
with a temporary data dir and a temporary config derived from config.yaml whose
opening hours allow issuing at any moment of the machine's clock (all seven days,
00:00–23:59, today and tomorrow forced to be working days even if they are holidays)
and wide number ranges (width 5, up to 99999), so a benchmark never hits "closed" or
"range exhausted".  Tokens are made with the real CLI (`motcua device add`,
`motcua user add` + `motcua user token`), exactly as an installer would."""

from __future__ import annotations

import atexit
import contextlib
import functools
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
MOTCUA = str(Path(sys.executable).parent / "motcua")
HOST = "127.0.0.1"
#: Connections 127.0.0.1 may hold in a benchmark (it stands for a whole hall).
LOOPBACK_SHARE = 10_000
#: What the rows say about the config the benchmark server runs with.
CONFIG_NOTE = "temp config: open 7 days 00:00–23:59, width 5 (…99999)"


#: Niceness of the benchmark, its server and its load generators: the machine is shared
#: with whatever else runs (editors, other test suites), and those must not be what a
#: latency percentile measures.  With autogroup scheduling (Linux's default) a process's
#: nice only counts inside its session, so the session's autogroup is reniced too (and
#: restored at exit).  Needs root; without it nothing changes.  BENCH_NICE=0 turns it off.
NICE = int(os.environ.get("BENCH_NICE", "-10"))


def _renice(pid: int) -> bool:
    try:
        os.setpriority(os.PRIO_PROCESS, pid, NICE)
    except OSError:
        return False
    path = Path(f"/proc/{pid}/autogroup")
    try:
        old = int(path.read_text().split("nice")[1])
        path.write_text(str(NICE))
    except (OSError, ValueError, IndexError):
        return True
    if pid == os.getpid():
        atexit.register(_restore_autogroup, path, old)
    return True


def _restore_autogroup(path: Path, nice: int) -> None:
    with contextlib.suppress(OSError):
        path.write_text(str(nice))


def boost() -> bool:
    """Run this process (and every child it starts from now on) at `NICE`."""
    return NICE == 0 or _renice(os.getpid())


#: Whether a benchmark that runs hundreds of clients beside the server may keep them on
#: separate CPUs (see `cpu_split`).  BENCH_PIN=0 turns it off.
PIN = os.environ.get("BENCH_PIN", "1") != "0"


def cpu_split() -> tuple[set[int] | None, set[int] | None]:
    """(the server's CPUs, the clients' CPUs); (None, None) when pinning is off or there
    is one CPU.

    Boards are other machines in a hall; here they share the server's two cores.  Left
    to the scheduler, a board process woken by the first frames of a call runs on the
    core the server is still sending the other frames from, and each waits for the
    other: the first board's latency then measures the scheduler, not the server.  With
    the server on one CPU and every client on the others, the server's CPU is its own."""
    cpus = sorted(os.sched_getaffinity(0))
    if not PIN or len(cpus) < 2:
        return None, None
    return {cpus[0]}, set(cpus[1:])


def pin_note(server: set[int] | None, clients: set[int] | None) -> str:
    if server is None or clients is None:
        return "not pinned"
    return f"server on CPU {_cpus(server)}, clients on CPU {_cpus(clients)}"


def _cpus(cpus: set[int]) -> str:
    return ",".join(map(str, sorted(cpus)))


@contextlib.contextmanager
def confined(cpus: set[int] | None) -> Iterator[None]:
    """This thread, and the threads and processes it starts meanwhile, on `cpus` only."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _busy_ticks() -> int:
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return user + nice + system + irq + softirq + steal


class OtherLoad:
    """CPU the rest of the machine used meanwhile (in cores), so a noisy run shows."""

    def __init__(self) -> None:
        self.hz = os.sysconf("SC_CLK_TCK")
        self.start()

    @staticmethod
    def _ours() -> float:
        """CPU seconds of this process, its finished children and its live descendants."""
        t = os.times()
        total = t.user + t.system + t.children_user + t.children_system
        for child in psutil.Process().children(recursive=True):
            try:
                c = child.cpu_times()
                total += c.user + c.system
            except psutil.NoSuchProcess:
                continue
        return total

    def start(self) -> None:
        self.t0, self.busy0, self.ours0 = time.perf_counter(), _busy_ticks(), self._ours()

    def cores(self) -> float:
        wall = max(1e-6, time.perf_counter() - self.t0)
        busy = (_busy_ticks() - self.busy0) / self.hz
        return max(0.0, busy - (self._ours() - self.ours0)) / wall

    def note(self) -> str:
        return f"other load {self.cores():.1f} cores"


def sample_dossier(i: int) -> tuple[str, dict[str, Any]]:
    """The code and body of the i-th dossier a department's software pushes (a criminal
    record certificate, received, with an SMS-capable phone)."""
    body = {
        "procedure": "STP-LLTP",
        "procedure_name": "Cấp Phiếu lý lịch tư pháp",
        "limit_days": 10,
        "applicant": "Nguyễn Văn An",
        "phone": f"09{i:08d}",
        "status": "received",
    }
    return f"000.00.06.H56-261125-{i:04d}", body


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    *,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """One JSON request to HOST:port; (status, decoded body or None)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        conn.request(method, path, json.dumps(body) if body is not None else None, sent)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, (json.loads(data) if data else None)
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def bench_config(
    path: Path,
    *,
    counters: int | None = None,
    every_service: bool = False,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the benchmark config to `path`: config.yaml, always open, wide ranges.

    With `counters`, the seed gets that many counters, each serving one service first
    and the next one second (round-robin), so calls spread over every queue — or, with
    `every_service`, every service (the first one first), so "call next" always finds
    someone while tickets wait.  `extra` sections (e.g. `sms`) replace config.yaml's."""
    raw: dict[str, Any] = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    tz = ZoneInfo(raw.get("center", {}).get("timezone", "Asia/Ho_Chi_Minh"))
    today = datetime.now(tz).date()
    raw["opening_hours"] = {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "sessions": [["00:00", "23:59"]],
        "issue_before_min": 0,
        "stop_before_min": 0,
    }
    raw["holidays"] = []
    # one kiosk token stands for many kiosks here: an allowance no load reaches, still
    # counted on every issue (the statement stays on the path being measured)
    raw.setdefault("queue", {})["kiosk_limit"] = {"burst": 1_000_000, "every_s": 0.001}
    # likewise one department key stands for a department's whole load (benchmarks.freeze
    # passes the shipped limit for its key flood)
    raw["api_keys"] = {"requests": 1_000_000, "per_s": 1}
    raw["extra_workdays"] = [today.isoformat(), (today + timedelta(days=1)).isoformat()]
    services = raw["seed"]["services"]
    for s in services:
        s.update(width=5, first=1, last=99999)
        s.pop("daily_cap", None)
        s.pop("hours", None)
    if counters is not None:
        codes = [s["code"] for s in services]
        raw["seed"]["counters"] = [
            {
                "number": n,
                "name": f"Quầy {n}",
                "zone": "A" if n % 2 else "B",
                "services": codes
                if every_service
                else [codes[(n - 1) % len(codes)], codes[n % len(codes)]],
            }
            for n in range(1, counters + 1)
        ]
    # Every simulated board, kiosk and phone connects from 127.0.0.1: the per-address
    # caps would count a whole hall as one caller (benchmarks.freeze passes real ones).
    raw["connections"] = {
        "per_address": LOOPBACK_SHARE,
        "anonymous_sockets_per_address": LOOPBACK_SHARE,
        "new_sockets_per_s": LOOPBACK_SHARE,
        "max_connections": LOOPBACK_SHARE,
    }
    raw.update(extra or {})
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class Server:
    """A temp data dir + config, the CLI to make tokens, and `motcua serve` to run."""

    def __init__(
        self,
        *,
        counters: int | None = None,
        every_service: bool = False,
        env: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
        cpus: set[int] | None = None,
        motcua: str = MOTCUA,
    ) -> None:
        """`cpus`: the CPUs `motcua serve` (master, worker and their threads) may run on;
        `motcua`: the command to run (another install's, e.g. tests/test_install.py's)."""
        self.cpus = cpus
        self.motcua = motcua
        self.tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-"))
        self.data = self.tmp / "data"
        self.config = bench_config(
            self.tmp / "config.yaml", counters=counters, every_service=every_service, extra=extra
        )
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
        self.env.update(env or {})
        self.log_path = self.tmp / "server.log"

    # --- the CLI ------------------------------------------------------------------------
    def cli(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run(
            [self.motcua, *args, "--config", str(self.config), "--data-dir", str(self.data)],
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            env=self.env,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"motcua {' '.join(args)} failed: {out.stderr.decode()[-2000:]}")
        return out.stdout.decode().strip()

    def device(self, name: str, kind: str, zone: str | None = None) -> str:
        extra = ["--zone", zone] if zone else []
        return self.cli("device", "add", name, "--kind", kind, *extra)

    def user_token(self, username: str, role: str = "supervisor") -> str:
        self.cli("user", "add", username, "--role", role, stdin="bench-password-123\n")
        return self.cli("user", "token", username)

    # --- the server process -------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> float:
        """Start `motcua serve`; return seconds from process start to /health answering."""
        log = self.log_path.open("ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [
                self.motcua,
                "serve",
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--config",
                str(self.config),
                "--data-dir",
                str(self.data),
            ],
            stdout=log,
            stderr=log,
            env=self.env,
            start_new_session=True,
            preexec_fn=None
            if self.cpus is None
            else functools.partial(os.sched_setaffinity, 0, self.cpus),
        )
        log.close()
        if NICE:
            _renice(self.proc.pid)  # its own session, so its own autogroup
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                status, _ = self.request("GET", "/api/v1/health", timeout=1.0)
                if status == 200:
                    elapsed = time.perf_counter() - t0
                    if NICE:
                        for pid in self.worker_pids():
                            _renice(pid)
                    return elapsed
            except OSError:
                pass
            time.sleep(0.01)
        raise RuntimeError(f"server did not answer /health in {timeout} s")

    def request(
        self, method: str, path: str, body: Any = None, token: str | None = None, timeout=10.0
    ) -> tuple[int, Any]:
        return request(self.port, method, path, body, token, timeout=timeout)

    def worker_pids(self) -> list[int]:
        """The gunicorn master and its worker (the worker holds the app and the sockets)."""
        if self.proc is None:
            return []
        parent = psutil.Process(self.proc.pid)
        return [parent.pid, *(c.pid for c in parent.children(recursive=True))]

    def worker_cpu_s(self) -> float:
        """CPU seconds (user + system, every thread) the worker has used so far — per
        request or per call, a figure that barely moves with the machine's other load,
        unlike rates and latencies.  The master only watches the worker."""
        total = 0.0
        for pid in self.worker_pids()[1:]:
            try:
                t = psutil.Process(pid).cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system
        return total

    def rss_mb(self) -> tuple[float, float]:
        """(worker RSS, master + worker RSS) in MB."""
        sizes = []
        for pid in self.worker_pids():
            try:
                sizes.append(psutil.Process(pid).memory_info().rss / 2**20)
            except psutil.NoSuchProcess:
                continue
        return (max(sizes) if sizes else 0.0), sum(sizes)

    def kill(self) -> list[int]:
        """`kill -9` of the gunicorn master and its worker at once (a power cut, an OOM
        kill): no shutdown handler runs.  Returns the pids killed."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        pids = self.worker_pids()
        # One signal to the whole process group: the master cannot fork a new worker
        # between two kills, and nothing gets to run a handler.
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        for pid in pids[1:]:  # orphans now: gone, or a zombie whose sockets are closed
            while time.monotonic() < deadline:
                try:
                    if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                        break
                except psutil.NoSuchProcess:
                    break
                time.sleep(0.01)
        self.proc = None
        return pids

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
