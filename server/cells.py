"""Spreadsheet cells that stay text ("CSV/formula injection").

A cell starting with one of FORMULA_START is a formula to Excel and LibreOffice:
citizens type names and rating reasons on their phones, and an export must not hand
that text to a supervisor's spreadsheet as code (=HYPERLINK(…) sending cells away).
Exports add a leading apostrophe (OWASP's advice); imports take it off again, so a file
exported here and imported back carries the same text."""

from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(value: Any) -> Any:
    """Text a spreadsheet shows as text; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def restored(text: str) -> str:
    """The text `inert` was given: its apostrophe taken off again."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text
