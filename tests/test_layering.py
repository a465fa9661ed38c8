"""The code's shape is checked like its behaviour: import contracts (import-linter, the
contracts in pyproject.toml) and the module size limit, also run by ``make lint``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_import_contracts_hold() -> None:
    proc = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_no_module_over_the_size_limit() -> None:
    proc = subprocess.run(
        [sys.executable, "scripts/module_sizes.py"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr


def test_a_single_run_loads_neither_pandas_nor_matplotlib_nor_scipy_stats() -> None:
    """A run needs none of them (some 180 MiB of the 1M-account run's peak memory, and
    a second of every worker's start-up); only the sweeps, reports and checks load them."""
    code = (
        "import sys, collectsim\n"
        "sc = collectsim.load_scenario(['portfolio.n_accounts=300', 'simulation.horizon_days=20'])\n"
        "collectsim.run(sc, 0)\n"
        "print(sorted(m for m in ('pandas', 'matplotlib', 'sklearn', 'scipy.stats') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"
