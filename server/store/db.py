"""The one owner of SQLite connections and transactions.

Writes run as ``with db.write() as conn:`` — one ``BEGIN IMMEDIATE`` transaction, so
the read-modify-write of a number allocation or a call selection can never interleave
with another writer (in this process or another one).  Nothing inside a write may
yield to the network: emits happen after commit, in ``server.realtime``.

Writes commit in groups: writers that queued up while one was committing run next, one
at a time, inside one shared transaction — each in its own savepoint, so a body that
raises undoes only its own writes — and the last of them commits for all.  Every
``with db.write()`` block still exits only once its writes are durable
(synchronous=FULL), but twenty kiosks issuing at once cost one fsync, not twenty.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from ..datadir import DIR_MODE, create_private, private

log = logging.getLogger(__name__)

_POOL_SIZE = 16
#: Most writes one commit may carry: it bounds the wait of a group's first writer.  With
#: 20 kiosks issuing at once, 16 rather than 32 gave +7% tickets/s and a p99 of 18 instead
#: of 21 ms (benchmarks http_issue): the first answers leave while the rest form the next
#: group.  A slow disk still pays one fsync per 16 writes, not per write.
_GROUP_MAX = 16
_SAVEPOINT = "group_member"
#: How long a write waits for another process's (or connection's) write lock before it
#: gives up with ``Busy`` (a 503): an import commits in batches of a few ms, so a wait
#: this long means something is wrong, and a kiosk should hear so rather than hang.
LOCK_WAIT_S = 5.0
#: A reader waits this long for a lock (WAL readers almost never do) before "locked".
_READ_BUSY_MS = 2000


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "database is busy"."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc)
    return "locked" in text or "busy" in text


class DatabaseClosed(sqlite3.ProgrammingError):
    """The application shut its database down (a background task outlived it)."""


class CommitFailed(sqlite3.OperationalError):
    """The group commit carrying this write failed: nothing of it was saved."""


class _Group:
    """One open transaction shared by consecutive writers, and how its commit went."""

    def __init__(self) -> None:
        self.members = 0
        self.done = threading.Event()
        self.error: BaseException | None = None


class Database:
    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        """``synchronous="NORMAL"`` is for a background job whose progress is journaled in
        the same transactions (dossier imports): its commits skip the fsync (a power cut
        may undo its last batches, and the job redoes them), so the write lock it holds is
        released after its few milliseconds of work, not after a disk flush."""
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous: FULL or NORMAL, not {synchronous!r}")
        self.synchronous = synchronous
        self.path = Path(path)
        self.path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        # Created 0600 before SQLite opens it: its -wal and -shm files take its mode.
        create_private(self.path)
        self._pool: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._write_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queued = 0  # writers waiting for the write lock
        self._group: _Group | None = None
        self._writer: sqlite3.Connection | None = None
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        #: Runs a commit somewhere that does not stop the event loop.  The gevent server
        #: sets it to its thread pool: a commit waits for fsync (synchronous=FULL), and on
        #: the loop's own thread that wait would stall every other request meanwhile.
        self.offload: Callable[[Callable[[], None]], object] | None = None
        #: Longest wait for another process's write lock (then ``Busy``).  The wait is a
        #: loop of short sleeps in Python (``time.sleep``: cooperative under gevent), not
        #: SQLite's busy handler, which would block the whole event loop while it waits.
        self.lock_wait = LOCK_WAIT_S

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        self._close_side_files()
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={_READ_BUSY_MS}")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _close_side_files(self) -> None:
        """The WAL and shared-memory files hold the same personal data as the database:
        0600 even if the database file was opened with a wider mode once."""
        for suffix in ("-wal", "-shm"):
            side = Path(f"{self.path}{suffix}")
            with contextlib.suppress(FileNotFoundError):
                if side.stat().st_mode & 0o077:
                    private(side)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise DatabaseClosed(f"{self.path} is closed")
        try:
            conn = self._pool.get_nowait()
        except queue.Empty:
            conn = self._open()
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.rollback()
            if self._closed:
                self._forget(conn)
            elif self._pool.qsize() < _POOL_SIZE:
                self._pool.put(conn)
            else:
                self._forget(conn)

    def _forget(self, conn: sqlite3.Connection) -> None:
        with self._all_lock:
            if conn in self._all:
                self._all.remove(conn)
        conn.close()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several SELECTs (a deferred read transaction)."""
        with self.connection() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.rollback()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: bodies run one at a time, each sees every write before it,
        and the block exits once its writes are committed (see the module docstring).
        A body must not commit or roll back by itself."""
        with self._queue_lock:
            self._queued += 1
        try:
            self._write_lock.acquire()
        finally:
            with self._queue_lock:
                self._queued -= 1
        group = self._group
        joined = group is not None
        try:
            if self._closed:
                raise DatabaseClosed(f"{self.path} is closed")
            if self._writer is None:
                self._writer = self._open()
                self._writer.execute("PRAGMA busy_timeout=0")  # waits: see _begin
            conn = self._writer
            if group is None:
                self._begin(conn)
                group = self._group = _Group()
            else:
                conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        except BaseException:
            self._write_lock.release()
            raise
        try:
            yield conn
        except BaseException as exc:
            if not joined:  # alone in its transaction: undo all of it
                self._group = None
                try:
                    if conn.in_transaction:
                        conn.rollback()
                finally:
                    group.done.set()
                    self._write_lock.release()
                raise
            try:
                conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
                conn.execute(f"RELEASE {_SAVEPOINT}")
            except sqlite3.Error:
                group.error = exc  # SQLite dropped the whole transaction (I/O error, full disk)
            self._end_group(conn, group, commit=group.members > 0)
            raise
        if joined:
            conn.execute(f"RELEASE {_SAVEPOINT}")
        group.members += 1
        if self._queued and group.members < _GROUP_MAX:
            self._write_lock.release()  # the next writer joins; the last one commits
            self._wait(group)
        else:
            self._end_group(conn, group, commit=True)
        if group.error is not None:
            raise CommitFailed(f"write not saved: {group.error}") from group.error

    def _begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, retried while another process holds the write lock: sleeps
        of 0.5–2 ms (an import's batch leaves gaps that long), up to ``lock_wait``."""
        deadline = time.monotonic() + self.lock_wait
        delay = 0.0005
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                if time.monotonic() >= deadline:
                    from server.errors import Busy

                    raise Busy(
                        "Hệ thống đang bận ghi dữ liệu; xin thử lại sau giây lát.",
                        retry_after=1,
                    ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.002)

    def _end_group(self, conn: sqlite3.Connection, group: _Group, *, commit: bool) -> None:
        """Commit (or, after a fatal error, roll back) the group; called with the lock held."""
        try:
            if group.error is None and commit:
                if not conn.in_transaction:
                    raise sqlite3.OperationalError("SQLite rolled the transaction back")
                if self.offload is None:
                    conn.commit()
                else:
                    self.offload(conn.commit)
        except BaseException as exc:
            group.error = exc
        finally:
            if conn.in_transaction:
                try:
                    conn.rollback()
                except sqlite3.Error:
                    log.exception("rollback after a failed commit")
            self._group = None
            group.done.set()
            self._write_lock.release()

    def _wait(self, group: _Group) -> None:
        """Until the group's last writer has committed it — or, if that writer never came
        (cancelled while queued), close the group ourselves."""
        while not group.done.wait(0.5):
            if self._write_lock.acquire(timeout=0.5):
                if self._group is group:
                    self._end_group(self._writer_or_fail(), group, commit=True)
                else:
                    self._write_lock.release()

    def _writer_or_fail(self) -> sqlite3.Connection:
        if self._writer is None:
            raise sqlite3.OperationalError("the write connection is closed")
        return self._writer

    def utils(self, conn: sqlite3.Connection) -> sqlite_utils.Database:
        return sqlite_utils.Database(conn)

    def close(self) -> None:
        """Close idle connections now and busy ones when they are handed back.

        Closing a connection another thread is using crashes SQLite (check_same_thread
        is off for the pool), so a background task still mid-query keeps its connection
        until it returns it; after close, asking for a connection raises DatabaseClosed."""
        self._closed = True
        while True:
            try:
                self._forget(self._pool.get_nowait())
            except queue.Empty:
                break
        if self._write_lock.acquire(timeout=10):
            try:
                if self._writer is not None:
                    self._forget(self._writer)
                    self._writer = None
            finally:
                self._write_lock.release()
