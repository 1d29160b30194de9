"""`make bench`: run every benchmark section and print one table of measured figures."""

from __future__ import annotations

import argparse
import importlib
import sys

SECTIONS = ["simulate_day"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "sections", nargs="*", help=f"which sections (default all: {', '.join(SECTIONS)})"
    )
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    for name in args.sections or SECTIONS:
        module = importlib.import_module(f"benchmarks.{name}")
        rows.extend(module.run())
    widths = [
        max(len(r[i]) for r in [("measure", "value", "target", "note"), *rows]) for i in range(4)
    ]
    header = ("measure", "value", "target", "note")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
