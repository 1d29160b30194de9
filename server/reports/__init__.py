"""Supervisors' reports: queue, dossiers and satisfaction over a range of business days.

Provinces judge a center by these figures, so they are computed from the stored
history (tickets, their events, counter pauses, ratings, dossiers), never typed by
hand.  Each report is a plain dict (the JSON the API returns); ``tables`` turns the
same dict into the rows of the CSV and XLSX downloads, so files and JSON always agree.
No Flask here.
"""

from __future__ import annotations

from .dossiers import dossier_report
from .live import live_report
from .period import Period, parse_period
from .queue import queue_report
from .satisfaction import satisfaction_report

__all__ = [
    "Period",
    "dossier_report",
    "live_report",
    "parse_period",
    "queue_report",
    "satisfaction_report",
]
