"""Hostile configuration files fail cleanly: a bad value, a Python tag, an alias bomb,
a huge string or malformed YAML stops `motcua check-config` and the server's start at
once — no code runs, nothing hangs — with a short message naming the key (or saying the
YAML is invalid)."""

from __future__ import annotations

import copy
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from server import config as config_mod
from server.cli import main as cli_main
from server.dossiers.settings import parse_settings
from server.notify.config import sms_settings
from server.security import settings as security_settings

ROOT = Path(__file__).resolve().parent.parent
MOTCUA = Path(sys.executable).parent / "motcua"
SHIPPED = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
#: The sections other modules validate, filled in as a center would (all checked too).
SECTIONS = {
    "security": {"trusted_proxies": 1},
    "sms": {
        "enabled": True,
        "gateway": "http",
        "ascii_only": True,
        "max_attempts": 5,
        "backoff_seconds": 30,
        "max_age_hours": 48,
        "worker": False,
        "templates": {"ready": "Ho so {code} da co ket qua. Moi ong/ba den {place} de nhan."},
        "http": {
            "url": "https://sms.example.vn/api/send",
            "method": "POST",
            "headers": {"Authorization": "Bearer abc"},
            "body": {"to": "{phone}", "message": "{text}", "ref": "{id}"},
            "timeout": 10,
        },
    },
    "dossiers": {
        "place": "Quầy Trả kết quả",
        "contact": "Quầy hướng dẫn",
        "stale_days": 3,
        "due_soon_days": 2,
        "lookup": {"idle_seconds": 60, "phone_digits": 0},
    },
}
MAX_MESSAGE = 600


def _checked(cfg: config_mod.Config) -> config_mod.Config:
    """The sections `motcua check-config` and the server's start check beyond parse()."""
    for check in (security_settings, sms_settings, parse_settings):
        check(cfg)
    return cfg


def _validate(data: Any) -> config_mod.Config:
    return _checked(config_mod.parse(data, env={}))


def _load(path: Path) -> config_mod.Config:
    return _checked(config_mod.load(path, env={}))


def _within(seconds: float, fn, *args: Any) -> Any:
    """fn(*args) on a thread; a hang fails the test instead of freezing the suite."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = fn(*args)
        except BaseException as exc:  # handed to the test thread as it is
            out["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{getattr(fn, '__name__', fn)} still running after {seconds} s"
    if "error" in out:
        raise out["error"]
    return out["value"]


def _config_error(fn, *args: Any) -> str:
    with pytest.raises(config_mod.ConfigError) as info:
        _within(20, fn, *args)
    message = str(info.value)
    assert len(message) < MAX_MESSAGE, message[:300]
    return message


# --- configuration files --------------------------------------------------------------------
@pytest.mark.parametrize(
    "tag",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        '!!python/object/apply:subprocess.check_call [["touch", "{marker}"]]',
        '!!python/object/new:subprocess.Popen [["touch", "{marker}"]]',
        "!!python/name:os.system",
        "!!python/module:os",
        '!!python/object:builtins.exec {{source: "open(\\"{marker}\\", \\"w\\")"}}',
    ],
)
def test_python_tags_in_config_never_run(tmp_path, tag):
    marker = tmp_path / "pwned"
    path = tmp_path / "config.yaml"
    path.write_text(f"center:\n  name: {tag.format(marker=marker)}\n", encoding="utf-8")
    assert "not valid YAML at line 2" in _config_error(_load, path)
    result = CliRunner().invoke(
        cli_main, ["check-config", "--config", str(path), "--data-dir", str(tmp_path / "d")]
    )
    assert result.exit_code == 1 and "configuration error" in result.output
    assert "Traceback" not in result.output
    assert not marker.exists()


def _bomb_yaml(levels: int = 9) -> str:
    """The billion laughs: 9 lists of 9 references, `levels` deep (9**9 strings)."""
    lines = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("where", "key"),
    [
        ("center:\n  timezone: *TOP", "center.timezone"),
        ("center:\n  public_url: *TOP", "center.public_url"),
        ("holidays: [*TOP]", "holidays[0]"),
        ("opening_hours:\n  days: *TOP", "opening_hours.days"),
        ("opening_hours:\n  sessions: [*TOP]", "opening_hours.sessions[0]"),
        ("voice:\n  template: *TOP", "voice.template"),
        ("queue:\n  recall_limit: *TOP", "queue.recall_limit"),
        ("seed:\n  services: *TOP", "seed.services[0]"),
        ("security:\n  trusted_proxies: *TOP", "security.trusted_proxies"),
    ],
)
def test_alias_bombs_in_config_fail_at_once_naming_the_key(tmp_path, where, key):
    """9**6 strings: printed in full they make a 4 MB message (what a regression to an
    unbounded !r would show here, quickly); the real 9**9 bomb runs in the test below,
    in a process of its own that is killed if it hangs."""
    # the anchors live under printer: (a section whose unknown keys are ignored)
    text = f"printer:\n  paper_mm: 80\n{_bomb_yaml(6)}\n{where.replace('TOP', 'l5')}\n"
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    assert _config_error(lambda: _validate(yaml.safe_load(text))).startswith(key)
    assert _config_error(_load, path).startswith(key)


def test_the_billion_laughs_config_is_refused_by_check_config_at_once(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        f"printer:\n  paper_mm: 80\n{_bomb_yaml(9)}\ncenter:\n  timezone: *l8\n"
        "holidays: [*l8]\nsecurity:\n  trusted_proxies: *l8\n",
        encoding="utf-8",
    )
    args = ["check-config", "--config", str(path), "--data-dir", str(tmp_path / "d")]
    done = subprocess.run(
        [str(MOTCUA), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr[-500:]
    assert done.stderr.startswith("Error: configuration error: center.timezone: expected text")
    assert len(done.stderr) < MAX_MESSAGE and "Traceback" not in done.stderr


def _bomb(levels: int) -> list[Any]:
    """A YAML alias bomb as PyYAML builds it: lists sharing themselves."""
    value: list[Any] = ["lol"] * 9
    for _ in range(levels - 1):
        value = [value] * 9
    return value


#: (section, key): the sections validated by their own modules.  A 9**5 bomb takes a
#: moment to print in full; a message that prints it is far longer than any message
#: should be — the same code would hang on a real 9**9 bomb.
SECTION_KEYS = [
    ("security", "trusted_proxies"),
    ("sms", "gateway"),
    ("sms", "backoff_seconds"),
    ("sms", "max_age_hours"),
    ("sms", "ascii_only"),
    ("sms", "templates"),
    ("dossiers", "place"),
    ("dossiers", "stale_days"),
    ("dossiers", "lookup"),
]


@pytest.mark.parametrize(("section", "key"), SECTION_KEYS)
def test_alias_bombs_in_other_sections_get_a_short_message(section, key):
    data = copy.deepcopy({**SHIPPED, **SECTIONS})
    data[section][key] = _bomb(5)
    assert _config_error(_validate, data).startswith(f"{section}.{key}")


HUGE = "x" * 5_000_000


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (("center", "timezone"), "center.timezone"),
        (("center", "public_url"), "center.public_url"),
        (("opening_hours", "sessions"), "opening_hours.sessions[0]"),
        (("opening_hours", "days"), "opening_hours.days"),
        (("voice", "template"), "voice.template"),
        (("voice", "number_style"), "voice.number_style"),
        (("queue", "transfer_position"), "queue.transfer_position"),
        (("holidays",), "holidays[0]"),
        (("security", "trusted_proxies"), "security.trusted_proxies"),
    ],
)
def test_huge_strings_in_config_get_a_short_message(path, key):
    data = copy.deepcopy({**SHIPPED, **SECTIONS})
    node = data
    for part in path[:-1]:
        node = node[part]
    wrapped = path[-1] in ("sessions", "days", "holidays")
    node[path[-1]] = [[HUGE, HUGE]] if path[-1] == "sessions" else [HUGE] if wrapped else HUGE
    if path == ("voice", "template"):
        node["template"] = "{number} {counter} {" + HUGE + "}"
    assert _config_error(_validate, data).startswith(key)


@pytest.mark.parametrize(
    "text",
    [
        "center: " + "[" * 20000 + "]" * 20000,
        "center: " + "{a: " * 5000 + "1" + "}" * 5000,
        "queue:\n  recall_limit: " + "9" * 5000,
        "holidays: [!!timestamp 2026-99-99]",
        'center: {name: !!float "abc"}',
        "center: {name: !!binary '%%%'}",
        "? [a, b]\n: 1",
        "\x00\x01",
        "center:\n\tname: tab",
    ],
    ids=[
        "deep lists",
        "deep maps",
        "5000-digit int",
        "bad timestamp",
        "bad float",
        "bad binary",
        "complex key",
        "control bytes",
        "tab indent",
    ],
)
def test_malformed_yaml_is_a_config_error(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    message = _config_error(_load, path)
    assert "not valid YAML" in message or message.startswith("center.name: expected text")


WRONG = [None, True, 7, 2.5, "x", [], {}, ["x", 1], {"k": [1]}]


def _paths(node: Any, prefix: tuple = ()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _replaced(data: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(data)
    node = copied
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return copied


def test_wrong_types_at_every_level_name_the_key():
    base = {**SHIPPED, **SECTIONS}
    _validate(base)  # the example itself is right
    problems = []
    tried = 0
    for path in _paths(base):
        dotted = _dotted(path) or "config"
        for value in WRONG:
            tried += 1
            try:
                _validate(_replaced(base, path, value))
            except config_mod.ConfigError as exc:
                message = str(exc)
                key = message.split(": ", 1)[0]
                related = (
                    not path  # the whole file replaced: any key it names is its own
                    or key == dotted
                    or dotted.startswith((key + ".", key + "["))
                    or key.startswith((dotted + ".", dotted + "["))
                    # cross-checks name the other side: a counter's service, a duplicate
                    or "unknown service" in message
                    or "duplicate" in message
                )
                if not related or len(message) > MAX_MESSAGE:
                    problems.append(f"{dotted} = {value!r}: {message[:200]}")
            except Exception as exc:  # anything but a ConfigError is the bug looked for
                problems.append(f"{dotted} = {value!r}: {type(exc).__name__}: {exc}"[:300])
    assert tried > 1000
    assert not problems, "\n".join(problems[:40])
