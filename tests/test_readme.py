"""The README's commands run as documented (in a tiny mode), so the docs cannot rot."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from tests.conftest import collectsim

ROOT = Path(__file__).resolve().parents[1]


def _examples() -> list[tuple[list[str], str | None]]:
    """(arguments, expected one-line error or None) for each `$ collectsim` line."""
    text = (ROOT / "README.md").read_text()
    out = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        lines = block.splitlines()
        for k, line in enumerate(lines):
            if line.startswith("$ collectsim"):
                follow = lines[k + 1] if k + 1 < len(lines) else ""
                expected = follow if follow.startswith("collectsim: error:") else None
                out.append((shlex.split(line[2:])[1:], expected))
    return out


@pytest.mark.parametrize(("args", "expected"), _examples())
def test_readme_command(tmp_path: Path, args: list[str], expected: str | None) -> None:
    tiny = [] if expected else ["portfolio.n_accounts=400", f"hydra.run.dir={tmp_path / 'run'}"]
    proc = collectsim(*args, *tiny, cwd=tmp_path, timeout=300)
    if expected:
        assert proc.returncode == 2
        assert proc.stderr.strip() == expected
    else:
        assert proc.returncode == 0, proc.stderr
        assert (tmp_path / "run" / "kpis.csv").is_file()


def test_readme_python_example() -> None:
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
    code = code.replace("portfolio.n_accounts=5000", "portfolio.n_accounts=500").replace(
        "run_replications(scenario, 5)", "run_replications(scenario, 2)"
    )
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["kpis"]["recovery_rate"].shape == (2,)


def test_readme_links_exist() -> None:
    text = (ROOT / "README.md").read_text()
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        if not link.startswith("http"):
            assert (ROOT / link).exists(), link
