"""The job ids this kiosk agent has printed, on disk.

The server re-sends a job until the agent's acknowledgement arrives.  If the agent stops
between printing and acknowledging, the re-sent job must not print a second ticket: the
file backend knows by its files, a USB or network printer does not — this journal does.
One id per line, appended and synced before the acknowledgement leaves."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)

#: Ids kept (a center prints ~300 tickets a day; a job is re-sent for minutes only).
KEEP = 2000


class PrintedJournal:
    def __init__(self, path: Path, keep: int = KEEP) -> None:
        self.path = Path(path)
        self.keep = keep
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self._ids[line.strip()] = None
            self._trim()
        self._lines = len(self._ids)

    def __contains__(self, job_id: object) -> bool:
        with self._lock:
            return job_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._ids:
                return
            self._ids[job_id] = None
            self._trim()
            with self.path.open("a", encoding="utf-8") as f:
                f.write(job_id + "\n")
                f.flush()
                os.fsync(f.fileno())
            self._lines += 1
            if self._lines > 2 * self.keep:
                self._compact()

    def _trim(self) -> None:
        while len(self._ids) > self.keep:
            self._ids.popitem(last=False)

    def _compact(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(f"{i}\n" for i in self._ids), encoding="utf-8")
        os.replace(tmp, self.path)
        self._lines = len(self._ids)
        log.debug("compacted %s to %d ids", self.path, self._lines)
