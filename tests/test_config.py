"""A bad configuration stops the server with a message naming the key and the problem."""

from __future__ import annotations

import copy

import pytest
import yaml

from server import config as config_mod
from server.config import ConfigError
from tests.conftest import ROOT

BASE = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))


def with_change(path: str, value):
    data = copy.deepcopy(BASE)
    node = data
    keys = path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def test_shipped_config_is_valid():
    cfg = config_mod.parse(BASE, env={})
    assert cfg.timezone == "Asia/Ho_Chi_Minh"
    assert [s.code for s in cfg.services][:3] == ["DD", "HT", "CC"]
    assert cfg.counters[1].services == ("DD", "XD")


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("center.timezone", "Mars/Olympus", "center.timezone: unknown time zone"),
        ("center.public_url", "localhost:5000", "center.public_url: must start with http"),
        (
            "opening_hours.sessions",
            [["07:00", "25:00"]],
            "opening_hours.sessions[0]: expected a time HH:MM",
        ),
        (
            "opening_hours.sessions",
            [["11:00", "08:00"]],
            "opening_hours.sessions[0]: the session ends before",
        ),
        ("opening_hours.days", ["mon", "funday"], "opening_hours.days: unknown day 'funday'"),
        ("queue.recall_limit", -1, "queue.recall_limit: must be between 0 and 20"),
        ("queue.recall_limit", "three", "queue.recall_limit: expected a whole number"),
        (
            "queue.transfer_position",
            "middle",
            "queue.transfer_position: must be one of original, back",
        ),
        (
            "voice.template",
            "Mời số {number}",
            "voice.template: must contain {number} and {counter}",
        ),
        ("printer.paper_mm", 70, "printer.paper_mm: must be 58 or 80"),
        ("seed.services.0.code", "D D", "seed.services[0].code: letters, digits and _ only"),
        ("seed.services.1.code", "DD", "seed.services[1].code: duplicate service code 'DD'"),
        ("seed.services.0.last", 5000, "seed.services[0].last: 5000 does not fit in width 3"),
        ("seed.counters.0.services", ["NOPE"], "seed.counters[0].services: unknown service 'NOPE'"),
        ("holidays", ["2026-02-30"], "holidays[0]: expected a date YYYY-MM-DD"),
    ],
)
def test_bad_values_name_their_key(path, value, message):
    with pytest.raises(ConfigError) as e:
        config_mod.parse(with_change(path, value), env={})
    assert message in str(e.value)


def test_unknown_section_and_missing_required_field():
    data = copy.deepcopy(BASE)
    data["qeueu"] = {}
    with pytest.raises(ConfigError, match="qeueu: unknown section"):
        config_mod.parse(data, env={})
    data = copy.deepcopy(BASE)
    del data["seed"]["services"][0]["name_vi"]
    with pytest.raises(ConfigError, match=r"seed.services\[0\].name_vi: required"):
        config_mod.parse(data, env={})


def test_environment_overrides(tmp_path):
    cfg = config_mod.parse(
        BASE, env={"MOTCUA_PUBLIC_URL": "https://motcua.example.vn/", "MOTCUA_SECRET_KEY": "s3cret"}
    )
    assert cfg.public_url == "https://motcua.example.vn" and cfg.secret_key == "s3cret"


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        config_mod.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("center: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        config_mod.load(bad)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("center: {name: 'Trung t\xe2m'}".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        config_mod.load(latin)
