"""The pygame hall board: a screen loop over the network client, state and renderer.

The loop only draws: every frame renders the 1920×1080 logical board from the state
and scales it to the real screen (letterboxed), so one layout serves every TV.  The
network client and the announcement queue run on their own threads, so a slow frame
never delays a call and a slow download never freezes the screen.  ``--snapshot``
writes the logical board as a PNG after each change of what it shows (not every
frame): a way to watch a headless board, and what the tests look at.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402  (the prompt switch above must precede the import)

from display.audio import AnnouncementQueue, Hook, Player, PygamePlayer  # noqa: E402
from display.client import BoardClient, ServerHTTP  # noqa: E402
from display.render import (  # noqa: E402
    FOOTER_RECT,
    LOGICAL_SIZE,
    draw_plan,
    letterbox_rect,
    plan_footer,
    render_board,
    scale_into,
    still_key,
    write_png,
)
from display.state import BoardState  # noqa: E402
from server.i18n import t  # noqa: E402

logger = logging.getLogger(__name__)

WINDOWED_SIZE = (1280, 720)


@dataclass(frozen=True)
class BoardOptions:
    server: str
    token: str
    windowed: bool = False
    size: tuple[int, int] | None = None
    """The window or screen mode; None: the screen's own (fullscreen) or 1280×720."""
    snapshot: Path | None = None
    fps: int = 20
    lang: str = "vi"


class BoardApp:
    """One hall board: build it, ``run()`` it on the main thread, ``stop()`` it."""

    def __init__(
        self, options: BoardOptions, *, player: Player | None = None, on_start: Hook | None = None
    ) -> None:
        if options.fps < 1:
            raise ValueError("fps must be at least 1")
        self.options = options
        self.http = ServerHTTP(options.server)
        self.player = player if player is not None else PygamePlayer()
        self.announcements = AnnouncementQueue(self.player, self.http.fetch, on_start=on_start)
        self.state = BoardState(lang=options.lang)
        self.client = BoardClient(
            options.server, options.token, self.state, self.announcements, http=self.http
        )
        # every announcement's outcome goes to the server: a silent board shows up there
        self.announcements.on_result = self.client.report_sound
        self.client.sound_check = self._sound_check
        self.snapshots_written = 0
        self.frame_ms: deque[float] = deque(maxlen=200)
        """Render + scale + flip time of the last frames (the loop's own cost)."""
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def _sound_check(self) -> tuple[str, str] | None:
        """A board whose mixer found no device is known silent from the start."""
        if getattr(self.player, "silent", False):
            reason = getattr(self.player, "silent_reason", "")
            return "failed", f"no audio device ({reason})"
        return None

    def run(self) -> None:
        """Open the screen and draw until ``stop()``, a window close or Esc/Q."""
        pygame.display.init()
        try:
            screen = self._open_screen()
            logical = pygame.Surface(LOGICAL_SIZE)
            self.client.start()
            self._loop(screen, logical)
        finally:
            self.client.close()
            self.announcements.close()
            close = getattr(self.player, "close", None)
            if callable(close):
                close()
            pygame.display.quit()

    def _open_screen(self) -> pygame.Surface:
        pygame.display.set_caption(t("board.center_default", self.options.lang))
        if self.options.windowed:
            return pygame.display.set_mode(self.options.size or WINDOWED_SIZE, pygame.RESIZABLE)
        screen = pygame.display.set_mode(self.options.size or (0, 0), pygame.FULLSCREEN)
        pygame.mouse.set_visible(False)
        got = screen.get_size()
        if self.options.size and got != self.options.size:
            logger.warning(
                "asked for a %dx%d screen, the display gave %dx%d (the board is scaled to it)",
                *self.options.size,
                *got,
            )
        else:
            logger.info("board screen %dx%d", *got)
        return screen

    def _loop(self, screen: pygame.Surface, logical: pygame.Surface) -> None:
        clock = pygame.time.Clock()
        written = -1
        drawn: tuple[object, ...] | None = None
        while not self._stop.is_set():
            resized = False
            for event in pygame.event.get():
                if event.type == pygame.QUIT or (
                    event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q)
                ):
                    self._stop.set()
                resized = resized or event.type in (pygame.VIDEORESIZE, pygame.VIDEOEXPOSE)
            started = time.perf_counter()
            now = self.client.now()
            version = self.client.version  # read before drawing: a change mid-frame redraws
            screen = pygame.display.get_surface() or screen
            key = (version, *still_key(self.state, now), screen.get_size())
            if key != drawn or resized:
                # Something above the notice changed (a call, the clock's second, the
                # flash): the whole board.  Otherwise only the scrolling footer moves.
                render_board(self.state, now, logical)
                self._present(logical, screen, None)
                drawn = key
            else:
                draw_plan(plan_footer(self.state, now), logical)
                self._present(logical, screen, FOOTER_RECT)
            pygame.display.flip()
            self.frame_ms.append((time.perf_counter() - started) * 1000)
            if self.options.snapshot is not None and version != written:
                self._write_snapshot(logical, self.options.snapshot)
                written = version
            clock.tick(self.options.fps)

    @staticmethod
    def _present(
        logical: pygame.Surface,
        screen: pygame.Surface,
        region: tuple[int, int, int, int] | None,
    ) -> None:
        """Copy the logical board (or one full-width strip of it) to the screen."""
        if screen.get_size() == LOGICAL_SIZE:
            if region is None:
                screen.blit(logical, (0, 0))
            else:
                screen.blit(logical, region[:2], region)
            return
        if region is None:
            scale_into(logical, screen)
            return
        box = letterbox_rect(LOGICAL_SIZE, screen.get_size())
        scale = box.height / LOGICAL_SIZE[1]
        top = box.y + round(region[1] * scale)
        bottom = box.y + round((region[1] + region[3]) * scale)
        if bottom <= top:
            return
        target = screen.subsurface((box.x, top, box.width, bottom - top))
        try:
            pygame.transform.smoothscale(logical.subsurface(region), target.get_size(), target)
        except ValueError:  # smoothscale needs 24/32-bit pixels; some screens have fewer
            pygame.transform.scale(logical.subsurface(region), target.get_size(), target)

    def _write_snapshot(self, logical: pygame.Surface, path: Path) -> None:
        try:
            write_png(logical, path)
        except (OSError, pygame.error) as exc:
            logger.warning("snapshot %s not written: %s", path, exc)
            return
        self.snapshots_written += 1


__all__ = ["BoardApp", "BoardOptions"]
