"""Configuration: defaults → config.yaml (validated) → environment overrides.

A bad file must stop the server with a message that names the key and the problem,
so every reader below goes through ``_Reader``, which knows the dotted path it is at.
"""

from __future__ import annotations

import os
import re
import reprlib
import string
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_CODE = re.compile(r"^[A-Za-z0-9_]{1,16}$")
_CHANNEL = re.compile(r"^[A-Za-z0-9._-]{1,60}$")


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names the key."""


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 80, 80


def shown(value: Any) -> str:
    """A value quoted in an error message, cut short: a hostile file's million-character
    string or alias bomb (nested lists sharing themselves) must not become the message."""
    return _REPR.repr(value)


@dataclass(frozen=True)
class PriorityClass:
    code: str
    name_vi: str
    name_en: str


@dataclass(frozen=True)
class Hours:
    days: frozenset[int]
    sessions: tuple[tuple[time, time], ...]
    issue_before_min: int = 30
    stop_before_min: int = 0


@dataclass(frozen=True)
class ServiceSeed:
    code: str
    name_vi: str
    name_en: str
    prefix: str = ""
    width: int = 3
    first: int = 1
    last: int = 999
    daily_cap: int | None = None
    hours: Hours | None = None


@dataclass(frozen=True)
class CounterSeed:
    number: int
    name: str
    zone: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class UserSeed:
    username: str
    role: str
    password: str
    full_name: str = ""
    counters: tuple[int, ...] = ()


@dataclass(frozen=True)
class Voice:
    template: str = "Xin mời công dân có số thứ tự {number} đến quầy số {counter}"
    number_style: str = "words"
    zero_tens: str = "linh"
    speed: int = 150
    volume: int = 100


@dataclass(frozen=True)
class Config:
    center_name: str
    center_name_en: str
    timezone: str
    #: None: links on tickets follow the address kiosks reach (server.public_url).
    public_url: str | None
    notice: str
    hours: Hours
    holidays: tuple[date, ...]
    extra_workdays: tuple[date, ...]
    recall_limit: int
    transfer_position: str
    priority_cap: int
    default_service_min: float
    estimate_window_min: int
    priority_classes: tuple[PriorityClass, ...]
    voice: Voice
    paper_mm: int
    services: tuple[ServiceSeed, ...]
    counters: tuple[CounterSeed, ...]
    users: tuple[UserSeed, ...] = ()
    secret_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    use_vn_holidays: bool = True
    #: Working hours of the dossier calendar when they differ from the issuing hours
    #: (the demo issues tickets all day but still counts due dates in office hours).
    work_hours: Hours | None = None
    #: Tickets one kiosk may issue at once, then one every `kiosk_every_s` seconds (a
    #: kiosk serves one citizen at a time; a runaway or abused kiosk is refused, 429).
    #: `kiosk_every_s` 0 turns the limit off.
    kiosk_burst: int = 5
    kiosk_every_s: float = 4.0
    #: `motcua demo` without --office-hours: numbers at any hour, said on kiosk and board.
    demo_mode: bool = False
    #: Redis URL of Flask-SocketIO's message queue (`realtime.message_queue`, env
    #: MOTCUA_REDIS_URL): several server processes share events, rate limits and the
    #: call publisher's mark through it.  None: one process, everything in memory.
    message_queue: str | None = None
    #: Prefix of every Redis channel and key of this deployment (`realtime.channel`):
    #: two deployments may share one Redis.
    realtime_channel: str = "motcua"

    @property
    def office_hours(self) -> Hours:
        """The opening hours people read (kiosk, lookup): the office's, in demo mode too."""
        return self.work_hours or self.hours

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def priority(self, code: str) -> PriorityClass | None:
        return next((p for p in self.priority_classes if p.code == code), None)


class _Reader:
    """Reads one mapping of the YAML tree, remembering where it is for error messages."""

    def __init__(self, data: Any, path: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path or 'config'}: expected a mapping, got {type(data).__name__}")
        self.data = data
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def sub(self, name: str) -> _Reader:
        return _Reader(self.data.get(name), self.key(name))

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = ..., *, required=False):
        if name not in self.data or self.data[name] is None:
            if required or default is ...:
                raise ConfigError(f"{self.key(name)}: required")
            return default
        value = self.data[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and kind is not bool:
            raise ConfigError(f"{self.key(name)}: expected {_kind_name(kind)}, got a boolean")
        if not isinstance(value, kind):
            raise ConfigError(
                f"{self.key(name)}: expected {_kind_name(kind)}, got {type(value).__name__} "
                f"({shown(value)})"
            )
        return value

    def int_in(self, name: str, default: int, lo: int, hi: int) -> int:
        value = self.get(name, int, default)
        if not lo <= value <= hi:
            raise ConfigError(f"{self.key(name)}: must be between {lo} and {hi}, got {value}")
        return int(value)

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.get(name, str, default)
        if value not in choices:
            raise ConfigError(
                f"{self.key(name)}: must be one of {', '.join(choices)}, got {shown(value)}"
            )
        return str(value)

    def items(self, name: str) -> list[tuple[str, Any]]:
        value = self.get(name, list, [])
        return [(f"{self.key(name)}[{i}]", v) for i, v in enumerate(value)]


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {
        str: "text",
        int: "a whole number",
        float: "a number",
        list: "a list",
        dict: "a mapping",
        bool: "true/false",
    }
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _hhmm(value: Any, where: str) -> time:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ConfigError(f"{where}: expected a time HH:MM, got {shown(value)}")
    h, m = value.split(":")
    return time(int(h), int(m))


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        if not isinstance(value, (str, int)):
            raise ValueError(value)
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: expected a date YYYY-MM-DD, got {shown(value)}") from None


def _hours(r: _Reader, default: Hours | None) -> Hours:
    days_raw = r.get("days", list, None)
    if days_raw is None:
        days = default.days if default else frozenset(range(5))
    else:
        bad = [d for d in days_raw if not isinstance(d, str) or d.lower() not in DAY_NAMES]
        if bad:
            raise ConfigError(
                f"{r.key('days')}: unknown day {shown(bad[0])} (use {', '.join(DAY_NAMES)})"
            )
        days = frozenset(DAY_NAMES.index(d.lower()) for d in days_raw)
    sessions_raw = r.get("sessions", list, None)
    if sessions_raw is None:
        sessions = (
            default.sessions if default else ((time(7), time(11, 30)), (time(13, 30), time(17)))
        )
    else:
        parsed = []
        for i, pair in enumerate(sessions_raw):
            where = f"{r.key('sessions')}[{i}]"
            if not isinstance(pair, list) or len(pair) != 2:
                raise ConfigError(f'{where}: expected ["HH:MM", "HH:MM"]')
            start, end = _hhmm(pair[0], where), _hhmm(pair[1], where)
            if end <= start:
                raise ConfigError(f"{where}: the session ends before it starts")
            parsed.append((start, end))
        parsed.sort()
        for (_, e1), (s2, _) in zip(parsed, parsed[1:], strict=False):
            if s2 < e1:
                raise ConfigError(f"{r.key('sessions')}: sessions overlap")
        sessions = tuple(parsed)
    return Hours(
        days=days,
        sessions=sessions,
        issue_before_min=r.int_in(
            "issue_before_min", default.issue_before_min if default else 30, 0, 240
        ),
        stop_before_min=r.int_in(
            "stop_before_min", default.stop_before_min if default else 0, 0, 240
        ),
    )


def _services(r: _Reader, hours: Hours) -> tuple[ServiceSeed, ...]:
    out: list[ServiceSeed] = []
    for where, raw in r.items("services"):
        s = _Reader(raw, where)
        code = s.get("code", str, required=True)
        if not _CODE.match(code):
            raise ConfigError(f"{where}.code: letters, digits and _ only (1–16), got {shown(code)}")
        if any(x.code == code for x in out):
            raise ConfigError(f"{where}.code: duplicate service code {shown(code)}")
        width = s.int_in("width", 3, 1, 6)
        first = s.int_in("first", 1, 0, 999_999)
        last = s.int_in("last", 10**width - 1, 0, 999_999)
        if last < first:
            raise ConfigError(f"{where}.last: must not be below first ({first})")
        if len(str(last)) > width:
            raise ConfigError(f"{where}.last: {last} does not fit in width {width}")
        cap = s.get("daily_cap", int, None)
        if cap is not None and cap < 1:
            raise ConfigError(f"{where}.daily_cap: must be at least 1")
        prefix = str(s.get("prefix", (str, int), ""))
        if len(prefix) > 4:
            raise ConfigError(f"{where}.prefix: at most 4 characters")
        out.append(
            ServiceSeed(
                code=code,
                name_vi=s.get("name_vi", str, required=True),
                name_en=s.get("name_en", str, code),
                prefix=prefix,
                width=width,
                first=first,
                last=last,
                daily_cap=cap,
                hours=_hours(s.sub("hours"), hours) if "hours" in s.data else None,
            )
        )
    return tuple(out)


def _counters(r: _Reader, services: tuple[ServiceSeed, ...]) -> tuple[CounterSeed, ...]:
    known = {s.code for s in services}
    out: list[CounterSeed] = []
    for where, raw in r.items("counters"):
        c = _Reader(raw, where)
        number = c.int_in("number", 0, 1, 9999)
        if any(x.number == number for x in out):
            raise ConfigError(f"{where}.number: duplicate counter number {number}")
        codes = c.get("services", list, required=True)
        for code in codes:
            if not isinstance(code, str) or code not in known:
                raise ConfigError(f"{where}.services: unknown service {shown(code)}")
        out.append(
            CounterSeed(
                number=number,
                name=c.get("name", str, f"Quầy {number}"),
                zone=str(c.get("zone", (str, int), "A")),
                services=tuple(codes),
            )
        )
    return tuple(out)


def _users(r: _Reader) -> tuple[UserSeed, ...]:
    out = []
    for where, raw in r.items("users"):
        u = _Reader(raw, where)
        for number in u.get("counters", list, []):
            if isinstance(number, bool) or not isinstance(number, int):
                raise ConfigError(f"{where}.counters: counter numbers only, got {shown(number)}")
        out.append(
            UserSeed(
                username=u.get("username", str, required=True),
                role=u.choice("role", "staff", ("staff", "supervisor", "admin")),
                password=u.get("password", str, required=True),
                full_name=u.get("full_name", str, ""),
                counters=tuple(u.get("counters", list, [])),
            )
        )
    return tuple(out)


def parse(data: Any, env: dict[str, str] | None = None) -> Config:
    """Validate a loaded YAML tree into a Config (raises ConfigError naming the key)."""
    env = dict(os.environ) if env is None else env
    root = _Reader(data, "")
    _check_keys(root.data)
    center = root.sub("center")
    tz = env.get("MOTCUA_TIMEZONE") or center.get("timezone", str, "Asia/Ho_Chi_Minh")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        raise ConfigError(f"center.timezone: unknown time zone {shown(tz)}") from None
    public_url = env.get("MOTCUA_PUBLIC_URL") or center.get("public_url", str, "") or None
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"center.public_url: must start with http:// or https://, got {shown(public_url)}"
        )
    hours = _hours(root.sub("opening_hours"), None)
    queue = root.sub("queue")
    classes = []
    for where, raw in queue.items("priority_classes"):
        p = _Reader(raw, where)
        code = p.get("code", str, required=True)
        if code == "normal" or not _CODE.match(code):
            raise ConfigError(
                f"{where}.code: {shown(code)} is not allowed (letters, digits, _; not 'normal')"
            )
        classes.append(
            PriorityClass(code, p.get("name_vi", str, required=True), p.get("name_en", str, code))
        )
    voice = root.sub("voice")
    seed = root.sub("seed")
    services = _services(seed, hours)
    default_service_min = queue.get("default_service_min", float, 8.0)
    if not 0.5 <= default_service_min <= 240:
        raise ConfigError("queue.default_service_min: must be between 0.5 and 240")
    kiosk_limit = queue.sub("kiosk_limit")
    kiosk_every_s = kiosk_limit.get("every_s", float, 4.0)
    if not 0 <= kiosk_every_s <= 3600:
        raise ConfigError(
            f"queue.kiosk_limit.every_s: must be between 0 (no limit) and 3600, got {kiosk_every_s}"
        )
    template = voice.get("template", str, Voice.template)
    if "{number}" not in template or "{counter}" not in template:
        raise ConfigError("voice.template: must contain {number} and {counter}")
    _check_template(template)
    return Config(
        center_name=center.get("name", str, "Trung tâm Phục vụ hành chính công"),
        center_name_en=center.get("name_en", str, "Public Administrative Service Center"),
        timezone=tz,
        public_url=public_url.rstrip("/") if public_url else None,
        notice=center.get("notice", str, ""),
        hours=hours,
        holidays=tuple(_date(v, w) for w, v in root.items("holidays")),
        extra_workdays=tuple(_date(v, w) for w, v in root.items("extra_workdays")),
        recall_limit=queue.int_in("recall_limit", 3, 0, 20),
        transfer_position=queue.choice("transfer_position", "original", ("original", "back")),
        priority_cap=queue.int_in("priority_cap", 3, 1, 100),
        default_service_min=default_service_min,
        estimate_window_min=queue.int_in("estimate_window_min", 60, 5, 24 * 60),
        priority_classes=tuple(classes),
        voice=Voice(
            template=template,
            number_style=voice.choice("number_style", "words", ("words", "digits")),
            zero_tens=voice.choice("zero_tens", "linh", ("linh", "le")),
            speed=voice.int_in("speed", 150, 80, 450),
            volume=voice.int_in("volume", 100, 0, 200),
        ),
        paper_mm=_paper(root.sub("printer")),
        services=services,
        counters=_counters(seed, services),
        users=_users(seed),
        secret_key=env.get("MOTCUA_SECRET_KEY"),
        use_vn_holidays=root.sub("opening_hours").get("public_holidays", bool, True),
        kiosk_burst=kiosk_limit.int_in("burst", 5, 1, 1_000_000),
        kiosk_every_s=kiosk_every_s,
        extra={k: v for k, v in root.data.items() if k in EXTRA_SECTIONS},
        message_queue=_message_queue(root.sub("realtime"), env),
        realtime_channel=_channel(root.sub("realtime")),
    )


def _message_queue(r: _Reader, env: dict[str, str]) -> str | None:
    """`realtime.message_queue` (env MOTCUA_REDIS_URL wins): redis:// or rediss:// with a
    host, checked here so a typo stops the start instead of every later emit.  A message
    never repeats the URL's password."""
    key = r.key("message_queue")
    raw = env.get("MOTCUA_REDIS_URL")
    if raw is not None:
        key = f"MOTCUA_REDIS_URL ({key})"
    else:
        raw = r.get("message_queue", str, "")
    if not raw:
        return None
    url = urlsplit(raw)
    said = shown(raw if url.password is None else raw.replace(url.password, "***"))
    try:
        url.port  # noqa: B018 (raises on a port that is not a number, or out of range)
    except ValueError:
        raise ConfigError(f"{key}: the port is not a number from 1 to 65535 in {said}") from None
    if url.scheme not in ("redis", "rediss") or not url.hostname:
        raise ConfigError(f"{key}: must be a Redis URL like redis://127.0.0.1:6379/0, got {said}")
    db = url.path.strip("/")
    if db and not db.isdigit():
        raise ConfigError(f"{key}: the database after the host must be a number, got {said}")
    return raw


def _channel(r: _Reader) -> str:
    channel = r.get("channel", str, "motcua")
    if not _CHANNEL.match(channel):
        raise ConfigError(
            f"{r.key('channel')}: letters, digits, '.', '_', '-' (at most 60), got {shown(channel)}"
        )
    return channel


#: What an announcement template may name (server.voice.tts.announcement_text fills them).
TEMPLATE_FIELDS = ("number", "counter", "label", "counter_label", "service")


def _check_template(template: str) -> None:
    """Refuse at start what would fail every call later (`{x}`, `{number.__class__}`, `{`)."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ConfigError(f"voice.template: malformed ({exc})") from None
    for name in names:
        if name not in TEMPLATE_FIELDS:
            raise ConfigError(
                f"voice.template: unknown placeholder {shown('{' + name + '}')} "
                f"(use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)})"
            )


def _paper(r: _Reader) -> int:
    value = r.get("paper_mm", int, 80)
    if value not in (58, 80):
        raise ConfigError(f"{r.key('paper_mm')}: must be 58 or 80, got {value}")
    return int(value)


_KNOWN = {
    "center",
    "realtime",
    "opening_hours",
    "holidays",
    "extra_workdays",
    "queue",
    "voice",
    "printer",
    "seed",
}
#: Sections validated by the module that owns them (kept raw in Config.extra).
EXTRA_SECTIONS = {
    "sms",
    "dossiers",
    "security",
    "reports",
    "connections",
    "api_keys",
    "database",
    "workers",
    "remote",
}


def _check_keys(data: dict[str, Any]) -> None:
    for key in data:
        if key not in _KNOWN and key not in EXTRA_SECTIONS:
            raise ConfigError(
                f"{key}: unknown section (known: {', '.join(sorted(_KNOWN | EXTRA_SECTIONS))})"
            )


def load(path: str | Path, env: dict[str, str] | None = None) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {p} not found") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {p} is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config file {p}: not valid YAML{where}") from None
    except RecursionError:
        raise ConfigError(f"config file {p}: not valid YAML (nested too deeply)") from None
    except ValueError as exc:  # a tagged scalar PyYAML cannot build (!!float "x", a 5000-digit int)
        raise ConfigError(f"config file {p}: not valid YAML ({shown(str(exc))})") from None
    return parse(data, env)
