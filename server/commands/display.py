"""`motcua display`: run the pygame hall board against a server.

The board is a client of the server, not of the database, so it takes no --config or
--data-dir; only the server's address and the display device's token (best given in
the environment, where the process list does not show it)."""

from __future__ import annotations

import logging
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
        help="Rewrite this PNG (1920×1080) after every change of the board.",
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
    def display_cmd(server, token, windowed, size, snapshot, fps, lang) -> None:
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
