"""Spreadsheet cells that stay text ("CSV/formula injection").

A cell starting with one of FORMULA_START is a formula to Excel and LibreOffice:
citizens type names and rating reasons on their phones, and an export must not hand
that text to a supervisor's spreadsheet as code (=HYPERLINK(…) sending cells away).
Exports add an apostrophe (OWASP's advice); imports take it off again, so a file
exported here and imported back carries the same text.

The start of the cell is not the only place a spreadsheet may start a cell: a CSV
opened where the list separator is ";" (Vietnamese Excel) or split on "," or a tab
turns ``Nguyen;=cmd|' /C calc'!A0;`` into three cells, the second a live formula, even
when the field was quoted.  So every place such a split (or a line break) could start
a cell is neutralised the same way: an apostrophe right after the separator.

Reversible by construction: an apostrophe goes in wherever the text that follows is
spaces and apostrophes then a formula character (``[ ']*[=+-@\\t\\r]``), and an import
takes one off wherever an apostrophe is followed by such text — text that already had
an apostrophe there gets a second one, so it comes back with its own.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Where a spreadsheet may start a cell inside our text: its start, or after a list
#: separator (",", ";", tab) or a line break.
_BOUNDARY = r"(?:^|(?<=[,;\t\r\n]))"
_DANGER = r"(?=[ ']*[=+\-@\t\r])"
_NEUTRALISE = re.compile(_BOUNDARY + _DANGER)
_RESTORE = re.compile(_BOUNDARY + "'" + _DANGER)


def inert(value: Any) -> Any:
    """Text a spreadsheet shows as text however it splits it; anything else unchanged."""
    if isinstance(value, str):
        return _NEUTRALISE.sub("'", value)
    return value


def restored(text: str) -> str:
    """The text `inert` was given: its apostrophes taken off again."""
    return _RESTORE.sub("", text)
