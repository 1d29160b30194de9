"""The one-stop status vocabulary of a dossier and the moves a real workflow allows.

Departments' systems push statuses by API and by file import, spelled as our codes,
as the Vietnamese labels (with or without diacritics, depending on the exporting
software) or in English; ``parse_status`` accepts all of them so nobody retypes a
dossier.  ``ALLOWED`` is the normal workflow only: a supervisor's correction of a
wrong click is a separate, audited path that does not go through ``check_transition``.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from typing import Protocol, TypeVar

from server.errors import BadRequest, Conflict
from server.i18n import t
from server.notify.notices import strip_diacritics

log = logging.getLogger(__name__)


class DossierStatus(StrEnum):
    """Stable codes (stored, sent over the API); labels come from the catalog."""

    REGISTERED = "registered"  # Mới đăng ký: submitted online/by post, not yet checked
    RECEIVED = "received"  # Đã tiếp nhận: complete and valid; the clock starts here
    NOT_ACCEPTED = "not_accepted"  # Không được tiếp nhận: refused at reception
    IN_PROGRESS = "in_progress"  # Đang xử lý: with the department
    SUPPLEMENT_REQUESTED = "supplement_requested"  # Yêu cầu bổ sung hồ sơ
    FEES_DUE = "fees_due"  # Yêu cầu thực hiện nghĩa vụ tài chính
    TRANSFERRED = "transferred"  # Đã chuyển liên thông: sent on to another agency
    WITHDRAWN = "withdrawn"  # Công dân rút hồ sơ
    STOPPED = "stopped"  # Dừng xử lý: refused or abandoned after reception
    RESOLVED = "resolved"  # Đã có kết quả / đã xử lý xong: waiting for the citizen
    RETURNED = "returned"  # Đã trả kết quả

    def label(self, lang: str = "vi") -> str:
        return t(f"dossier.status.{self.value}", lang)


S = DossierStatus

#: The normal workflow, and why each move exists:
#: - registered: the reception desk checks an online/postal submission and receives it,
#:   refuses it, or asks for a supplement first; the citizen may cancel it.
#: - received: simple procedures are resolved on the spot (chứng thực), others go to the
#:   department; a missing paper or a fee can be found at once; the citizen may withdraw;
#:   a refusal after reception is "dừng xử lý" (not_accepted is only for reception).
#: - in_progress: the department asks for a supplement or fees, resolves, or stops.
#: - supplement_requested: supplied → back to work (in_progress), or to received when the
#:   request came before reception; never supplied → stopped, or not accepted when the
#:   dossier was never received; the citizen may withdraw.
#: - fees_due: paid → work continues, or the result follows at once (land registration
#:   issues the certificate once the tax is paid); unpaid → stopped; or withdrawn.
#: - transferred (đã chuyển liên thông): an inter-agency procedure (e.g. birth
#:   registration + health insurance card, land + tax) sent on to the next agency; that
#:   agency's work is still the same dossier's, so it may come back to work here, ask
#:   for a supplement or fees, resolve, or stop, and the citizen may withdraw.  Sent on
#:   from reception, from work, or once a requested supplement arrives.
#: - resolved → returned when the citizen collects the result (or it is posted).
#: - not_accepted, withdrawn, stopped, returned are final.
ALLOWED: dict[DossierStatus, frozenset[DossierStatus]] = {
    S.REGISTERED: frozenset({S.RECEIVED, S.NOT_ACCEPTED, S.SUPPLEMENT_REQUESTED, S.WITHDRAWN}),
    S.RECEIVED: frozenset(
        {
            S.IN_PROGRESS,
            S.SUPPLEMENT_REQUESTED,
            S.FEES_DUE,
            S.TRANSFERRED,
            S.RESOLVED,
            S.WITHDRAWN,
            S.STOPPED,
        }
    ),
    S.IN_PROGRESS: frozenset(
        {S.SUPPLEMENT_REQUESTED, S.FEES_DUE, S.TRANSFERRED, S.RESOLVED, S.WITHDRAWN, S.STOPPED}
    ),
    S.SUPPLEMENT_REQUESTED: frozenset(
        {S.IN_PROGRESS, S.RECEIVED, S.TRANSFERRED, S.NOT_ACCEPTED, S.WITHDRAWN, S.STOPPED}
    ),
    S.FEES_DUE: frozenset({S.IN_PROGRESS, S.RESOLVED, S.WITHDRAWN, S.STOPPED}),
    S.TRANSFERRED: frozenset(
        {S.IN_PROGRESS, S.SUPPLEMENT_REQUESTED, S.FEES_DUE, S.RESOLVED, S.WITHDRAWN, S.STOPPED}
    ),
    S.RESOLVED: frozenset({S.RETURNED}),
    S.NOT_ACCEPTED: frozenset(),
    S.WITHDRAWN: frozenset(),
    S.STOPPED: frozenset(),
    S.RETURNED: frozenset(),
}

#: The clock stops while the ball is in the citizen's court: a supplement request
#: (Decree 61/2018: the time already spent counts, the waiting does not) and the
#: payment of fees and taxes (land and construction rules exclude the time for
#: financial obligations from the processing time).
PAUSED = frozenset({S.SUPPLEMENT_REQUESTED, S.FEES_DUE})
#: The clock runs while the administration holds the dossier — this agency or, after
#: a transfer, the next one (an inter-agency procedure has one time limit in total).
RUNNING = frozenset({S.RECEIVED, S.IN_PROGRESS, S.TRANSFERRED})


class InvalidDossierTransition(Conflict):
    """A status change the workflow does not allow (HTTP 409)."""

    code = "invalid_transition"

    def __init__(self, old: DossierStatus, new: DossierStatus) -> None:
        self.old, self.new = old, new
        super().__init__(
            t("dossier.error.transition", "vi", old=old.label("vi"), new=new.label("vi")),
            old=old.value,
            new=new.value,
        )


class UnknownDossierStatus(BadRequest):
    code = "unknown_status"


class UnknownDossierChannel(BadRequest):
    code = "unknown_channel"


def is_final(status: DossierStatus) -> bool:
    return not ALLOWED[status]


def clock_paused(status: DossierStatus) -> bool:
    """Whether the time limit is stopped while a dossier is in this status."""
    return status in PAUSED


def clock_running(status: DossierStatus) -> bool:
    return status in RUNNING


def check_transition(old: DossierStatus, new: DossierStatus) -> None:
    """Raise InvalidDossierTransition unless ``old → new`` is a workflow move.

    Repeating the current status is not a move either; an importer that sees the same
    status again should record nothing rather than call this.
    """
    if new not in ALLOWED[old]:
        raise InvalidDossierTransition(old, new)


def transition_path(old: DossierStatus, new: DossierStatus) -> list[DossierStatus]:
    """The shortest chain of allowed moves from ``old`` to ``new`` (excluding ``old``).

    A department's export often carries only the latest status; the importer can record
    the implied steps (e.g. supplied → in progress → resolved) instead of refusing.
    """
    previous: dict[DossierStatus, DossierStatus] = {}
    queue = deque([old])
    while queue:
        current = queue.popleft()
        for nxt in sorted(ALLOWED[current]):
            if nxt in previous or nxt == old:
                continue
            previous[nxt] = current
            if nxt == new:
                path = [nxt]
                while previous[path[-1]] != old:
                    path.append(previous[path[-1]])
                return path[::-1]
            queue.append(nxt)
    raise InvalidDossierTransition(old, new)


# --- parsing ------------------------------------------------------------------------
_SEPARATORS = re.compile(r"[\s_\-–—/.:]+")

#: Spellings seen in departments' exports besides our code and the catalog labels.
_STATUS_ALIASES: dict[DossierStatus, tuple[str, ...]] = {
    S.REGISTERED: ("Đăng ký mới", "Mới tiếp nhận trực tuyến", "new", "submitted"),
    S.RECEIVED: ("Được tiếp nhận", "Tiếp nhận", "Đã nhận hồ sơ", "accepted"),
    S.NOT_ACCEPTED: ("Từ chối tiếp nhận", "rejected", "refused"),
    S.IN_PROGRESS: ("Đang giải quyết", "Đang thụ lý", "processing"),
    S.SUPPLEMENT_REQUESTED: (
        "Yêu cầu bổ sung",
        "Yêu cầu bổ sung giấy tờ",
        "Bổ sung hồ sơ",
        "Chờ bổ sung",
        "supplement",
    ),
    S.FEES_DUE: (
        "Yêu cầu nghĩa vụ tài chính",
        "Nghĩa vụ tài chính",
        "Chờ thực hiện nghĩa vụ tài chính",
        "fees",
    ),
    S.TRANSFERRED: (
        "Chuyển liên thông",
        "Đã chuyển xử lý liên thông",
        "Liên thông",
        "Chuyển cơ quan khác",
        "transferred to another agency",
    ),
    S.WITHDRAWN: ("Công dân yêu cầu rút hồ sơ", "Rút hồ sơ", "cancelled"),
    S.STOPPED: ("Dừng giải quyết", "Từ chối giải quyết"),
    S.RESOLVED: ("Đã xử lý xong", "Đã giải quyết", "Có kết quả", "done", "finished"),
    S.RETURNED: ("Trả kết quả", "Đã trả", "delivered"),
}


def _key(text: str) -> str:
    """Case, diacritics and separators do not matter: "Đang xử lý" = "dang_xu_ly"."""
    return _SEPARATORS.sub(" ", strip_diacritics(text).casefold()).strip()


class DossierChannel(StrEnum):
    """How a dossier reached the center (Tiếp nhận trực tiếp · Trực tuyến · Bưu chính)."""

    DIRECT = "direct"
    ONLINE = "online"
    POSTAL = "postal"

    def label(self, lang: str = "vi") -> str:
        return t(f"dossier.channel.{self.value}", lang)


#: The name the dossier API uses; ``server.protocol.Channel`` is the ticket channel.
Channel = DossierChannel

_CHANNEL_ALIASES: dict[DossierChannel, tuple[str, ...]] = {
    DossierChannel.DIRECT: ("Trực tiếp", "Nộp trực tiếp", "counter", "in person"),
    DossierChannel.ONLINE: (
        "Nộp trực tuyến",
        "Dịch vụ công trực tuyến",
        "Qua mạng",
        "Cổng dịch vụ công",
        "web",
        "internet",
    ),
    DossierChannel.POSTAL: (
        "Bưu chính",
        "Bưu chính công ích",
        "Qua bưu chính",
        "Qua bưu điện",
        "BCCI",
        "post",
        "postal service",
    ),
}


class _Labelled(Protocol):
    @property
    def value(self) -> str: ...

    def label(self, lang: str = "vi") -> str: ...


_E = TypeVar("_E", bound=_Labelled)


def _index(aliases: dict[_E, tuple[str, ...]]) -> dict[str, _E]:
    """Every accepted spelling → member; a spelling naming two members is a bug."""
    index: dict[str, _E] = {}
    for member, extra in aliases.items():
        labels = [member.label(lang) for lang in ("vi", "en")]
        for spelling in [str(member.value), *labels, *extra]:
            key = _key(spelling)
            if index.setdefault(key, member) is not member:
                raise RuntimeError(f"{spelling!r} names both {index[key]} and {member}")
    return index


@cache
def _status_index() -> dict[str, DossierStatus]:
    return _index(_STATUS_ALIASES)


@cache
def _channel_index() -> dict[str, DossierChannel]:
    return _index(_CHANNEL_ALIASES)


def _parse(
    text: str, index: dict[str, _E], members: Iterable[_E], error: type[BadRequest], what: str
) -> _E:
    found = index.get(_key(str(text)))
    if found is None:
        raise error(
            t(f"dossier.error.unknown_{what}", "vi", text=text), known=[m.value for m in members]
        )
    return found


def parse_status(text: str | DossierStatus) -> DossierStatus:
    """The status named by a code, a Vietnamese label (diacritics optional) or English."""
    if isinstance(text, DossierStatus):
        return text
    return _parse(text, _status_index(), DossierStatus, UnknownDossierStatus, "status")


def parse_channel(text: str | DossierChannel) -> DossierChannel:
    """The channel named by a code, a Vietnamese label (diacritics optional) or English."""
    if isinstance(text, DossierChannel):
        return text
    return _parse(text, _channel_index(), DossierChannel, UnknownDossierChannel, "channel")
