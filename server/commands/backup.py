"""`motcua backup FILE` (safe while serving) and `motcua restore FILE` (server stopped)."""

from __future__ import annotations

from pathlib import Path

import click

from ..store.backup import BackupError, backup, check, restore


def _server_running(data_dir: Path) -> bool:
    """A restore under a running server would be overwritten by it: refuse if the
    database is open for writing by someone else (an exclusive lock cannot be taken)."""
    import sqlite3

    path = data_dir / "motcua.sqlite3"
    if not path.exists():
        return False
    conn = sqlite3.connect(path, timeout=0.5)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        conn.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def register(main: click.Group) -> None:
    from ..cli import db_options, open_database

    @main.command(
        "backup", help="Write a consistent copy of the database to FILE (safe while serving)."
    )
    @click.argument("target", type=click.Path(dir_okay=False))
    @db_options
    def backup_cmd(target, cfg, config_path, data_dir) -> None:
        _refuse_postgres(cfg, "backup")
        db = open_database(cfg, data_dir)
        try:
            path = backup(db, Path(target))
            counts = check(path)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            db.close()
        click.echo(
            f"backup written to {path}: {counts.get('ticket', 0)} tickets, "
            f"{counts.get('call', 0)} calls",
            err=True,
        )

    @main.command(
        "restore", help="Replace the database with a verified backup FILE (stop the server first)."
    )
    @click.argument("source", type=click.Path(dir_okay=False, exists=True))
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @db_options
    def restore_cmd(source, yes, cfg, config_path, data_dir) -> None:
        _refuse_postgres(cfg, "restore")
        try:
            counts = check(Path(source))
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None
        if _server_running(data_dir):
            raise click.ClickException("the database is in use — stop the server before restoring")
        if not yes and not click.confirm(
            f"Replace {data_dir / 'motcua.sqlite3'} with {source} ({counts.get('ticket', 0)} tickets)?",
            err=True,
        ):
            raise click.ClickException("restore cancelled")
        kept = restore(Path(source), data_dir / "motcua.sqlite3")
        click.echo(
            f"restored from {source}" + (f"; previous database kept as {kept}" if kept else ""),
            err=True,
        )


def _refuse_postgres(cfg, what: str) -> None:
    """`backup`/`restore` copy the embedded SQLite file; a PostgreSQL store is saved with
    PostgreSQL's own tools, which also see every host's writes."""
    from server.dbconfig import database_url

    if database_url(cfg) is not None:
        tool = "pg_dump --format=custom" if what == "backup" else "pg_restore"
        raise click.ClickException(
            f"the database is PostgreSQL (database.url / MOTCUA_DATABASE_URL): {what} it "
            f"with {tool}; `motcua {what}` handles the embedded SQLite file"
        )
