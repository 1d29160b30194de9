"""`motcua demo`: the server with demo accounts, devices, dossiers and a kiosk agent
printing to a folder, and a banner with every link and login a first-time user needs.

The demo issues numbers at any hour (a developer tries it at night) — an explicit demo
mode, said on the kiosk and the board ("Chế độ trình diễn"), while both still show the
office's real hours; `--office-hours` keeps config.yaml's hours instead."""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from pathlib import Path

import click

from .. import config as config_mod
from ..clock import Clock
from ..i18n import t
from ..public_url import is_loopback, listens_everywhere, public_base
from ..seed import DemoDevice, DemoLogin


def demo_hours(cfg: config_mod.Config) -> config_mod.Config:
    """Every service issues numbers all day, every day; the office hours stay what the
    kiosk and lookup show and what the dossier clock counts."""
    always = config_mod.Hours(
        days=frozenset(range(7)),
        sessions=((time(0), time(23, 59)),),
        issue_before_min=0,
        stop_before_min=0,
    )
    notice = " ".join(part for part in (t("kiosk.demo_mode", "vi") + ".", cfg.notice) if part)
    return replace(
        cfg,
        hours=always,
        work_hours=cfg.hours,
        use_vn_holidays=False,
        services=tuple(replace(s, hours=None) for s in cfg.services),
        notice=notice,
        demo_mode=True,
    )


def links_base(cfg: config_mod.Config, host: str, port: int) -> str:
    """The base of the links the banner prints: where other machines of the LAN reach
    the server (as ticket QR codes do), or localhost when it serves this machine only."""
    if is_loopback(host) and not listens_everywhere(host):
        return cfg.public_url or f"http://localhost:{port}"
    return public_base(cfg.public_url, f"http://{host}:{port}")


def banner_text(
    cfg: config_mod.Config,
    base: str,
    logins: list[DemoLogin],
    devices: list[DemoDevice],
    samples: list[str],
    tickets_dir: Path,
    warnings: list[str],
) -> str:
    tokens = {d.name: d.token for d in devices}
    screen = next(d for d in devices if d.kind == "display" and d.counter is not None)
    hours = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in cfg.office_hours.sessions)
    lines = [
        "",
        "=" * 72,
        f"  {cfg.center_name}",
        "=" * 72,
        f"  Kiosk (lấy số):        {base}/kiosk/pair?token={tokens['kiosk-1']}",
        f"  Board (bảng hiển thị): {base}/board/pair?token={tokens['board-all']}",
        f"  Counter {screen.counter} screen (màn hình quầy {screen.counter}): "
        f"{base}/board/pair?token={screen.token}",
        f"  Lookup (tra cứu):      {base}/lookup/pair?token={tokens['lookup-1']}",
        f"  Lookup on phones:      {base}/tra-cuu   sample dossiers: {', '.join(samples)}",
        f"  Staff (quầy):          {base}/staff",
        f"  Supervisor (giám sát): {base}/supervisor   reports (báo cáo): {base}/reports",
        f"  Admin (quản trị):      {base}/admin",
        f"  API:                   {base}/api/v1/openapi.json",
        f"  Printed tickets (kiosk-1, .bin + .png): {tickets_dir}",
        f"  Ticket QR codes open:  {base}/t/…",
        "",
        "  A screen above another counter N:",
        "    motcua device add screen-N --kind display --counter N   (prints its token)",
        f"    then open {base}/board/pair?token=<token> on that screen",
        "",
    ]
    if cfg.demo_mode:
        lines.append(
            f"  {t('kiosk.demo_mode', 'en')} ({t('kiosk.demo_mode', 'vi')}); office hours "
            f"{hours} shown on the kiosk. `motcua demo --office-hours` keeps them."
        )
    else:
        lines.append(f"  Office hours: {hours} (config.yaml); kiosks issue numbers only then.")
    lines += ["", "  Demo logins (password: " + logins[0].password + "):"]
    lines += [
        f"    {login.username:<10} {login.role:<10} {login.full_name:<22} "
        f"counters {list(login.counters) or 'all'}"
        for login in logins
    ]
    lines += ["", "  Devices (tokens rotate at every demo start):"]
    lines += [
        f"    {d.name:<10} {d.kind:<8} "
        + (f"counter {d.counter:<3} " if d.counter is not None else "")
        + d.token
        for d in devices
    ]
    if warnings:
        lines += [""] + [f"  WARNING: {w}" for w in warnings]
    lines += ["=" * 72, ""]
    return "\n".join(lines)


def register(main: click.Group) -> None:
    # here, not at the top: server.cli imports this module while it is being built
    from .. import cli
    from ..cli import db_options, open_database, qr_warnings

    @main.command(
        help="Run the server with demo accounts and devices, printing the URLs and logins."
    )
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    @click.option("--dev", is_flag=True, help="Use the threaded development server.")
    @click.option(
        "--office-hours",
        is_flag=True,
        help="Issue numbers only in config.yaml's opening hours (the demo issues at any hour).",
    )
    @db_options
    def demo(host, port, dev, office_hours, cfg, config_path, data_dir) -> None:
        from ..dossiers.demo import demo_dossiers
        from ..seed import demo_accounts
        from .kiosk import start_demo_agent  # kiosk-1's agent, printing to a folder

        if not office_hours:
            cfg = demo_hours(cfg)
        db = open_database(cfg, data_dir)
        logins, devices = demo_accounts(db, cfg, Clock().now())
        samples = demo_dossiers(db, cfg, Clock().now())  # ~50 dossiers, created once
        warnings = qr_warnings(cfg, host, port)
        tokens = {d.name: d.token for d in devices}
        tickets_dir = start_demo_agent(host, port, tokens["kiosk-1"], data_dir, cfg.paper_mm)
        text = banner_text(
            cfg, links_base(cfg, host, port), logins, devices, samples, tickets_dir, warnings
        )
        # through the module: one name for the server start, which tests replace
        cli.serve_app(cfg, data_dir, host, port, dev, lambda: click.echo(text))
