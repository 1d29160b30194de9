"""Dossier commands: departments' API keys, file import/export, the SMS sender.

    motcua apikey add STP --name "Sở Tư pháp" [--scopes dossiers:read,dossiers:write,remote]
        [--agency 000.00.06.H56 …]
    motcua import-dossiers ho-so.csv [--dry-run] [--policy all-or-nothing|skip-bad]
    motcua export-dossiers --format xlsx --output ho-so.xlsx
    motcua import-procedures thu-tuc.xlsx
    motcua notify-worker

Secrets (a new key) go alone to stdout; everything else to stderr.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..cli import db_options, domain_errors, open_database
from ..clock import Clock


def _say(message: str) -> None:
    click.echo(message, err=True)


#: The CSV/XLSX file an import command reads.
_input_file = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))


def _day_option(flag: str, dest: str, help: str) -> Callable[[Any], Any]:
    return click.option(flag, dest, type=click.DateTime(["%Y-%m-%d"]), default=None, help=help)


def register(main: click.Group) -> None:
    main.add_command(apikey)
    main.add_command(import_dossiers)
    main.add_command(export_dossiers)
    main.add_command(import_procedures)
    main.add_command(notify_worker)


@click.group(help="Departments' API keys for pushing dossier status.")
def apikey() -> None:
    pass


@apikey.command("add", help="Create an API key for a department; prints it once on stdout.")
@click.argument("department")
@click.option(
    "--scopes",
    default="dossiers:read,dossiers:write",
    show_default=True,
    help="Comma-separated: dossiers:read, dossiers:write, remote (take numbers for citizens).",
)
@click.option("--name", default=None, help="The department's name (creates or renames it).")
@click.option("--note", default=None, help="What the key is for (shown in `apikey list`).")
@click.option(
    "--agency",
    "agencies",
    multiple=True,
    help="An agency code the department issues dossier codes under (e.g. 000.00.06.H56); "
    "repeatable. Codes with a registered agency can only be written by its department.",
)
@db_options
@domain_errors
def apikey_add(department, scopes, name, note, agencies, cfg, config_path, data_dir) -> None:
    from ..dossiers.apikeys import add_key, parse_scopes

    db = open_database(cfg, data_dir)
    key_id, secret = add_key(
        db,
        department,
        Clock().now(),
        scopes=parse_scopes(scopes),
        name=name,
        note=note,
        agencies=agencies,
    )
    owned = f"; agencies {', '.join(a.strip().upper() for a in agencies)}" if agencies else ""
    _say(f"created API key #{key_id} for {department.upper()} ({scopes}{owned})")
    click.echo(secret)


@apikey.command("list", help="List API keys (never their secrets).")
@db_options
def apikey_list(cfg, config_path, data_dir) -> None:
    from ..dossiers.apikeys import list_keys

    for k in list_keys(open_database(cfg, data_dir)):
        state = f"revoked {k['revoked_at']}" if k["revoked_at"] else "active"
        click.echo(
            f"#{k['id']}\t{k['department']}\t{','.join(k['scopes'])}\t{state}\t"
            f"{','.join(k['agencies'])}\t{k['note'] or ''}"
        )


@apikey.command("revoke", help="Revoke an API key by its number.")
@click.argument("key_id", type=int)
@db_options
@domain_errors
def apikey_revoke(key_id, cfg, config_path, data_dir) -> None:
    from ..dossiers.apikeys import revoke_key

    revoke_key(open_database(cfg, data_dir), key_id, Clock().now())
    _say(f"revoked API key #{key_id}")


@click.command(
    "import-dossiers",
    help="Import dossiers from a CSV (UTF-8, UTF-8 with BOM or Windows-1258) or XLSX file, "
    "through the same job as the upload page (the file is kept in DATA/imports; rows are "
    "tried first, then saved in short batches, so a running server is not held up). "
    "Exit status 1 when any row was rejected.",
)
@_input_file
@click.option("--dry-run", is_flag=True, help="Check everything, save nothing.")
@click.option(
    "--policy",
    type=click.Choice(["all-or-nothing", "skip-bad"]),
    default="all-or-nothing",
    show_default=True,
    help="all-or-nothing: one bad row saves nothing; skip-bad: save the good rows.",
)
@click.option("--department", default=None, help="Only accept rows of this department.")
@click.option("--no-sms", is_flag=True, help="Do not text citizens about imported events.")
@db_options
@domain_errors
def import_dossiers(file, dry_run, policy, department, no_sms, cfg, config_path, data_dir) -> None:
    from ..dossiers.importer import run_import
    from ..settings import for_database

    db = open_database(cfg, data_dir)
    cfg = for_database(cfg, db)  # the days off saved on /admin/days count, as in the API
    shown = {"last": 0.0}

    def progress(done: int, total: int) -> None:
        if time.monotonic() - shown["last"] > 1 or done == total:
            shown["last"] = time.monotonic()
            _say(f"  {done}/{total} rows")

    report = run_import(
        db,
        cfg,
        file.name,
        file.read_bytes(),
        actor="cli:import",
        now=Clock().now(),
        policy=policy,
        dry_run=dry_run,
        scope=department.upper() if department else None,
        notify=not no_sms,
        progress=progress,
        data_dir=data_dir,
    )
    for r in report.rejected:
        _say(f"  line {r.line} ({r.code or 'no code'}): {r.reason}")
    if report.rejected_total > len(report.rejected):
        _say(f"  … and {report.rejected_total - len(report.rejected)} more rejected rows")
    verdict = (
        "dry run: nothing saved"
        if dry_run
        else ("saved" if report.committed else "NOTHING SAVED (all-or-nothing)")
    )
    _say(
        f"{file.name} [{report.format}, {report.encoding or 'xlsx'}]: {report.rows} rows, "
        f"{report.accepted} accepted ({report.created} new, {report.updated} updated, "
        f"{report.unchanged} unchanged), {report.rejected_total} rejected, "
        f"{report.events} events, {report.notifications} SMS queued — {verdict} "
        f"in {report.seconds:.2f} s"
    )
    if report.ignored_columns:
        _say(f"ignored columns: {', '.join(report.ignored_columns)}")
    if report.rejected_total:
        sys.exit(1)


@click.command("export-dossiers", help="Export dossiers in the import format.")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: stdout for CSV).",
)
@_day_option("--from", "date_from", "Received on or after this date.")
@_day_option("--to", "date_to", "Received on or before this date.")
@click.option("--department", default=None)
@db_options
def export_dossiers(fmt, output, date_from, date_to, department, cfg, config_path, data_dir):
    from ..dossiers import tables
    from ..dossiers.importer import export_rows

    db = open_database(cfg, data_dir)
    rows = export_rows(
        db,
        cfg,
        department=department.upper() if department else None,
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
    )
    body = tables.write_xlsx(rows) if fmt == "xlsx" else tables.write_csv(rows)
    if output is None:
        if fmt == "xlsx":
            raise click.UsageError("XLSX needs --output FILE")
        sys.stdout.buffer.write(body)
        return
    output.write_bytes(body)
    _say(f"wrote {output} ({len(body)} bytes)")


@click.command(
    "import-procedures",
    help="Upsert departments and procedures from CSV/XLSX: department, department_name, "
    "procedure, procedure_name, limit_days, limit_hours, cutoff (same-day cut-off HH:MM), "
    "place, contact.",
)
@_input_file
@db_options
@domain_errors
def import_procedures(file, cfg, config_path, data_dir) -> None:
    from ..dossiers.importer import import_procedures as run

    counts = run(open_database(cfg, data_dir), file.name, file.read_bytes(), Clock().now())
    _say(f"{counts['procedures']} procedures in {counts['departments']} departments saved")


@click.command(
    "notify-worker",
    help="Send queued SMS (with retries) without the web server; stop with Ctrl+C.",
)
@click.option("--once", is_flag=True, help="Send what is due now and exit.")
@db_options
def notify_worker(once, cfg, config_path, data_dir) -> None:
    from ..config import ConfigError
    from ..notify.worker import make_worker

    db = open_database(cfg, data_dir)
    try:
        worker = make_worker(db, cfg, data_dir, Clock())
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    if once:
        worker.recover()
        total = 0
        while (n := worker.run_once()) > 0:
            total += n
        _say(f"{total} messages attempted")
        return
    try:
        worker.run_forever(time.sleep)
    except KeyboardInterrupt:
        worker.stop()
        _say("stopped")
