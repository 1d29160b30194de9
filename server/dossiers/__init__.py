"""The dossier (hồ sơ) domain: working-day calendar, status vocabulary, codes, notices.

Pure Python — no Flask, no SQL — so the API, the importer, the reports and the SMS
outbox all apply the same rules, and each rule is tested on its own.
"""

from __future__ import annotations

from server.dossiers.calendar import CalendarError, Pause, Timeliness, WorkCalendar
from server.dossiers.codes import (
    InvalidDossierCode,
    looks_like_onestop,
    mask_name,
    mask_phone,
    normalize_code,
)
from server.dossiers.status import (
    ALLOWED,
    Channel,
    DossierChannel,
    DossierStatus,
    InvalidDossierTransition,
    UnknownDossierChannel,
    UnknownDossierStatus,
    check_transition,
    clock_paused,
    clock_running,
    is_final,
    parse_channel,
    parse_status,
    transition_path,
)
from server.notify.notices import (
    NoticeError,
    NoticeKind,
    render_notice,
    sms_segments,
    strip_diacritics,
    to_ascii,
)

__all__ = [
    "ALLOWED",
    "CalendarError",
    "Channel",
    "DossierChannel",
    "DossierStatus",
    "InvalidDossierCode",
    "InvalidDossierTransition",
    "NoticeError",
    "NoticeKind",
    "Pause",
    "Timeliness",
    "UnknownDossierChannel",
    "UnknownDossierStatus",
    "WorkCalendar",
    "check_transition",
    "clock_paused",
    "clock_running",
    "is_final",
    "looks_like_onestop",
    "mask_name",
    "mask_phone",
    "normalize_code",
    "parse_channel",
    "parse_status",
    "render_notice",
    "sms_segments",
    "strip_diacritics",
    "to_ascii",
    "transition_path",
]
