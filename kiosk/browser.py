"""Opening the kiosk page full screen in chromium, next to the agent.

The browser is started with the pairing URL (the token travels in that URL once and the
page then lives on its session cookie), and started again if it crashes, because a
kiosk whose screen shows a desktop helps nobody.  The URL is never logged."""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
RESTART_DELAY_S = 5.0
FLAGS = (
    "--kiosk",
    "--noerrdialogs",
    "--disable-infobars",
    "--no-first-run",
    "--disable-translate",
    "--disable-features=TranslateUI",
    "--overscroll-history-navigation=0",
    "--disable-pinch",
    "--check-for-update-interval=31536000",
)


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def pairing_url(server_url: str, token: str) -> str:
    return f"{server_url.rstrip('/')}/kiosk/pair?token={quote(token, safe='')}"


class KioskBrowser:
    """Chromium in kiosk mode on the pairing URL, restarted when it exits."""

    def __init__(self, executable: str, server_url: str, token: str, profile_dir: Path) -> None:
        self.executable = executable
        self.server_url = server_url
        self._url = pairing_url(server_url, token)
        self.profile_dir = Path(profile_dir)
        self._stop = threading.Event()
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="kiosk-browser", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            log.info("opening the kiosk page of %s in %s", self.server_url, self.executable)
            try:
                self._proc = subprocess.Popen(
                    [
                        self.executable,
                        *FLAGS,
                        f"--user-data-dir={self.profile_dir}",
                        self._url,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            except OSError as exc:
                log.error("cannot start %s: %s", self.executable, exc)
                return
            code = self._proc.wait()
            if self._stop.is_set():
                break
            log.warning("the kiosk browser exited (code %s); restarting it", code)
            self._stop.wait(RESTART_DELAY_S)

    def stop(self) -> None:
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
