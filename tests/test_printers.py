"""Printer backends: the file printer's files, paper-out, reprint refusal, specs, TCP."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from PIL import Image

from kiosk import printers
from kiosk.printers import (
    EscposPrinter,
    FilePrinter,
    PrinterError,
    open_printer,
)
from kiosk.ticket import TicketJob, render_ticket

PAPER_QUERY = b"\x10\x04\x04"  # DLE EOT 4


def ticket_bytes(label: str = "1012") -> bytes:
    job = TicketJob(
        job_id="j",
        ticket_id=1,
        center="Trung tâm Phục vụ hành chính công",
        service_name="Đất đai",
        label=label,
        priority=None,
        issued_at="2024-03-05T08:15:00+07:00",
        people_ahead=3,
        estimated_wait_min=9,
        tracking_url="https://motcua.example.vn/t/abc",
    )
    return render_ticket(job, 58)


def test_file_printer_writes_bin_and_png_once(tmp_path: Path) -> None:
    printer = open_printer(f"file:{tmp_path / 'out'}", paper_mm=58)
    assert isinstance(printer, FilePrinter)
    assert printer.status() == "online"
    data = ticket_bytes()

    printer.print_job("job-1", data)
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["job-1.bin", "job-1.png"]
    assert (out / "job-1.bin").read_bytes() == data
    with Image.open(out / "job-1.png") as preview:
        assert preview.format == "PNG" and preview.width == 58 * 8
    png_before = (out / "job-1.png").read_bytes()

    printer.print_job("job-1", ticket_bytes("9999"))  # a retry: must not print again
    assert (out / "job-1.bin").read_bytes() == data
    assert (out / "job-1.png").read_bytes() == png_before
    assert sorted(p.name for p in out.iterdir()) == ["job-1.bin", "job-1.png"]

    printer.print_job("job-2", ticket_bytes("1013"))
    assert sorted(p.name for p in out.iterdir()) == [
        "job-1.bin",
        "job-1.png",
        "job-2.bin",
        "job-2.png",
    ]
    printer.close()


def test_file_printer_out_of_paper_refuses_and_writes_nothing(tmp_path: Path) -> None:
    printer = open_printer(f"file:{tmp_path}")
    (tmp_path / "PAPER_OUT").touch()
    assert printer.status() == "paper_out"

    with pytest.raises(PrinterError, match="job-1.*paper_out"):
        printer.print_job("job-1", ticket_bytes())
    assert [p.name for p in tmp_path.iterdir()] == ["PAPER_OUT"]

    (tmp_path / "PAPER_OUT").unlink()
    (tmp_path / "PAPER_LOW").touch()
    assert printer.status() == "paper_low"
    printer.print_job("job-1", ticket_bytes())  # low paper still prints
    assert (tmp_path / "job-1.bin").exists()


def test_file_printer_offline_when_folder_is_gone(tmp_path: Path) -> None:
    printer = open_printer(f"file:{tmp_path / 'spool'}")
    (tmp_path / "spool").rmdir()
    assert printer.status() == "offline"
    with pytest.raises(PrinterError, match="offline"):
        printer.print_job("job-1", ticket_bytes())


def test_file_printer_refuses_unsafe_job_ids_and_garbage(tmp_path: Path) -> None:
    printer = open_printer(f"file:{tmp_path}")
    for job_id in ("../escape", "a/b", "", ".hidden"):
        with pytest.raises(ValueError, match="bad job id"):
            printer.print_job(job_id, ticket_bytes())
    with pytest.raises(PrinterError, match="not a printable stream"):
        printer.print_job("job-9", b"\x1b@\x1b\x7f")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("", "missing 'kind:'"),
        ("printer", "missing 'kind:'"),
        ("lpt:1", "unknown kind 'lpt'"),
        ("file:", "missing 'kind:'"),
        ("usb:04b8", "vendor and a product"),
        ("usb:zz:0e15", "hexadecimal"),
        ("usb:0:0e15", "between 0001 and ffff"),
        ("tcp:", "missing 'kind:'"),
        ("tcp::9100", "host name"),
        ("tcp:printer.local:99999", "1 to 65535"),
        ("tcp:printer.local:http", "1 to 65535"),
        ("serial::9600", "needs a device"),
    ],
)
def test_bad_specs_name_the_spec_and_the_accepted_forms(spec: str, why: str) -> None:
    with pytest.raises(ValueError) as info:
        open_printer(spec)
    message = str(info.value)
    assert repr(spec) in message
    assert why in message
    assert "file:DIR" in message and "usb:VID:PID" in message
    assert "tcp:HOST[:PORT]" in message and "serial:DEVICE[:BAUD]" in message


def test_good_specs_pick_the_right_device() -> None:
    names = {
        "usb:04b8:0E15": "usb:04b8:0e15",
        "usb:0x0416:0x5011": "usb:0416:5011",
        "tcp:192.168.1.50": "tcp:192.168.1.50:9100",
        "tcp:printer.local:9101": "tcp:printer.local:9101",
        "serial:/dev/ttyUSB0": "serial:/dev/ttyUSB0:9600",
        "serial:/dev/ttyS1:115200": "serial:/dev/ttyS1:115200",
    }
    for spec, name in names.items():
        printer = open_printer(spec)
        assert isinstance(printer, EscposPrinter)
        assert printer.name == name


class FakeNetworkPrinter:
    """A TCP 'printer' that records bytes and answers paper-status queries."""

    def __init__(self, paper_byte: int | None) -> None:
        self.paper_byte = paper_byte
        self.received = bytearray()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(5)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        with self.server, self.server.accept()[0] as conn:
            conn.settimeout(5)
            while chunk := conn.recv(65536):
                self.received += chunk
                if chunk.endswith(PAPER_QUERY) and self.paper_byte is not None:
                    conn.sendall(bytes([self.paper_byte]))

    def finish(self) -> bytes:
        self.thread.join(5)
        return bytes(self.received)


def test_tcp_printer_sends_the_job_once_and_reads_paper_status() -> None:
    fake = FakeNetworkPrinter(paper_byte=0x12)  # paper adequate
    printer = open_printer(f"tcp:127.0.0.1:{fake.port}")
    data = ticket_bytes()

    assert printer.status() == "online"
    printer.print_job("job-1", data)
    printer.print_job("job-1", data)  # a retry is not printed again
    printer.close()

    received = fake.finish()
    assert received.count(data) == 1
    assert received.startswith(PAPER_QUERY)
    assert received.endswith(data)


def test_tcp_printer_paper_low_and_out() -> None:
    low = FakeNetworkPrinter(paper_byte=0x1E)
    printer = open_printer(f"tcp:127.0.0.1:{low.port}")
    assert printer.status() == "paper_low"
    printer.close()
    low.finish()

    out = FakeNetworkPrinter(paper_byte=0x72)
    printer = open_printer(f"tcp:127.0.0.1:{out.port}")
    assert printer.status() == "paper_out"
    with pytest.raises(PrinterError, match="out of paper"):
        printer.print_job("job-1", ticket_bytes())
    printer.close()
    assert ticket_bytes() not in out.finish()


def test_tcp_printer_that_never_answers_status_is_asked_only_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(printers, "CONNECT_TIMEOUT", 0.2)
    silent = FakeNetworkPrinter(paper_byte=None)
    printer = open_printer(f"tcp:127.0.0.1:{silent.port}")

    assert printer.status() == "online"  # reachable, paper unknown
    printer.print_job("job-1", ticket_bytes("1012"))
    printer.print_job("job-2", ticket_bytes("1013"))
    printer.close()

    received = silent.finish()
    # Asked once: no status query (and its timeout) before each ticket.  Counted, not
    # timed — a timed assertion measured the shared machine's load (0.36 s once in CI).
    assert received.count(PAPER_QUERY) == 1
    assert received.endswith(ticket_bytes("1012") + ticket_bytes("1013"))


def test_tcp_printer_that_is_off_is_offline() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again when the block ends: nobody listens
    printer = open_printer(f"tcp:127.0.0.1:{port}")
    assert printer.status() == "offline"
    with pytest.raises(PrinterError, match=f"tcp:127.0.0.1:{port}"):
        printer.print_job("job-1", ticket_bytes())
    assert f"tcp:127.0.0.1:{port}" in printer.detail


@pytest.mark.parametrize("spec", ["serial:/dev/motcua-no-such-port", "usb:04b8:0e15"])
def test_device_that_cannot_be_opened_is_offline(spec: str) -> None:
    printer = open_printer(spec)
    assert printer.status() == "offline"
    with pytest.raises(PrinterError, match="offline"):
        printer.print_job("job-1", ticket_bytes())
    assert printer.detail  # says why: missing library or missing device
    printer.close()
