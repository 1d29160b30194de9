"""The hall board's state model: order, duplicates, gaps, zones and the announce policy."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from display.payload import BoardPayloadError
from display.state import BoardState, CallStatus

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 23, 9, 30, 0, tzinfo=TZ)


def call(
    seq: int,
    label: str | None = None,
    counter: int = 5,
    *,
    at: datetime = NOW,
    zone: str | None = "A",
    recall: bool = False,
    ticket_id: int | None = None,
    prev: int | None = None,
) -> dict[str, Any]:
    label = label or str(1000 + seq)
    extra = {} if prev is None else {"prev_seq": prev}
    return extra | {
        "seq": seq,
        "ticket_id": ticket_id if ticket_id is not None else seq,
        "label": label,
        "counter": counter,
        "counter_name": f"Quầy {counter}",
        "service": "HT",
        "service_name": "Hộ tịch – Tư pháp",
        "recall": recall,
        "at": at.isoformat(),
        "text": f"Xin mời công dân có số thứ tự {label} đến quầy số {counter}",
        "audio_url": f"/api/v1/audio/{seq}.wav",
        "zone": zone,
    }


def counter(number: int, zone: str = "A", state: str = "open", **extra: Any) -> dict[str, Any]:
    return {
        "number": number,
        "name": f"Quầy {number}",
        "zone": zone,
        "services": extra.pop("services", ["HT"]),
        "state": state,
        "pause_reason": extra.pop("pause_reason", None),
        "serving": extra.pop("serving", None),
    }


SERVICES = [
    {
        "code": "HT",
        "name_vi": "Hộ tịch – Tư pháp",
        "name_en": "Civil status",
        "open": True,
        "waiting": 12,
        "estimated_wait_min": 15,
    },
    {
        "code": "DD",
        "name_vi": "Đất đai",
        "name_en": "Land",
        "open": True,
        "waiting": 3,
        "estimated_wait_min": 20,
    },
]


def snapshot(seq: int = 10, calls: list[dict[str, Any]] | None = None, **extra: Any) -> dict:
    return {
        "seq": seq,
        "calls": calls if calls is not None else [],
        "counters": extra.pop("counters", [counter(5), counter(6)]),
        "services": extra.pop("services", SERVICES),
        "zone": extra.pop("zone", "A"),
        "center": extra.pop("center", "Trung tâm Phục vụ hành chính công tỉnh Bắc Ninh"),
        "notice": extra.pop("notice", "Giờ nhận hồ sơ: sáng 7:00–11:30"),
        **extra,
    }


def labels(calls: Any) -> list[str]:
    return [c.label for c in calls]


def test_new_call_becomes_current_and_heads_recent_list() -> None:
    state = BoardState()
    state.apply_snapshot(snapshot(10, [call(9, at=NOW - timedelta(minutes=5))]), NOW)

    outcome = state.apply_call(call(11, "1012"), NOW)

    assert outcome.status is CallStatus.NEW
    assert labels(outcome.applied) == ["1012"]
    assert outcome.resync_after is None
    assert state.current_call is not None and state.current_call.label == "1012"
    assert state.current_call.arrived_at == NOW
    assert labels(state.recent_calls) == ["1012", "1009"]
    assert state.last_seq == 11


def test_duplicate_calls_are_ignored_and_never_shown_twice() -> None:
    state = BoardState()
    state.apply_snapshot(snapshot(10), NOW)
    state.apply_call(call(11), NOW)

    again = state.apply_call(call(11), NOW + timedelta(seconds=1))
    older = state.apply_call(call(4), NOW + timedelta(seconds=1))

    assert again.status is CallStatus.DUPLICATE and again.applied == ()
    assert older.status is CallStatus.DUPLICATE
    assert labels(state.recent_calls) == ["1011"]
    assert state.current_call is not None and state.current_call.arrived_at == NOW


def test_gap_asks_for_resync_and_buffers_until_filled_in_order() -> None:
    state = BoardState()
    state.apply_snapshot(snapshot(10, [call(10, at=NOW - timedelta(minutes=1))]), NOW)

    first = state.apply_call(call(13), NOW)
    second = state.apply_call(call(14), NOW)

    assert first.status is CallStatus.GAP and first.resync_after == 10
    assert second.status is CallStatus.GAP and second.resync_after is None
    assert state.awaiting_resync
    assert state.current_call is not None and state.current_call.label == "1010"
    assert state.apply_call(call(13), NOW).status is CallStatus.DUPLICATE

    filled_11 = state.apply_call(call(11), NOW)
    filled_12 = state.apply_call(call(12), NOW)

    assert labels(filled_11.applied) == ["1011"]
    assert labels(filled_12.applied) == ["1012", "1013", "1014"]
    assert state.current_call.label == "1014"
    assert labels(state.recent_calls) == ["1014", "1013", "1012", "1011", "1010"]
    assert state.last_seq == 14 and not state.awaiting_resync


def test_unanswered_resync_is_asked_again_then_given_up_in_order() -> None:
    state = BoardState(resync_retry_s=5, gap_timeout_s=30)
    state.apply_snapshot(snapshot(10), NOW)
    state.apply_call(call(12), NOW)
    state.apply_call(call(13), NOW)

    assert state.tick(NOW + timedelta(seconds=2)).resync_after is None
    assert state.tick(NOW + timedelta(seconds=6)).resync_after == 10
    assert state.tick(NOW + timedelta(seconds=8)).resync_after is None
    given_up = state.tick(NOW + timedelta(seconds=31))

    assert given_up.status is CallStatus.NEW
    assert labels(given_up.applied) == ["1012", "1013"]
    assert state.current_call is not None and state.current_call.label == "1013"
    assert state.apply_call(call(11), NOW + timedelta(seconds=32)).status is CallStatus.DUPLICATE
    assert state.tick(NOW + timedelta(seconds=40)).status is CallStatus.IDLE


def test_zone_stream_skips_global_seqs_without_a_gap_when_prev_seq_says_so() -> None:
    state = BoardState()
    state.apply_snapshot(snapshot(3), NOW)

    first = state.apply_call(call(5, prev=3), NOW)
    second = state.apply_call(call(9, prev=5), NOW)

    assert first.status is second.status is CallStatus.NEW
    assert first.resync_after is None and second.resync_after is None
    assert labels(state.recent_calls) == ["1009", "1005"]


def test_prev_seq_reveals_a_gap_in_a_zone_stream_and_fills_it_in_order() -> None:
    state = BoardState()
    state.apply_snapshot(snapshot(3), NOW)

    gap = state.apply_call(call(9, prev=6), NOW)
    filled = state.apply_call(call(6, prev=3), NOW)

    assert gap.status is CallStatus.GAP and gap.resync_after == 3
    assert labels(filled.applied) == ["1006", "1009"]
    assert state.last_seq == 9 and not state.awaiting_resync


def test_giving_up_on_a_gap_keeps_waiting_for_a_second_hole() -> None:
    state = BoardState(gap_timeout_s=30)
    state.apply_snapshot(snapshot(3), NOW)
    state.apply_call(call(6, prev=5), NOW)
    state.apply_call(call(9, prev=8), NOW)

    given_up = state.tick(NOW + timedelta(seconds=31))

    assert labels(given_up.applied) == ["1006"] and given_up.resync_after == 6
    assert state.awaiting_resync
    assert labels(state.apply_call(call(8, prev=6), NOW).applied) == ["1008", "1009"]
    assert state.tick(NOW + timedelta(seconds=40)).status is CallStatus.IDLE


def test_snapshot_replaces_everything() -> None:
    state = BoardState()
    state.apply_snapshot(snapshot(10, [call(10)], counters=[counter(5), counter(6)]), NOW)
    state.apply_call(call(11), NOW)

    state.apply_snapshot(
        snapshot(
            40,
            [call(39, "2039", 7), call(40, "2040", 8)],
            counters=[counter(7), counter(8)],
            center="Trung tâm mới",
            notice="",
        ),
        NOW,
    )

    assert state.last_seq == 40
    assert state.current_call is not None and state.current_call.label == "2040"
    assert labels(state.recent_calls) == ["2040", "2039"]
    assert [c.number for c in state.counters] == [7, 8]
    assert state.center == "Trung tâm mới" and state.notice == ""


def test_snapshot_answering_a_gap_releases_buffered_calls_after_it() -> None:
    state = BoardState()
    state.apply_snapshot(snapshot(10), NOW)
    state.apply_call(call(600), NOW)
    state.apply_call(call(602), NOW)

    released = state.apply_snapshot(snapshot(601, [call(601, at=NOW)]), NOW)

    assert labels(released) == ["1601", "1602"]
    assert state.last_seq == 602 and not state.awaiting_resync
    assert labels(state.recent_calls) == ["1602", "1601"]


def test_first_snapshot_is_silent_but_a_reconnect_returns_unseen_calls() -> None:
    state = BoardState()
    boot = state.apply_snapshot(snapshot(10, [call(10, at=NOW)]), NOW)
    assert boot == []
    assert state.current_call is not None and state.current_call.arrived_at is None

    later = NOW + timedelta(minutes=15)
    fresh = state.apply_snapshot(
        snapshot(12, [call(10), call(11, at=NOW), call(12, at=later - timedelta(seconds=3))]),
        later,
    )

    assert labels(fresh) == ["1012"]
    assert state.should_announce(fresh[0], later)
    assert labels(state.recent_calls) == ["1012", "1011", "1010"]
    assert state.current_call is not None and state.current_call.arrived_at == later
    assert state.recent_calls[1].arrived_at is None  # too old to flash as new


def test_board_zone_filters_counters_calls_and_services() -> None:
    state = BoardState()
    state.apply_snapshot(
        snapshot(
            10,
            counters=[counter(1, "A", services=["HT"]), counter(2, "B", services=["DD"])],
        ),
        NOW,
    )

    other_zone = state.apply_call(call(11, counter=2, zone="B"), NOW)
    own_zone = state.apply_call(call(12, counter=1, zone="A"), NOW)

    assert [c.number for c in state.counters] == [1]
    assert [s.code for s in state.zone_services] == ["HT"]
    assert other_zone.status is CallStatus.NEW and other_zone.applied == ()
    assert labels(own_zone.applied) == ["1012"]
    assert labels(state.recent_calls) == ["1012"]
    assert state.last_seq == 12


def test_board_without_zone_shows_every_zone() -> None:
    state = BoardState()
    state.apply_snapshot(snapshot(10, zone=None, counters=[counter(1, "A"), counter(2, "B")]), NOW)
    state.apply_call(call(11, zone="B"), NOW)

    assert [c.number for c in state.counters] == [1, 2]
    assert labels(state.recent_calls) == ["1011"]
    assert len(state.zone_services) == 2


def test_counter_and_queue_events_update_what_the_board_shows() -> None:
    state = BoardState()
    state.apply_snapshot(snapshot(10, counters=[counter(5), counter(6)]), NOW)

    state.apply_counter({"counter": counter(5, state="paused", pause_reason="meeting")})
    state.apply_counter({"counter": counter(6, serving={"label": "1012", "status": "called"})})
    state.apply_counter({"counter": counter(9, "A")})
    state.apply_queue({"services": [dict(SERVICES[0], waiting=4)]})

    paused, serving, added = state.counters
    assert paused.is_paused and paused.pause_reason == "meeting"
    assert serving.serving is not None and serving.serving.label == "1012"
    assert added.number == 9
    assert [(s.code, s.waiting) for s in state.services] == [("HT", 4)]

    state.apply_counter({"counter": counter(9, "B")})
    assert [c.number for c in state.counters] == [5, 6]


def test_numbered_queue_summaries_never_go_back_and_a_call_carries_one() -> None:
    """A call's summary and a flush's may arrive out of order: the board keeps the
    newer; a new snapshot (a reconnect, perhaps to a restarted server) starts over."""
    state = BoardState()
    state.apply_snapshot(snapshot(10, queue_version=5), NOW)

    def waiting() -> list[tuple[str, int]]:
        return [(s.code, s.waiting) for s in state.services]

    in_call = {"services": [dict(SERVICES[0], waiting=11)], "version": 7}
    state.apply_call(call(11, counter=5) | {"queue": in_call}, NOW)
    assert waiting() == [("HT", 11)]
    state.apply_queue({"services": [dict(SERVICES[0], waiting=12)], "version": 6})  # older
    assert waiting() == [("HT", 11)]
    state.apply_queue({"services": [dict(SERVICES[0], waiting=10)], "version": 8})
    assert waiting() == [("HT", 10)]
    outcome = state.apply_call(call(12, counter=5) | {"queue": "broken"}, NOW)
    assert outcome.status is CallStatus.NEW and waiting() == [("HT", 10)]

    state.apply_snapshot(snapshot(12, queue_version=1), NOW)  # the server restarted
    state.apply_queue({"services": [dict(SERVICES[1], waiting=2)], "version": 2})
    assert waiting() == [("DD", 2)]


def test_old_calls_appear_but_are_not_announced() -> None:
    state = BoardState(announce_max_age_s=60)
    state.apply_snapshot(snapshot(10), NOW)

    stale = state.apply_call(call(11, at=NOW - timedelta(seconds=120)), NOW)
    fresh = state.apply_call(call(12, at=NOW - timedelta(seconds=2)), NOW)

    assert labels(state.recent_calls) == ["1012", "1011"]
    assert state.should_announce(stale.applied[0], NOW) is False
    assert state.should_announce(fresh.applied[0], NOW) is True


def test_recall_is_announced_again_and_moves_the_ticket_up() -> None:
    state = BoardState()
    state.apply_snapshot(snapshot(10), NOW)
    first = state.apply_call(call(11, "1012", ticket_id=77), NOW)
    state.apply_call(call(12, "1013", counter=6, ticket_id=78), NOW)

    later = NOW + timedelta(minutes=2)
    recall = state.apply_call(call(13, "1012", ticket_id=77, recall=True, at=later), later)

    assert recall.status is CallStatus.NEW
    assert state.should_announce(recall.applied[0], later)
    assert not state.should_announce(first.applied[0], later)
    assert labels(state.recent_calls) == ["1012", "1013"]
    assert state.recent_calls[0].recall


def test_clock_offset_corrects_a_board_clock_that_runs_fast() -> None:
    server_time = NOW
    board_time = NOW + timedelta(minutes=5)
    state = BoardState(clock_offset_s=300)
    state.apply_snapshot(snapshot(10), board_time)

    outcome = state.apply_call(call(11, at=server_time), board_time)

    assert state.should_announce(outcome.applied[0], board_time)


def test_recent_list_keeps_the_last_eight() -> None:
    state = BoardState()
    state.apply_snapshot(snapshot(0), NOW)
    for seq in range(1, 13):
        state.apply_call(call(seq), NOW)

    assert labels(state.recent_calls) == [str(1000 + s) for s in range(12, 4, -1)]


@pytest.mark.parametrize(
    "payload",
    [
        {k: v for k, v in call(11).items() if k != "seq"},
        dict(call(11), at="hôm nay"),
        dict(call(11), at="2026-11-23T09:30:00"),
        dict(call(11), counter="năm"),
    ],
)
def test_malformed_call_is_rejected_with_a_clear_error(payload: dict[str, Any]) -> None:
    state = BoardState()
    state.apply_snapshot(snapshot(10), NOW)

    with pytest.raises(BoardPayloadError):
        state.apply_call(payload, NOW)
    assert state.last_seq == 10 and state.current_call is None
