"""Demo dossiers for `motcua demo`: the sample departments of the glossary, real-sounding
procedures with their legal time limits, and ~50 dossiers spread over every status —
received, in progress, waiting for a supplement, resolved early and late, delayed with
an apology — so the lookup screen, the watch list and the reports have something true
to show.  Built through the same use cases as real data (no SMS is queued)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from server.clock import iso
from server.config import Config
from server.dossiers import settings as dsettings
from server.dossiers.inputs import DossierFields, EventInput
from server.dossiers.service import apply_event, apply_put
from server.dossiers.state import Tx
from server.dossiers.status import DossierChannel, DossierStatus
from server.store import Database
from server.store import dossiers as store

S = DossierStatus

DEPARTMENTS = [
    ("STP", "Sở Tư pháp", 6),
    ("VPDKDD", "Sở Tài nguyên và Môi trường (Văn phòng đăng ký đất đai)", 7),
    ("SKHDT", "Sở Kế hoạch và Đầu tư", 8),
    ("SXD", "Sở Xây dựng", 9),
    ("SGTVT", "Sở Giao thông vận tải", 10),
    ("SLDTBXH", "Sở Lao động – Thương binh và Xã hội", 11),
    ("DIENLUC", "Công ty Điện lực", 12),
]
#: (code, department, name, limit in working days)
PROCEDURES = [
    ("1.001234", "STP", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam", 10),
    ("2.000815", "STP", "Chứng thực bản sao từ bản chính giấy tờ, văn bản", 0.5),
    ("1.000893", "STP", "Đăng ký khai sinh có yếu tố nước ngoài", 15),
    (
        "1.004227",
        "VPDKDD",
        "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất",
        10,
    ),
    ("1.004238", "VPDKDD", "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu", 30),
    ("2.001610", "SKHDT", "Đăng ký thành lập doanh nghiệp tư nhân", 3),
    ("2.002038", "SKHDT", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp", 3),
    ("1.009972", "SXD", "Cấp giấy phép xây dựng nhà ở riêng lẻ", 15),
    ("1.002804", "SGTVT", "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp", 5),
    ("1.002820", "SGTVT", "Cấp giấy phép lái xe quốc tế", 5),
    ("1.000459", "SLDTBXH", "Cấp giấy phép lao động cho người lao động nước ngoài", 5),
    ("1.001978", "SLDTBXH", "Giải quyết hưởng trợ cấp thất nghiệp", 20),
    ("DL.0001", "DIENLUC", "Cấp điện mới từ lưới điện hạ áp", 4),
]
FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quốc", "Thị Thu", "Xuân"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hà",
    "Hạnh",
    "Hoa",
    "Hùng",
    "Lan",
    "Linh",
    "Mai",
    "Nam",
    "Phương",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Yến",
]
#: What a supplement request asks for, by procedure: only papers that procedure needs
#: (a birth registration never asks for a construction drawing).
MISSING = {
    "1.001234": ["Bản sao Căn cước công dân", "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp"],
    "2.000815": ["Bản chính giấy tờ để đối chiếu"],
    "1.000893": [
        "Giấy chứng sinh do cơ sở y tế cấp",
        "Văn bản thỏa thuận chọn quốc tịch cho con của cha, mẹ",
    ],
    "1.004227": [
        "Hợp đồng chuyển nhượng quyền sử dụng đất có công chứng",
        "Bản gốc Giấy chứng nhận quyền sử dụng đất đã cấp",
    ],
    "1.004238": [
        "Sơ đồ vị trí thửa đất có xác nhận của UBND cấp xã",
        "Giấy tờ về nguồn gốc sử dụng đất",
    ],
    "2.001610": ["Bản sao giấy tờ pháp lý của chủ doanh nghiệp tư nhân"],
    "2.002038": ["Quyết định của chủ sở hữu về việc thay đổi nội dung đăng ký"],
    "1.009972": [
        "Bản vẽ thiết kế có chữ ký của chủ đầu tư",
        "Bản sao giấy tờ chứng minh quyền sử dụng đất",
    ],
    "1.002804": ["Giấy khám sức khỏe của người lái xe", "Bản chính giấy phép lái xe"],
    "1.002820": ["Ảnh chân dung 3x4 nền màu trắng", "Bản sao hộ chiếu còn thời hạn"],
    "1.000459": ["Giấy chứng nhận sức khỏe", "Văn bản chấp thuận nhu cầu sử dụng lao động"],
    "1.001978": ["Sổ bảo hiểm xã hội", "Bản sao quyết định thôi việc"],
    "DL.0001": ["Giấy tờ chứng minh quyền sử dụng nơi cần cấp điện"],
}
DELAY_REASONS = [
    "cần xác minh thêm nguồn gốc đất với UBND cấp xã",
    "chờ ý kiến của cơ quan phối hợp",
]
#: (final status, extra) repeated to make ~50 dossiers; "late" resolves after the due date.
PLAN = (
    [("received", None)] * 6
    + [("in_progress", None)] * 12
    + [("in_progress", "delay")] * 2
    + [("supplement_requested", None)] * 5
    + [("fees_due", None)] * 2
    + [("resolved", "early")] * 6
    + [("resolved", "late")] * 3
    + [("returned", None)] * 6
    + [("not_accepted", None)] * 2
    + [("withdrawn", None)]
    + [("stopped", None)]
    + [("registered", None)] * 3
)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def _phone(rng: random.Random) -> str:
    return (
        rng.choice(["090", "091", "093", "097", "098", "086", "088"])
        + f"{rng.randrange(10**7):07d}"
    )


def _setup(tx: Tx) -> None:
    at = iso(tx.now)
    for code, name, _ in DEPARTMENTS:
        store.upsert_department(tx.conn, {"code": code, "name": name, "created_at": at})
    for code, dep, name, days in PROCEDURES:
        store.upsert_procedure(
            tx.conn,
            {"code": code, "name": name, "department": dep, "limit_days": days, "created_at": at},
        )


def _one(tx: Tx, rng: random.Random, i: int, final: str, extra: str | None) -> str | None:
    cal = dsettings.calendar(tx.cfg)
    proc = rng.choice(PROCEDURES)
    if final in ("resolved", "returned") and proc[3] < 1:
        proc = PROCEDURES[0]
    dep_code, _, agency = next(d for d in DEPARTMENTS if d[0] == proc[1])
    limit = proc[3]
    back = int(limit * (1.4 if extra == "late" else 0.6)) + rng.randint(1, 4)
    if final in ("received", "registered"):
        back = rng.randint(0, 1)
    received = tx.now - timedelta(days=back * 7 / 5 + rng.random())
    received = cal.add_working_time(received)  # the next working instant
    if received >= tx.now:
        received = tx.now - timedelta(hours=rng.randint(1, 3))
    code = f"000.00.{agency:02d}.H56-{received.astimezone(cal.tz):%y%m%d}-{i:04d}"
    channel = rng.choice(list(DossierChannel)) if final != "registered" else DossierChannel.ONLINE
    fields = DossierFields(
        procedure=proc[0],
        applicant=_name(rng),
        phone=_phone(rng),
        channel=channel,
        received_at=received if final != "registered" else None,
    )
    first = S.REGISTERED if final in ("registered", "not_accepted") else S.RECEIVED
    at = received
    apply_put(tx, code, fields, EventInput("status", first, at=at), None)
    due = cal.add_working_time(received, days=limit)

    def step(status: S, hours: float, **kw: Any) -> bool:
        nonlocal at
        nxt = cal.add_working_time(at, hours=hours)
        if nxt >= tx.now:
            return False
        at = nxt
        apply_event(tx, code, EventInput("status", status, at=at, **kw), None)
        return True

    if final == "not_accepted":
        step(S.NOT_ACCEPTED, 2, reason="Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan")
    elif final == "withdrawn":
        step(S.WITHDRAWN, 6, note="Công dân có đơn xin rút hồ sơ")
    if final in ("received", "registered", "not_accepted", "withdrawn"):
        return code
    if limit >= 1:
        step(S.IN_PROGRESS, rng.uniform(1, 6))
    if final == "stopped":
        step(S.STOPPED, 8, reason="Công dân không bổ sung hồ sơ trong thời hạn")
    elif final == "supplement_requested":
        step(S.SUPPLEMENT_REQUESTED, rng.uniform(2, 8), missing=rng.choice(MISSING[proc[0]]))
    elif final == "fees_due":
        step(S.FEES_DUE, rng.uniform(2, 8), note="Chờ nộp lệ phí trước bạ")
    elif extra == "delay" and at < due:
        new_due = cal.add_working_time(due, days=rng.randint(3, 7))
        apply_event(
            tx,
            code,
            EventInput("delay", at=at, reason=rng.choice(DELAY_REASONS), new_due_at=new_due),
            None,
        )
    elif final in ("resolved", "returned"):
        total = limit * 8
        span = total * (1.15 if extra == "late" else rng.uniform(0.4, 0.9))
        if (
            step(S.RESOLVED, max(1.0, span - (at - received).total_seconds() / 3600))
            and final == "returned"
        ):
            step(S.RETURNED, rng.uniform(1, 10))
    return code


def demo_dossiers(db: Database, cfg: Config, now: datetime, *, seed: int = 2026) -> list[str]:
    """Create the demo dossiers once; returns three codes to try (in progress, ready,
    supplement requested), of three different departments (so procedures) when there are."""
    rng = random.Random(seed)
    with db.write() as conn:
        existing = store.count_dossiers(conn)
        tx = Tx(conn, cfg, now, "demo", "demo", notify=False)
        if not existing:
            _setup(tx)
            for i, (final, extra) in enumerate(PLAN, start=1):
                _one(tx, rng, i, final, extra)
        samples: list[str] = []
        shown: tuple[str, ...] = ()
        for status in ("in_progress", "resolved", "supplement_requested"):
            found = store.first_code_with_status(conn, status, shown)
            if found:
                samples.append(found[0])
                shown += (found[1],)
    return samples
