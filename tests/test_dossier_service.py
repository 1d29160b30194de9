"""Dossier use cases: due dates, idempotent events, pauses, delays, corrections, links,
statistics and the watch list — through the real domain functions on a real database."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from server import tickets
from server.clock import parse_iso
from server.dossiers import service
from server.dossiers.stats import dossier_stats, watch
from server.dossiers.status import InvalidDossierTransition
from server.errors import BadRequest, Conflict, Forbidden
from server.store import accounts as account_store
from tests.conftest import TZ
from tests.dossier_fixtures import CODE, catalog, dossier, event, events, outbox, put

__all__ = ["catalog"]


def local(text: str | None) -> datetime:
    assert text is not None
    return parse_iso(text).astimezone(TZ)


def test_received_dossier_gets_its_due_date_and_a_receipt_sms(catalog):
    out = put(catalog)
    assert out.created
    # Wed 25 Nov 09:00 + 10 working days (weekends skipped) = Wed 9 Dec 09:00
    assert local(out.dossier["due_at"]) == datetime(2026, 12, 9, 9, 0, tzinfo=TZ)
    [sms] = outbox(catalog)
    assert sms["kind"] == "received" and sms["status"] == "queued"
    assert sms["text"] == f"Hồ sơ {CODE} đã được tiếp nhận. Ngày hẹn trả: 09/12/2026."
    assert sms["text_ascii"] == f"Ho so {CODE} da duoc tiep nhan. Ngay hen tra: 09/12/2026."


def test_the_same_event_sent_twice_is_recorded_once(catalog, clock):
    put(catalog)
    clock.advance(hours=1)
    first = event(catalog, status="in_progress", event_id="stp-42")
    again = event(catalog, status="in_progress", event_id="stp-42")
    assert not first.duplicate and again.duplicate
    clock.advance(hours=1)
    at = catalog.now().isoformat()
    resolved = event(catalog, status="Đã có kết quả", at=at, note="Ký ngày 25/11")
    repeat = event(catalog, status="resolved", at=at, note="Ký ngày 25/11")
    assert not resolved.duplicate and repeat.duplicate
    assert [e["status"] for e in events(catalog)] == ["received", "in_progress", "resolved"]
    assert [n["kind"] for n in outbox(catalog)] == ["received", "ready"]


def test_a_move_the_workflow_does_not_allow_is_refused(catalog):
    put(catalog)
    with pytest.raises(InvalidDossierTransition) as err:
        event(catalog, status="returned")
    assert err.value.status == 409
    assert "Đã tiếp nhận" in err.value.message and "Đã trả kết quả" in err.value.message
    assert dossier(catalog)["status"] == "received"


def test_a_supplement_request_stops_the_clock_until_supplied(catalog, clock):
    put(catalog)
    with pytest.raises(BadRequest) as err:
        event(catalog, status="supplement_requested")
    assert err.value.code == "missing_needed"
    clock.advance(hours=2)  # Wed 11:00
    out = event(catalog, status="supplement_requested", missing="Bản sao CCCD có chứng thực")
    assert out.dossier["missing"] == "Bản sao CCCD có chứng thực"
    assert local(out.dossier["due_at"]) == datetime(2026, 12, 9, 9, 0, tzinfo=TZ)
    sms = outbox(catalog)[-1]
    assert sms["kind"] == "supplement" and "Bản sao CCCD có chứng thực" in sms["text"]
    clock.advance(days=2)  # Fri 11:00: two working days waiting for the citizen
    back = event(catalog, status="in_progress", note="Đã bổ sung")
    assert local(back.dossier["due_at"]) == datetime(2026, 12, 11, 9, 0, tzinfo=TZ)
    assert back.dossier["missing"] is None
    assert back.dossier["pauses"][0][1] is not None


def test_a_delay_needs_a_reason_and_a_later_return_date(catalog, clock):
    put(catalog)
    event(catalog, status="in_progress")
    with pytest.raises(BadRequest) as no_reason:
        event(catalog, type="delay", new_due_at="2026-12-20")
    assert no_reason.value.code == "delay_needs_reason"
    assert "lý do" in no_reason.value.message
    with pytest.raises(BadRequest) as no_date:
        event(catalog, type="delay", reason="chờ xác minh")
    assert no_date.value.code == "delay_needs_new_due"
    with pytest.raises(Conflict) as earlier:
        event(catalog, type="delay", reason="chờ xác minh", new_due_at="2026-12-01")
    assert earlier.value.code == "delay_date"
    assert dossier(catalog)["promised_at"] is None
    out = event(catalog, type="delay", reason="chờ xác minh nguồn gốc đất", new_due_at="18/12/2026")
    assert local(out.dossier["promised_at"]) == datetime(2026, 12, 18, 17, 0, tzinfo=TZ)
    again = event(
        catalog, type="delay", reason="chờ xác minh nguồn gốc đất", new_due_at="18/12/2026"
    )
    assert again.duplicate
    late = [n for n in outbox(catalog) if n["kind"] == "late"]
    assert len(late) == 1
    assert "do chờ xác minh nguồn gốc đất" in late[0]["text"]
    assert "Ngày hẹn trả mới: 18/12/2026" in late[0]["text"]
    assert late[0]["text"].startswith("Sở Tư pháp xin lỗi")
    event(catalog, status="resolved")
    with pytest.raises(Conflict) as finished:
        event(catalog, type="delay", reason="x", new_due_at="2027-01-10")
    assert finished.value.code == "delay_not_allowed"


def test_resolution_is_classified_early_on_time_or_late(catalog, clock):
    for n in (1, 2, 3):
        put(catalog, f"STP-{n}")
    clock.set(datetime(2026, 12, 8, 10, 0, tzinfo=TZ))
    assert event(catalog, "STP-1", status="resolved").dossier["timeliness"] == "early"
    clock.set(datetime(2026, 12, 9, 16, 0, tzinfo=TZ))  # due 09:00 the same day
    assert event(catalog, "STP-2", status="resolved").dossier["timeliness"] == "on_time"
    clock.set(datetime(2026, 12, 10, 8, 0, tzinfo=TZ))
    assert event(catalog, "STP-3", status="resolved").dossier["timeliness"] == "late"
    assert [n["kind"] for n in outbox(catalog)].count("ready") == 3


def test_a_supervisor_corrects_a_late_click_with_a_reason(catalog, clock):
    put(catalog)
    clock.set(datetime(2026, 12, 14, 9, 0, tzinfo=TZ))
    assert event(catalog, status="resolved").dossier["timeliness"] == "late"
    with pytest.raises(BadRequest):
        service.correct_status(
            catalog.db,
            catalog.cfg,
            CODE,
            service.S.RESOLVED,
            reason=None,
            at=None,
            actor="user:boss",
            now=catalog.now(),
        )
    real = datetime(2026, 12, 8, 15, 0, tzinfo=TZ)
    out = service.correct_status(
        catalog.db,
        catalog.cfg,
        CODE,
        service.S.RESOLVED,
        reason="Cán bộ bấm nhầm; kết quả ký ngày 08/12",
        at=real,
        actor="user:boss",
        now=catalog.now(),
    )
    assert out.dossier["timeliness"] == "early"
    assert local(out.dossier["finished_at"]) == real
    [fix] = [e for e in events(catalog) if e["kind"] == "correction"]
    assert fix["reason"].startswith("Cán bộ bấm nhầm") and fix["from_status"] == "resolved"
    with catalog.db.read() as conn:
        [row] = account_store.audit(conn, action="dossier_corrected")
    assert row["target"] == CODE and row["actor"] == "user:boss"
    assert "bấm nhầm" in row["detail"]
    assert [n["kind"] for n in outbox(catalog)].count("ready") == 1  # no SMS for a fix


def test_a_sync_records_the_steps_a_department_skipped(catalog, clock):
    put(catalog)
    clock.advance(hours=3)
    out = put(catalog, status="Đã trả kết quả", at=catalog.now().isoformat())
    assert [e["status"] for e in out.events] == ["resolved", "returned"]
    assert out.events[0]["note"].startswith("Bước trung gian")
    assert out.dossier["timeliness"] == "early" and out.dossier["returned_at"]
    again = put(catalog, status="returned")
    assert again.events == [] and not again.created
    # only the last step texts the citizen, and "returned" needs no SMS
    assert [n["kind"] for n in outbox(catalog)] == ["received"]


def test_a_department_key_touches_only_its_own_dossiers(catalog):
    put(catalog, scope="STP")
    with pytest.raises(Forbidden):
        event(catalog, status="in_progress", scope="SXD")
    with pytest.raises(Forbidden):
        put(catalog, "SXD-1", procedure="STP-LLTP", scope="SXD")
    assert put(catalog, "SXD-1", procedure="SXD-GPXD", scope="SXD").created


def test_an_event_older_than_the_current_status_is_refused(catalog, clock):
    put(catalog)
    clock.advance(hours=4)
    event(catalog, status="in_progress")
    old = (catalog.now() - timedelta(hours=2)).isoformat()
    with pytest.raises(Conflict) as err:
        event(catalog, status="resolved", at=old)
    assert err.value.code == "out_of_order"


def test_codes_from_a_finished_ticket_link_now_or_when_the_dossier_arrives(catalog):
    put(catalog)
    t = tickets.issue(catalog.db, catalog.cfg, service="HT", now=catalog.now())
    with pytest.raises(BadRequest):
        service.link_codes(catalog.db, t["id"], [CODE, "bad\x00code"], actor="x", now=catalog.now())
    assert dossier(catalog)["ticket_id"] is None
    result = service.link_codes(
        catalog.db, t["id"], [CODE.lower(), " stp-later "], actor="x", now=catalog.now()
    )
    assert result == {"linked": [CODE], "pending": ["STP-LATER"]}
    assert dossier(catalog)["ticket_id"] == t["id"]
    assert put(catalog, "STP-LATER").dossier["ticket_id"] == t["id"]


def test_dossier_stats_by_channel_timeliness_and_department(catalog, clock):
    put(catalog, "A-1", channel="direct")
    put(catalog, "A-2", channel="online")
    put(catalog, "A-3", channel="Qua bưu điện")
    put(catalog, "B-1", procedure="SXD-GPXD", channel="online")
    clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=TZ))
    event(catalog, "A-1", status="resolved")
    clock.set(datetime(2026, 12, 15, 10, 0, tzinfo=TZ))
    event(catalog, "A-2", status="resolved")
    stats = dossier_stats(
        catalog.db, catalog.cfg, date(2026, 11, 1), date(2026, 11, 30), now=catalog.now()
    )
    totals = stats["totals"]
    assert totals["received"]["total"] == 4
    assert totals["received"]["by_channel"]["online"] == {"count": 2, "pct": 50.0}
    assert totals["received"]["by_channel"]["postal"] == {"count": 1, "pct": 25.0}
    assert totals["resolved"]["total"] == 0
    assert totals["in_progress"] == 4 and totals["overdue"] == 0
    december = dossier_stats(
        catalog.db,
        catalog.cfg,
        date(2026, 12, 1),
        date(2026, 12, 31),
        "department",
        now=catalog.now(),
    )
    assert december["totals"]["resolved"]["early"] == {"count": 1, "pct": 50.0}
    assert december["totals"]["resolved"]["late"] == {"count": 1, "pct": 50.0}
    assert december["totals"]["in_progress"] == 2
    assert december["totals"]["overdue"] == 1  # due 9 Dec, still open on 15 Dec
    by_dep = {g["key"]: g for g in december["groups"]}
    assert by_dep["STP"]["name"] == "Sở Tư pháp" and by_dep["STP"]["overdue"] == 1
    assert by_dep["SXD"]["in_progress"] == 1 and by_dep["SXD"]["overdue"] == 0
    with pytest.raises(BadRequest):
        dossier_stats(catalog.db, catalog.cfg, date(2026, 12, 1), date(2026, 12, 31), "staff")


def test_the_watch_lists_idle_and_soon_due_dossiers(catalog, clock):
    put(catalog, "IDLE", received_at="2026-11-16T08:00:00+07:00", at="2026-11-16T08:00:00+07:00")
    put(catalog, "FRESH")
    put(catalog, "SXD-1", procedure="SXD-GPXD")
    clock.set(datetime(2026, 12, 8, 9, 0, tzinfo=TZ))
    event(catalog, "FRESH", status="in_progress")
    event(catalog, "SXD-1", status="in_progress")
    result = watch(catalog.db, catalog.cfg, catalog.now())
    items = {i["code"]: i for i in result["items"]}
    # due early December, idle since 16 Nov, and nobody apologised
    assert items["IDLE"]["reasons"] == ["overdue", "stale", "no_apology"]
    assert items["FRESH"]["reasons"] == ["due_soon"]  # due 9 Dec, moved today
    assert "SXD-1" not in items
    sxd = watch(catalog.db, catalog.cfg, catalog.now(), department="SXD", due_days=10)
    assert [i["code"] for i in sxd["items"]] == ["SXD-1"]
