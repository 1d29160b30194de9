"""Helpers for the remote-ticket tests: the SMS the outbox holds, a confirmed phone, a
number taken from home."""

from __future__ import annotations

import re
from typing import Any

#: The QR on the back of a CCCD chip card: id|old id|full name|birth|sex|address|issued.
CCCD = "001099012345"
CCCD_QR = (
    f"{CCCD}|123456789|Nguyễn Văn An|01011990|Nam|"
    "Số 12 Hàng Bài, Phường Hàng Bài, Quận Hoàn Kiếm, Hà Nội|15082021"
)


def outbox(ctx, phone: str | None = None) -> list[dict[str, Any]]:
    with ctx.db.read() as conn:
        rows = [dict(r) for r in conn.execute("SELECT * FROM notification ORDER BY id")]
    return [r for r in rows if phone is None or r["phone"] == phone]


def last_code(ctx, phone: str) -> str:
    text = outbox(ctx, phone)[-1]["text_ascii"]
    m = re.search(r": (\d{6})\. ", text)
    assert m, text
    return m.group(1)


def confirm(client, ctx, phone: str) -> str:
    r = client.post("/api/v1/remote/code", json={"phone": phone})
    assert r.status_code == 202, r.get_json()
    r = client.post("/api/v1/remote/verify", json={"phone": phone, "code": last_code(ctx, phone)})
    assert r.status_code == 200, r.get_json()
    return r.get_json()["proof"]


def take(client, proof: str, service: str = "DD", **extra: Any):
    return client.post("/api/v1/remote/tickets", json={"service": service, "proof": proof, **extra})
