"""Speed work must not change results: a small run's KPIs equal a committed golden file.

Regenerate after a deliberate model change with
``COLLECTSIM_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py`` (and the
benchmark's ``--update-golden`` for the 10k file), and say why in the commit.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from tests.conftest import small

from collectsim.engine import run

GOLDEN = Path(__file__).with_name("golden_small.json")
OVERRIDES = ("policy=staged", "seed=3")


def _kpis() -> dict[str, float | None]:
    res = run(small(*OVERRIDES, n=2000), 0)
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in res.kpis.items()}


def test_small_run_matches_golden_file() -> None:
    got = _kpis()
    if os.environ.get("COLLECTSIM_UPDATE_GOLDEN"):
        GOLDEN.write_text(
            json.dumps(
                {"overrides": [*OVERRIDES, "portfolio.n_accounts=2000", "collectors.size=2"], "kpis": got},
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )
    want = json.loads(GOLDEN.read_text())["kpis"]
    assert got.keys() == want.keys()
    diffs = {k: (want[k], got[k]) for k in want if want[k] != got[k]}
    assert not diffs, diffs
