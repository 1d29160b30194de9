"""Citizen- and staff-facing text, Vietnamese first, English beside it.

Catalogs are YAML files in this folder, one per area (``queue.yaml``, ``kiosk.yaml`` …),
each mapping a dotted key to ``{vi: ..., en: ...}``.  All files are merged; a key
defined twice is an error, so areas cannot silently overwrite each other.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

LANGS = ("vi", "en")
_DIR = Path(__file__).parent


@cache
def catalog() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, texts in data.items():
            if key in merged:
                raise ValueError(f"i18n key {key!r} defined twice (again in {path.name})")
            if not isinstance(texts, dict) or "vi" not in texts:
                raise ValueError(f"i18n key {key!r} in {path.name} needs a 'vi' text")
            merged[key] = {lang: str(texts.get(lang, texts["vi"])) for lang in LANGS}
    return merged


def t(key: str, lang: str = "vi", /, **params: Any) -> str:
    """The text for ``key`` in ``lang`` (falls back to Vietnamese), formatted with params."""
    texts = catalog()[key]
    text = texts.get(lang) or texts["vi"]
    return text.format(**params) if params else text


def bundle(prefix: str, lang: str = "vi") -> dict[str, str]:
    """Every text under ``prefix`` for one language — what a page's script needs."""
    return {k: v.get(lang) or v["vi"] for k, v in catalog().items() if k.startswith(prefix)}
