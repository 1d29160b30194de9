"""The web hall board in a real browser (1920×1080): the main call follows what is true
now (issue 16.3) and everything is readable from 10 m (issue 16.10)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.board_fixtures import Hall, make_hall, wait_for

WAITING = "Xin ông/bà vui lòng chờ số tiếp theo"
DEMO_SERVICES = [
    "Đất đai",
    "Hộ tịch – Tư pháp",
    "Công chứng, chứng thực",
    "Đăng ký kinh doanh",
    "Xây dựng",
    "Giao thông vận tải",
    "Lao động – Việc làm",
    "Trả kết quả",
]

#: Every element on the stage that draws text of its own: (text, font px, overflowing?)
TEXTS_JS = """() => {
  const out = [];
  for (const node of document.querySelectorAll('#bd-board *')) {
    if (node.closest('[hidden]') || node.offsetParent === null) continue;
    const own = Array.from(node.childNodes).filter((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own.length) continue;
    const style = getComputedStyle(node);
    if (node.closest('.bd-notice')) continue;  // the scrolling notice: a marquee
    const block = style.display !== 'inline';
    out.push([node.textContent.trim(), parseFloat(style.fontSize),
              block && (node.scrollWidth > node.clientWidth + 1
                        || node.scrollHeight > node.clientHeight + 1),
              node.id || node.className]);
  }
  return out;
}"""

#: Column items whose content (a wrapped line, a name) sticks out of the item's box
SPILLING_JS = """() => Array.from(document.querySelectorAll('.bd-list > li, .bd-recent > li'))
  .filter((li) => li.scrollWidth > li.clientWidth + 1 || li.scrollHeight > li.clientHeight + 1)
  .map((li) => li.textContent)"""


@pytest.fixture
def hall(live_server) -> Hall:
    return make_hall(live_server)


@pytest.fixture
def tv(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == []


def open_board(page, hall: Hall) -> None:
    page.goto(f"{hall.url}/board/pair?token={hall.board}")
    wait_for(lambda: page.evaluate("!!(window.motcuaBoard && window.motcuaBoard.state.baseline)"))


def current(page) -> str:
    return page.locator("#bd-current").inner_text()


def mark(page, label: str) -> str:
    return page.locator(f"#bd-recent [data-label='{label}'] .bd-recent-mark").inner_text()


@pytest.mark.browser
def test_web_board_main_call_follows_no_show_pause_and_finish(hall, tv, tmp_path: Path) -> None:
    first, second = hall.issue("DD", 2)
    open_board(tv, hall)
    call = hall.call(1)
    wait_for(lambda: first["label"] in current(tv) and "Quầy 1" in current(tv))
    hall.ticket(call["ticket_id"], "no-show")
    hall.pause(1, "break")
    wait_for(lambda: WAITING in current(tv))
    assert first["label"] not in current(tv)
    wait_for(lambda: mark(tv, first["label"]) == "Vắng mặt")
    row = tv.locator(f"#bd-recent [data-label='{first['label']}']")
    assert "bd-ended-no_show" in (row.get_attribute("class") or "")
    tile = tv.locator("#bd-counters [data-counter='1']").inner_text()
    assert "Tạm nghỉ" in tile and "Nghỉ giải lao" in tile
    tv.screenshot(path=str(tmp_path / "web-after-no-show.png"))
    # a reload shows the same truth
    tv.reload()
    wait_for(lambda: tv.evaluate("!!(window.motcuaBoard && window.motcuaBoard.state.baseline)"))
    wait_for(lambda: WAITING in current(tv))
    assert mark(tv, first["label"]) == "Vắng mặt"
    # the next call elsewhere is the main call; once finished, it ends too
    nxt = hall.call(2)
    wait_for(lambda: second["label"] in current(tv) and "Quầy 2" in current(tv))
    hall.ticket(nxt["ticket_id"], "finish")
    wait_for(lambda: WAITING in current(tv))
    wait_for(lambda: mark(tv, second["label"]) == "Đã xong")


@pytest.mark.browser
def test_web_board_is_readable_from_ten_metres(hall, tv, tmp_path: Path) -> None:
    for service, n in (("DD", 3), ("HT", 12), ("CC", 1), ("GT", 2)):
        hall.issue(service, n)
    hall.call(3)
    hall.pause(2, "assisting")
    open_board(tv, hall)
    wait_for(lambda: "2001" in current(tv))
    tv.evaluate("document.fonts.ready")
    drawn = tv.evaluate(TEXTS_JS)
    assert drawn
    for text, size, overflowing, where in drawn:
        assert size >= 40, (text, size, where)
        assert not overflowing, (text, where)
        assert "…" not in text or text == "Đang kết nối lại…", (text, where)
    # no item hangs out of its column (cut off at the bottom)
    hanging = tv.evaluate(
        """() => Array.from(document.querySelectorAll('.bd-list > li, .bd-recent > li'))
          .filter((li) => li.getBoundingClientRect().bottom
                          > li.parentElement.getBoundingClientRect().bottom + 1)
          .map((li) => li.textContent)"""
    )
    assert hanging == []
    assert tv.evaluate(SPILLING_JS) == []
    services = tv.locator("#bd-services").inner_text()
    for name in DEMO_SERVICES:  # all eight at once: they fit
        assert name in services
    assert tv.locator("#bd-services-pager").is_hidden()
    # ten counters do not fit: they turn pages, and the page and its time show
    pager = tv.locator("#bd-counters-pager")
    assert pager.is_visible()
    pages = int(pager.get_attribute("data-pages") or 0)
    assert 1 < pages <= 2 and pager.inner_text().startswith("Trang ")
    assert pager.inner_text().endswith(f"/{pages}")
    assert (
        tv.locator("#bd-counters-pager .bd-page-bar i").evaluate(
            "(e) => getComputedStyle(e).animationName"
        )
        == "bd-page"
    )
    # over the rotation every counter shows, its services or pause reason whole
    layout = tv.evaluate("window.motcuaBoard.view.pagesOf('counters')")
    assert len(layout) == pages
    assert sorted(int(n) for page in layout for n in page) == list(range(1, 11))
    assert len(layout[0]) >= 5, layout  # dense: one line per counter when they do not fit
    text = " ".join(tv.evaluate("window.motcuaBoard.view.pageTexts('counters')"))
    assert "Hỗ trợ quầy khác" in text
    tv.screenshot(path=str(tmp_path / "web-board.png"))


@pytest.mark.browser
def test_web_board_wraps_a_counters_long_service_line(live_server, tv, tmp_path: Path) -> None:
    """Zone A with counters 4 and 5 open ("Hộ tịch – Tư pháp · Công chứng, chứng thực"):
    their tiles fit with their services, and the line wraps between the names, inside
    the tile, instead of being clipped at its edge."""
    hall = make_hall(live_server, zone="A")
    for number in (1, 2, 3):
        r = hall.http.post(
            f"{hall.url}/api/v1/counters/{number}/close", headers=hall.h(hall.supervisor)
        )
        assert r.status_code == 200, r.text
    open_board(tv, hall)
    wait_for(lambda: tv.locator("#bd-counters [data-counter]").count() == 2)
    tv.evaluate("document.fonts.ready")
    assert tv.locator("#bd-counters-pager").is_hidden()
    for number in (4, 5):
        tile = tv.locator(f"#bd-counters [data-counter='{number}']")
        assert "Hộ tịch – Tư pháp" in tile.inner_text()
        assert "Công chứng, chứng thực" in tile.inner_text()
        names = tile.locator(".bd-svc-of")
        tops = {round(names.nth(i).bounding_box()["y"]) for i in range(names.count())}
        assert len(tops) == 2, tops  # two lines, one name on each
    assert tv.evaluate(SPILLING_JS) == []
    for text, size, overflowing, where in tv.evaluate(TEXTS_JS):
        assert size >= 40 and not overflowing, (text, size, where)
    tv.screenshot(path=str(tmp_path / "web-board-zone-a.png"))
