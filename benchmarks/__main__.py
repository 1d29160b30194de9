"""`make bench`: run every benchmark section and print one table of measured figures.

`python -m benchmarks [SECTION …]` runs only the named sections.  A section whose module
is absent gets a "skipped" row; a section that fails gets a "FAILED" row with the error
(and the exit status becomes 1) — the other sections still run and print."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

#: Run in this order; each is a module of this package with `run()` returning rows
#: `(measure, value, target, note)`.
SECTIONS = [
    "simulate_day",
    "http_issue",
    "socket_fanout",
    "hammer",
    "crash",
    "failover",
    "scaleout",
    "kiosk_print",
    "board_latency",
    "dossier_lookup",
    "import_freeze",
    "reports_year",
    "worker_offload",
    "staff_console",
    "soak",
    "fuzz",
    "freeze",
]

Row = tuple[str, str, str, str]


def _section(name: str) -> tuple[list[Row], bool]:
    try:
        module = importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"benchmarks.{name}":
            raise
        return [(f"[{name}]", "skipped", "-", f"no module benchmarks/{name}.py")], True
    try:
        return [tuple(str(c) for c in row) for row in module.run()], True  # type: ignore[misc]
    except Exception as exc:  # one broken section must not hide the others' figures
        traceback.print_exc(file=sys.stderr)
        return [(f"[{name}]", "FAILED", "-", f"{type(exc).__name__}: {exc}"[:300])], False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "sections", nargs="*", help=f"which sections (default all: {', '.join(SECTIONS)})"
    )
    args = parser.parse_args()
    rows: list[Row] = []
    ok = True
    for name in args.sections or SECTIONS:
        started = time.perf_counter()
        print(f"benchmarks: {name} …", file=sys.stderr, flush=True)
        got, fine = _section(name)
        ok &= fine
        rows.extend(got)
        print(
            f"benchmarks: {name} done in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    header = ("measure", "value", "target", "note")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
