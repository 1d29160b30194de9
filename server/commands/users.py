"""`motcua user passwd NAME` and `motcua user unlock NAME`: what an admin needs when a
password must change (a demo folder going live, a leaked password) or an address has
been blocked from an account by failed sign-ins."""

from __future__ import annotations

import sys

import click


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(
            click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True)
        )
    return sys.stdin.readline().rstrip("\r\n")


def register(main: click.Group) -> None:
    from ..cli import db_options, domain_errors, open_database
    from ..clock import Clock

    user = main.commands["user"]
    assert isinstance(user, click.Group)

    @user.command(
        "passwd",
        help="Set a user's password (read from stdin when it is not a terminal); ends every "
        "session and personal API token of the account.",
    )
    @click.argument("username")
    @db_options
    @domain_errors
    def user_passwd(username, cfg, config_path, data_dir) -> None:
        from .. import logins  # (not at start: its dummy hash costs every command 0.1 s)
        from ..accounts import audit

        password = _read_password()
        db = open_database(cfg, data_dir)
        try:
            now = Clock().now()
            u = logins.set_password_by_name(db, username, password, now)
            audit(db, now, "cli", "user_password_reset", f"user:{u['username']}")
        finally:
            db.close()
        click.echo(
            f"password of {u['username']} changed; its sessions and API tokens are revoked "
            "(a running server drops their connections within seconds)",
            err=True,
        )

    @user.command(
        "unlock", help="Forget failed sign-ins on an account, so no address stays blocked from it."
    )
    @click.argument("username")
    @db_options
    @domain_errors
    def user_unlock(username, cfg, config_path, data_dir) -> None:
        from .. import logins
        from ..accounts import audit

        db = open_database(cfg, data_dir)
        try:
            n = logins.unlock(db, username)
            audit(db, Clock().now(), "cli", "user_unlocked", f"user:{username.strip().lower()}")
        finally:
            db.close()
        click.echo(f"unlocked {username.strip().lower()} ({n} address(es) forgotten)", err=True)
