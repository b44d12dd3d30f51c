"""Run every benchmark and print one table.

    python bench/run.py [--quick] [--only NAME] [--json FILE]

Each ``bench/bench_*.py`` module has ``run(quick: bool) -> list[dict]`` returning rows
``{"name", "value", "unit", "baseline", "ratio", "note"}``: ``baseline`` is a figure measured in the same run
(so a slow or busy machine moves both), ``ratio`` is value / baseline. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def modules(only: str | None):
    for path in sorted(HERE.glob("bench_*.py")):
        if only and only not in path.stem:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        yield path.stem, mod


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data sets")
    parser.add_argument("--only", help="run only modules whose name contains this")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    rows = []
    for name, mod in modules(args.only):
        start = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        for row in mod.run(quick=args.quick):
            rows.append(dict(row, module=name))
        print(f"  {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
    header = ("benchmark", "value", "unit", "baseline", "ratio", "note")
    table = [header] + [(r["name"], fmt(r["value"]), r["unit"], fmt(r.get("baseline")), fmt(r.get("ratio")),
                         r.get("note", "")) for r in rows]
    widths = [max(len(str(line[i])) for line in table) for i in range(len(header))]
    for i, line in enumerate(table):
        print("  ".join(str(cell).ljust(widths[j]) for j, cell in enumerate(line)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
