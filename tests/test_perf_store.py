"""Group commit in the store: writers that queue up while one holds the write lock share
one commit; a writer that fails undoes only its own writes; a failed commit fails
every writer of the group and saves nothing."""

from __future__ import annotations

import threading
import time

import pytest

from server.store import Database
from server.store.db import CommitFailed


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "g.sqlite3")
    with database.write() as conn:
        conn.execute("CREATE TABLE item (name TEXT PRIMARY KEY)")
    yield database
    database.close()


def _names(db: Database) -> list[str]:
    with db.connection() as conn:
        return [r[0] for r in conn.execute("SELECT name FROM item ORDER BY name")]


def _group(db: Database, bodies: dict[str, object]) -> dict[str, BaseException | None]:
    """Run one writer per name while a first writer holds the lock, so all of them queue
    and then run as one group; each body inserts its name, a body that is an exception
    raises it after inserting."""
    results: dict[str, BaseException | None] = {}
    release = threading.Event()

    def first() -> None:
        try:
            with db.write() as conn:
                conn.execute("INSERT INTO item VALUES ('first')")
                release.wait(10)
            results["first"] = None
        except BaseException as exc:
            results["first"] = exc

    def writer(name: str, outcome: object) -> None:
        try:
            with db.write() as conn:
                conn.execute("INSERT INTO item VALUES (?)", (name,))
                if isinstance(outcome, BaseException):
                    raise outcome
            results[name] = None
        except BaseException as exc:
            results[name] = exc

    threads = [threading.Thread(target=first)]
    threads[0].start()
    while db._group is None:  # the first writer holds the lock inside its transaction
        time.sleep(0.001)
    for name, outcome in bodies.items():
        t = threading.Thread(target=writer, args=(name, outcome))
        t.start()
        threads.append(t)
    deadline = time.monotonic() + 10
    while db._queued < len(bodies) and time.monotonic() < deadline:
        time.sleep(0.001)
    release.set()
    for t in threads:
        t.join(10)
    return results


def test_queued_writers_share_one_commit(db):
    commits = []
    db.offload = lambda fn: (commits.append(1), fn())
    results = _group(db, {"a": None, "b": None, "c": None})
    assert results == {"first": None, "a": None, "b": None, "c": None}
    assert _names(db) == ["a", "b", "c", "first"]
    assert len(commits) == 1


def test_a_failing_writer_undoes_only_its_own_writes(db):
    results = _group(db, {"a": None, "bad": ValueError("no"), "c": None})
    assert isinstance(results["bad"], ValueError)
    assert results["a"] is None and results["c"] is None and results["first"] is None
    assert _names(db) == ["a", "c", "first"]


def test_a_failed_commit_fails_the_whole_group_and_saves_nothing(db):
    def broken_disk(fn):
        raise OSError("disk I/O error")

    db.offload = broken_disk
    results = _group(db, {"a": None, "b": None})
    assert all(isinstance(r, CommitFailed) for r in results.values()), results
    db.offload = None
    assert _names(db) == []
    with db.write() as conn:  # the database still works afterwards
        conn.execute("INSERT INTO item VALUES ('after')")
    assert _names(db) == ["after"]


def test_a_lone_writer_commits_at_once_and_a_lone_failure_rolls_back(db):
    with db.write() as conn:
        conn.execute("INSERT INTO item VALUES ('x')")
    assert _names(db) == ["x"]
    with pytest.raises(RuntimeError), db.write() as conn:
        conn.execute("INSERT INTO item VALUES ('y')")
        raise RuntimeError("undo")
    assert _names(db) == ["x"]
    assert db._group is None


def test_many_threads_issue_unique_gapless_numbers(db):
    with db.write() as conn:
        conn.execute("CREATE TABLE n (k TEXT PRIMARY KEY, v INTEGER)")
        conn.execute("CREATE TABLE taken (v INTEGER)")

    def issue() -> None:
        for _ in range(25):
            with db.write() as conn:
                v = conn.execute(
                    "INSERT INTO n VALUES ('x', 1) ON CONFLICT(k) DO UPDATE SET v = v + 1 RETURNING v"
                ).fetchone()[0]
                conn.execute("INSERT INTO taken VALUES (?)", (v,))

    threads = [threading.Thread(target=issue) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with db.connection() as conn:
        taken = sorted(r[0] for r in conn.execute("SELECT v FROM taken"))
    assert taken == list(range(1, 201))
