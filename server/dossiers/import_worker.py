"""The worker process of one import job: ``python -m server.dossiers.import_worker
DB_PATH JOB_ID [WORKDIR]``, with the server's effective configuration pickled on stdin.
DB_PATH is the SQLite file, or ``postgresql``: the database the configuration (or
MOTCUA_DATABASE_URL) names.  WORKDIR: where a file uploaded on another host is copied.

A separate process, niced, so that parsing a big workbook (CPU) and applying its rows
never hold the server's event loop or its GIL; it reaches the same SQLite file through
its own connections, in the short transactions of ``pipeline``."""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import sys
from typing import Any

log = logging.getLogger(__name__)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s import-worker %(message)s")
    if len(argv) not in (2, 3):
        log.error("usage: python -m server.dossiers.import_worker DB_PATH JOB_ID [WORKDIR]")
        return 2
    with contextlib.suppress(OSError):
        os.nice(10)  # the hall's requests first
    from pathlib import Path

    from server.config import Config
    from server.dossiers import jobs
    from server.dossiers.pipeline import Runner
    from server.store import Database
    from server.store.pg import PgDatabase

    cfg = pickle.load(sys.stdin.buffer)
    if not isinstance(cfg, Config):
        log.error("stdin: expected the pickled Config")
        return 2
    if argv[0] == "postgresql":
        from server.dbconfig import database_url

        url = database_url(cfg)
        if url is None:
            log.error("postgresql: neither database.url nor MOTCUA_DATABASE_URL is set")
            return 2
        db: Any = PgDatabase(url, max_size=2)
    else:
        db = Database(argv[0], synchronous="NORMAL")  # journaled batches: see Database
    workdir = Path(argv[2]) if len(argv) == 3 else None
    try:
        runner = Runner(db, cfg, argv[1], limits=jobs.limits(cfg), workdir=workdir)
        if runner.claim():
            runner.run()
        runner.drop_copy()
    finally:
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
