"""The tutorials under notebooks/ run from top to bottom (small sizes) in a Jupyter kernel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9]*.py"))
MISSING = [m for m in ("jupytext", "nbclient", "ipykernel") if importlib.util.find_spec(m) is None]


@pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed: pip install -e '.[notebooks]'")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import jupytext
    from nbclient import NotebookClient

    monkeypatch.setenv("COLLECTSIM_TUTORIAL_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = jupytext.read(path)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert not [o for o in outputs if "RuntimeWarning" in str(o.get("text", ""))]
    assert len(outputs) >= 2  # tables, prints or figures were produced


def test_there_are_tutorials() -> None:
    assert len(NOTEBOOKS) >= 3


@pytest.mark.slow
@pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed: pip install -e '.[notebooks]'")
def test_the_documented_command_line_route_runs_a_tutorial(tmp_path: Path) -> None:
    import os
    import re
    import shlex
    import shutil
    import subprocess
    import sys

    readme = (NOTEBOOKS[0].parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(jupytext --to ipynb .*?)```", readme, re.S)
    assert block is not None
    shutil.copytree(NOTEBOOKS[0].parent, tmp_path / "notebooks")
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"], "COLLECTSIM_TUTORIAL_SMALL": "1"}
    for line in block.group(1).strip().splitlines():
        proc = subprocess.run(shlex.split(line), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr
    assert '"output_type"' in (tmp_path / "notebooks" / "01_first_comparison.ipynb").read_text(encoding="utf-8")
