"""`motcua display`: run the pygame hall board against a server.

The board is a client of the server, not of the database, so it takes no --config or
--data-dir; only the server's address and the display device's token (best given in
the environment, where the process list does not show it).

`--snapshot FILE` draws the board once, without a screen: connect, wait for the
server's snapshot, render it at `--size` (1920×1080 by default), write the PNG, exit 0
— or exit 1 with the reason when no snapshot came in time.  With `--follow` the board
runs on and rewrites the PNG after every change (a headless board to watch)."""

from __future__ import annotations

import logging
import os
import re
import signal
from pathlib import Path
from typing import Any

import click

log = logging.getLogger(__name__)

_SIZE = re.compile(r"^(\d{2,5})[x×](\d{2,5})$")


def parse_size(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    match = _SIZE.match(value.strip().lower())
    if not match:
        raise click.BadParameter("expected WIDTHxHEIGHT, e.g. 1920x1080")
    return int(match.group(1)), int(match.group(2))


def register(main: click.Group) -> None:
    @main.command(
        "display",
        help="Run the pygame hall board: calls with chime and voice, counters, waiting "
        "counts. Esc or Q quits.",
    )
    @click.option(
        "--server",
        envvar="MOTCUA_SERVER",
        default="http://127.0.0.1:5000",
        show_default=True,
        help="The motcua server's address (env MOTCUA_SERVER).",
    )
    @click.option(
        "--token",
        envvar="MOTCUA_DISPLAY_TOKEN",
        required=True,
        help="The display device's token from `motcua device add NAME --kind display` "
        "(env MOTCUA_DISPLAY_TOKEN keeps it out of the process list).",
    )
    @click.option("--windowed", is_flag=True, help="A window instead of fullscreen.")
    @click.option("--size", callback=parse_size, help="Screen mode or window size, WIDTHxHEIGHT.")
    @click.option(
        "--snapshot",
        type=click.Path(dir_okay=False, writable=True),
        help="Draw the board once into this PNG (at --size, default 1920x1080) and exit.",
    )
    @click.option(
        "--follow",
        is_flag=True,
        help="With --snapshot: keep running and rewrite the PNG (1920x1080) after every "
        "change of the board.",
    )
    @click.option(
        "--timeout",
        type=click.FloatRange(0.5, 600),
        default=20.0,
        show_default=True,
        help="With --snapshot: seconds to wait for the server's snapshot.",
    )
    @click.option(
        "--fps",
        type=click.IntRange(1, 60),
        default=20,
        show_default=True,
        help="Frames per second.",
    )
    @click.option(
        "--lang",
        type=click.Choice(["vi", "en"]),
        default="vi",
        show_default=True,
        help="Language of the board's captions.",
    )
    def display_cmd(server, token, windowed, size, snapshot, follow, timeout, fps, lang) -> None:
        if snapshot and not follow:
            write_snapshot(server, token, Path(snapshot), size or (1920, 1080), lang, timeout)
            return
        from display.app import BoardApp, BoardOptions

        options = BoardOptions(
            server=server,
            token=token,
            windowed=windowed,
            size=size,
            snapshot=Path(snapshot) if snapshot else None,
            fps=fps,
            lang=lang,
        )
        app = BoardApp(options)
        signal.signal(signal.SIGTERM, lambda *_: app.stop())
        try:
            app.run()
        except KeyboardInterrupt:
            app.stop()
        log.info("board stopped")


def write_snapshot(
    server: str, token: str, path: Path, size: tuple[int, int], lang: str, timeout: float
) -> None:
    """Connect, wait for the server's snapshot, draw the board at ``size`` into ``path``."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # no screen is opened
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    from display.client import BoardClient
    from display.render import render_board, write_png
    from display.state import BoardState

    client = BoardClient(server, token, BoardState(lang=lang), reconnect_delay_s=0.5)
    client.start()
    try:
        if not client.wait_snapshot(timeout):
            reason = (
                f"the server refused the board: {client.refusal}"
                if client.refusal
                else ("no connection" if not client.state.connected else "no snapshot arrived")
            )
            raise click.ClickException(
                f"no board snapshot from {server} within {timeout:g} s ({reason})"
            )
        with client.lock:
            surface = render_board(client.state, client.now(), size=size)
        try:
            write_png(surface, path)
        except OSError as exc:
            raise click.ClickException(f"cannot write {path}: {exc}") from None
    finally:
        client.close()
    log.info("board snapshot %dx%d written to %s", *surface.get_size(), path)
