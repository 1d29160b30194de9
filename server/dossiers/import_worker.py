"""The worker process of one import job: ``python -m server.dossiers.import_worker
DB_PATH JOB_ID``, with the server's effective configuration pickled on stdin.

A separate process, niced, so that parsing a big workbook (CPU) and applying its rows
never hold the server's event loop or its GIL; it reaches the same SQLite file through
its own connections, in the short transactions of ``pipeline``."""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import sys

log = logging.getLogger(__name__)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s import-worker %(message)s")
    if len(argv) != 2:
        log.error("usage: python -m server.dossiers.import_worker DB_PATH JOB_ID")
        return 2
    with contextlib.suppress(OSError):
        os.nice(10)  # the hall's requests first
    from server.config import Config
    from server.dossiers import jobs
    from server.dossiers.pipeline import Runner
    from server.store import Database

    cfg = pickle.load(sys.stdin.buffer)
    if not isinstance(cfg, Config):
        log.error("stdin: expected the pickled Config")
        return 2
    db = Database(argv[0], synchronous="NORMAL")  # journaled batches: see Database
    try:
        runner = Runner(db, cfg, argv[1], limits=jobs.limits(cfg))
        if runner.claim():
            runner.run()
    finally:
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
