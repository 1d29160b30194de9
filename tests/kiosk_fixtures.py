"""Fixtures of the kiosk tests: a kiosk and a board device, and staff accounts made only
when a test asks for one (password hashing costs a quarter second per account)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server import accounts


@dataclass
class KioskActors:
    ctx: Any
    kiosk: str
    board: str
    _users: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def h(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def user(self, username: str, role: str, counters: tuple[int, ...] = ()) -> str:
        if username not in self._users:
            now = self.ctx.now()
            accounts.add_user(self.ctx.db, username, role, "password123", now, counters=counters)
            self._users[username] = accounts.issue_user_token(self.ctx.db, username, now)
        return self._users[username]

    @property
    def supervisor(self) -> str:
        return self.user("boss", "supervisor")

    @property
    def admin(self) -> str:
        return self.user("root", "admin")

    @property
    def staff1(self) -> str:
        return self.user("staff1", "staff", (1,))


def make_actors(ctx: Any) -> KioskActors:
    """A kiosk and a board device (test modules wrap this in their `kactors` fixture)."""
    now = ctx.now()
    return KioskActors(
        ctx,
        kiosk=accounts.add_device(ctx.db, "kiosk-1", "kiosk", now),
        board=accounts.add_device(ctx.db, "board-all", "display", now),
    )
