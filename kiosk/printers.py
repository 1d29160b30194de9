"""Printer backends of the kiosk agent, chosen by a one-line spec in its configuration.

``file:DIR`` writes each job's bytes and a PNG preview to a folder, for tests, demos
and kiosks whose printer is not plugged in yet; ``usb:``, ``tcp:`` and ``serial:`` wrap
python-escpos.  Every backend prints a job id at most once: the agent re-sends a job it
is unsure about, and a citizen must never get two tickets for one number.  Status uses
the words the heartbeat sends (``protocol.EV_HEARTBEAT``).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError

from kiosk.escpos_decode import PRINTABLE_DOTS, EscposDecodeError, preview_png

log = logging.getLogger(__name__)

ONLINE, PAPER_LOW, PAPER_OUT, OFFLINE = "online", "paper_low", "paper_out", "offline"
STATUSES = (ONLINE, PAPER_LOW, PAPER_OUT, OFFLINE)
PAPER_OUT_FLAG = "PAPER_OUT"
PAPER_LOW_FLAG = "PAPER_LOW"
SPEC_FORMS = "file:DIR, usb:VID:PID (hex), tcp:HOST[:PORT] (default 9100), serial:DEVICE[:BAUD]"
DEFAULT_TCP_PORT = 9100
DEFAULT_BAUD = 9600
#: Seconds to wait for a network/serial printer before calling it offline.
CONNECT_TIMEOUT = 5.0
#: How many recent job ids a hardware backend remembers to refuse reprints.
REMEMBERED_JOBS = 1000
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

try:  # pyusb is optional (python-escpos[usb]); its read timeout is not an OSError subclass
    from usb.core import USBTimeoutError as _UsbTimeout
except ImportError:  # pragma: no cover - depends on the installed extras

    class _UsbTimeout(Exception):  # type: ignore[no-redef]
        """Placeholder when pyusb is absent (nothing raises it)."""


class PrinterError(Exception):
    """The printer cannot print this job now (offline, out of paper, unusable spec)."""


class Printer(Protocol):
    def print_job(self, job_id: str, data: bytes) -> None: ...

    def status(self) -> str: ...

    def close(self) -> None: ...


def _check_job_id(job_id: str) -> None:
    """Job ids become file names; refuse anything that could leave the folder."""
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise ValueError(
            f"bad job id {job_id!r}: use 1–128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


class FilePrinter:
    """Writes ``DIR/<job_id>.bin`` and ``DIR/<job_id>.png``; a ``PAPER_OUT`` file fakes no paper."""

    def __init__(self, directory: Path, paper_mm: int = 80) -> None:
        if paper_mm not in PRINTABLE_DOTS:
            raise ValueError(f"unsupported paper width {paper_mm!r} mm: use 58 mm or 80 mm")
        self.directory = Path(directory)
        self.paper_mm = paper_mm
        self.detail = ""
        self._lock = threading.Lock()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # reported as offline by status(), not a crash at start
            log.warning("cannot create printer folder %s: %s", self.directory, exc)

    def status(self) -> str:
        if not self.directory.is_dir():
            self.detail = f"folder {self.directory} does not exist"
            return OFFLINE
        if (self.directory / PAPER_OUT_FLAG).exists():
            self.detail = f"{PAPER_OUT_FLAG} present in {self.directory}"
            return PAPER_OUT
        self.detail = ""
        if (self.directory / PAPER_LOW_FLAG).exists():
            return PAPER_LOW
        return ONLINE

    def print_job(self, job_id: str, data: bytes) -> None:
        _check_job_id(job_id)
        with self._lock:
            state = self.status()
            if state in (PAPER_OUT, OFFLINE):
                raise PrinterError(f"cannot print job {job_id}: printer {state} ({self.detail})")
            target = self.directory / f"{job_id}.bin"
            if target.exists():
                log.info("job %s already printed to %s; not printing it again", job_id, target)
                return
            # The preview goes first and the .bin last: the .bin is the 'printed' mark.
            with tempfile.TemporaryDirectory(dir=self.directory, prefix=".tmp-") as tmp:
                preview = Path(tmp) / "preview.png"
                try:
                    preview_png(data, preview, self.paper_mm)
                except EscposDecodeError as exc:
                    raise PrinterError(f"job {job_id} is not a printable stream: {exc}") from exc
                os.replace(preview, self.directory / f"{job_id}.png")
                raw = Path(tmp) / "job.bin"
                raw.write_bytes(data)
                os.replace(raw, target)
            log.info("job %s printed to %s (%d bytes)", job_id, target, len(data))

    def close(self) -> None:
        """Nothing to release; present so every backend closes the same way."""


class EscposPrinter:
    """A python-escpos device (USB, network, serial), connected on first use.

    A failed connection or write closes the device, so the next call reconnects: a
    printer that was switched off comes back without restarting the agent.
    """

    def __init__(self, name: str, factory: Callable[[], Escpos]) -> None:
        self.name = name
        self.detail = ""
        self._factory = factory
        self._device: Escpos | None = None
        self._answers_status = True
        self._printed: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def _connect(self) -> Escpos:
        if self._device is not None:
            return self._device
        try:
            device = self._factory()
            device.open()
        except (EscposError, OSError, RuntimeError) as exc:
            # RuntimeError: python-escpos's way of saying pyusb/pyserial is not installed
            self.detail = f"{self.name}: {exc}".strip()
            raise PrinterError(f"printer {self.name} is offline: {exc}") from exc
        self._device = device
        return device

    def _drop(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            try:
                device.close()
            except (EscposError, OSError, RuntimeError) as exc:
                log.debug("closing %s failed: %s", self.name, exc)

    def _query(self) -> str:
        device = self._connect()
        if not self._answers_status:
            return ONLINE
        try:
            paper = device.paper_status()
        except (NotImplementedError, TimeoutError, _UsbTimeout):
            # The link works but the printer does not answer status queries; asking again
            # before every ticket would add a timeout to each print.
            log.warning("%s does not report paper status; not asking again", self.name)
            self._answers_status = False
            paper = 2
        except (EscposError, OSError) as exc:
            self._drop()
            self.detail = f"{self.name}: {exc}"
            raise PrinterError(f"printer {self.name} is offline: {exc}") from exc
        self.detail = ""
        return {2: ONLINE, 1: PAPER_LOW}.get(paper, PAPER_OUT)

    def status(self) -> str:
        with self._lock:
            try:
                return self._query()
            except PrinterError:
                return OFFLINE

    def print_job(self, job_id: str, data: bytes) -> None:
        _check_job_id(job_id)
        with self._lock:
            if job_id in self._printed:
                log.info("job %s already sent to %s; not printing it again", job_id, self.name)
                return
            if self._query() == PAPER_OUT:
                self.detail = f"{self.name}: out of paper"
                raise PrinterError(f"cannot print job {job_id}: printer {self.name} out of paper")
            device = self._connect()
            try:
                device._raw(data)
            except (EscposError, OSError) as exc:
                self._drop()
                self.detail = f"{self.name}: {exc}"
                raise PrinterError(f"printing job {job_id} on {self.name} failed: {exc}") from exc
            self._printed[job_id] = None
            while len(self._printed) > REMEMBERED_JOBS:
                self._printed.popitem(last=False)
            log.info("job %s sent to %s (%d bytes)", job_id, self.name, len(data))

    def close(self) -> None:
        with self._lock:
            self._drop()


# --- specs --------------------------------------------------------------------------------


def _bad(spec: str, why: str) -> ValueError:
    return ValueError(f"bad printer spec {spec!r}: {why}; accepted forms: {SPEC_FORMS}")


def _usb(spec: str, rest: str) -> EscposPrinter:
    parts = rest.split(":")
    if len(parts) != 2:
        raise _bad(spec, "USB needs a vendor and a product id")
    try:
        vid, pid = (int(p, 16) for p in parts)
    except ValueError:
        raise _bad(spec, "USB ids must be hexadecimal, like usb:04b8:0e15") from None
    if not (0 < vid <= 0xFFFF and 0 < pid <= 0xFFFF):
        raise _bad(spec, "USB ids must be between 0001 and ffff")

    def factory() -> Escpos:
        from escpos.printer import Usb

        if not Usb.is_usable():
            raise RuntimeError("USB printing needs the pyusb package (python-escpos[usb])")
        return Usb(vid, pid, timeout=int(CONNECT_TIMEOUT * 1000))

    return EscposPrinter(f"usb:{vid:04x}:{pid:04x}", factory)


def _tcp(spec: str, rest: str) -> EscposPrinter:
    host, sep, port_text = rest.rpartition(":")
    if not sep:
        host, port_text = rest, str(DEFAULT_TCP_PORT)
    if not host or not re.fullmatch(r"[A-Za-z0-9._-]+", host):
        raise _bad(spec, "TCP needs a host name or IPv4 address")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise _bad(spec, f"port {port_text!r} is not a number from 1 to 65535")
    port = int(port_text)

    def factory() -> Escpos:
        from escpos.printer import Network

        return Network(host, port, timeout=CONNECT_TIMEOUT)

    return EscposPrinter(f"tcp:{host}:{port}", factory)


def _serial(spec: str, rest: str) -> EscposPrinter:
    device, sep, baud_text = rest.rpartition(":")
    if not sep or not baud_text.isdigit():
        device, baud_text = rest, str(DEFAULT_BAUD)
    if not device:
        raise _bad(spec, "serial needs a device, like serial:/dev/ttyUSB0")
    baud = int(baud_text)
    if baud <= 0:
        raise _bad(spec, f"baud rate {baud_text!r} must be positive")

    def factory() -> Escpos:
        from escpos.printer import Serial

        if not Serial.is_usable():
            raise RuntimeError("serial printing needs the pyserial package (python-escpos[serial])")
        return Serial(device, baudrate=baud, timeout=CONNECT_TIMEOUT)

    return EscposPrinter(f"serial:{device}:{baud}", factory)


def open_printer(spec: str, paper_mm: int = 80) -> FilePrinter | EscposPrinter:
    """The backend for ``spec``; devices connect on first use, so this never blocks.

    ``paper_mm`` only matters to the file backend, which draws its previews at that width.
    """
    if not isinstance(spec, str):
        raise ValueError(f"bad printer spec {spec!r}: expected text; accepted forms: {SPEC_FORMS}")
    kind, sep, rest = spec.strip().partition(":")
    if not sep or not rest:
        raise _bad(spec, "missing 'kind:' and its target")
    kind = kind.lower()
    if kind == "file":
        return FilePrinter(Path(rest), paper_mm)
    if kind == "usb":
        return _usb(spec, rest)
    if kind == "tcp":
        return _tcp(spec, rest)
    if kind == "serial":
        return _serial(spec, rest)
    raise _bad(spec, f"unknown kind {kind!r}")
