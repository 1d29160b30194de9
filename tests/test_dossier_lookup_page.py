"""The lookup touchscreen in a real browser: the on-screen keyboard, a "scanned" code
(a scanner types the code and presses Enter), masked personal data, the helpful
unknown-code message, the English switch, the idle reset, and the phone page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.dossier_fixtures import CODE, event, put, setup_catalog

pytestmark = pytest.mark.browser

SECOND = "000.00.06.H56-261125-0002"


@pytest.fixture
def hall(live_server):
    ctx = live_server.ctx
    setup_catalog(ctx.db, ctx.now())
    put(ctx)
    put(ctx, SECOND, applicant="Trần Thị Bích Ngọc", phone="0987654321")
    event(ctx, SECOND, status="supplement_requested", missing="Bản sao Căn cước công dân")
    return live_server


def test_keyboard_scanner_masking_and_idle_reset(hall, page, tmp_path):
    token = hall.device("lookup-1", "lookup")
    page.clock.install()
    page.goto(f"{hall.url}/lookup/pair?token={token}")
    assert page.locator("h1").inner_text() == "Tra cứu hồ sơ"
    for ch in CODE.lower():  # typed on the on-screen keyboard
        page.click(f'#keyboard button[data-key="{ch.upper()}"]')
    assert page.input_value("#code") == CODE
    page.click('#keyboard button[data-action="search"]')
    result = page.locator("#result")
    result.wait_for()
    assert result.locator(".lk-badge").inner_text() == "Đã tiếp nhận"
    assert "Nguyễn V** A*" in result.inner_text()
    assert "09/12/2026" in result.locator(".lk-due").inner_text()
    page.screenshot(path=str(tmp_path / "lookup-result.png"))

    page.keyboard.type(SECOND)  # the scanner, with the focus on "look up another"
    page.keyboard.press("Enter")
    page.locator(".lk-missing").wait_for()
    assert "Bản sao Căn cước công dân" in page.locator(".lk-missing").inner_text()
    assert page.locator(".lk-badge").inner_text() == "Yêu cầu bổ sung hồ sơ"
    html = page.content()
    for secret in ("Trần Thị Bích Ngọc", "Bích", "0987654321", "Nguyễn Văn An", "0912345678"):
        assert secret not in html, secret
    page.screenshot(path=str(tmp_path / "lookup-supplement.png"))

    page.click("#lang")
    assert page.locator("h1").inner_text() == "Look up a dossier"
    page.locator(".lk-badge", has_text="Supplement requested").wait_for()

    page.clock.fast_forward("01:05")  # nobody touches the screen for over a minute
    page.locator("#screen-start").wait_for()
    assert page.locator("#screen-result").is_hidden()
    assert page.input_value("#code") == ""
    assert page.locator("h1").inner_text() == "Tra cứu hồ sơ"  # back to Vietnamese

    page.keyboard.type("000.00.06.H56-261125-9999")
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_contain_text(
        "Không tìm thấy hồ sơ có mã “000.00.06.H56-261125-9999”"
    )
    page.screenshot(path=str(tmp_path / "lookup-unknown.png"))
    out = Path("/tmp/motcua-lookup-shots")
    out.mkdir(exist_ok=True)
    for png in tmp_path.glob("lookup-*.png"):
        shutil.copy(png, out / png.name)
        assert png.stat().st_size > 10_000


def test_phones_look_up_without_pairing(hall, page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{hall.url}/tra-cuu?ma={SECOND}")
    page.locator(".lk-missing").wait_for()
    assert page.locator("#keyboard").count() == 0
    assert "Trần T** B*** N***" in page.locator("#result").inner_text()
    unpaired = page.goto(f"{hall.url}/lookup")
    assert unpaired is not None and unpaired.status == 403
    page.goto(f"{hall.url}/lookup?public=1")
    assert page.url.endswith("/tra-cuu")
