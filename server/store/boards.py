"""What the hall boards need stored beyond calls: the index that finds a ticket's latest
call (a board shows whether each call still holds)."""

from __future__ import annotations

from sqlite_utils import Database as Utils


def m0010_boards_call_ticket(db: Utils) -> None:
    """A ticket's latest call is looked up on every start, finish, no-show and transfer
    (the boards' `call_state`); without an index that is a scan of every call ever made."""
    db.execute("CREATE INDEX call_ticket ON call (ticket_id, seq)")


MIGRATIONS = [
    ("0010_boards_call_ticket", m0010_boards_call_ticket),
]
