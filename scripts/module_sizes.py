"""Fail when a Python module of the project passes the size limit (``make lint``).

A module that grows past about 500 lines is doing more than one thing: split it by
responsibility. Prints the largest modules either way.
"""

from __future__ import annotations

import sys
from pathlib import Path

LIMIT = 500
ROOTS = ("src", "tests", "benchmarks", "scripts")


def sizes(root: Path) -> list[tuple[int, Path]]:
    """(lines, path) of every ``.py`` file under the project's code folders, largest first."""
    out = []
    for folder in ROOTS:
        for path in (root / folder).rglob("*.py"):
            with path.open(encoding="utf-8") as fh:
                out.append((sum(1 for _ in fh), path.relative_to(root)))
    return sorted(out, reverse=True)


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    rows = sizes(root)
    over = [(n, p) for n, p in rows if n > LIMIT]
    for n, p in rows[:5]:
        print(f"{n:5d}  {p}")
    for n, p in over:
        print(f"module_sizes: {p} has {n} lines (limit {LIMIT}): split it by responsibility", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
