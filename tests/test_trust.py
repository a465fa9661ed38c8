"""Reproducibility of result files, atomic writes and resuming a sweep."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.conftest import SHORT_STREAM, collectsim

from collectsim.cli import results


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return collectsim(*args, cwd=cwd, env=env)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes() for p in sorted(folder.glob("*")) if p.name in ("kpis.csv", "series.csv", "summary.json")
    }


def test_same_config_and_seed_give_byte_identical_files(tmp_path: Path) -> None:
    args = ["policy=champion_challenger", "portfolio.n_accounts=800", "replications=2", "seed=11", *SHORT_STREAM]
    a = _run([*args, f"hydra.run.dir={tmp_path / 'a'}"], tmp_path, PYTHONHASHSEED="1")
    b = _run([*args, f"hydra.run.dir={tmp_path / 'b'}"], tmp_path, PYTHONHASHSEED="98765")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    fa, fb = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert set(fa) == {"kpis.csv", "series.csv", "summary.json"}
    assert fa == fb


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "kpis.csv"
    results.atomic_write(target, "old,complete\n")

    def crash(src: str, dst: str) -> None:
        raise OSError("killed mid-write")

    monkeypatch.setattr(results.os, "replace", crash)
    with pytest.raises(OSError):
        results.atomic_write(target, "new,half")
    assert target.read_text() == "old,complete\n"


def test_resume_reruns_only_missing_or_failed_cells(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "policy=soft_first,staged,do_nothing",
        "portfolio.n_accounts=300",
        "collectors.size=1",
        "publish_dir=null",
        *SHORT_STREAM,
        f"hydra.sweep.dir={sweep}",
        "hydra/launcher=basic",
    ]
    first = _run(args, tmp_path)
    assert first.returncode == 0, first.stderr
    # Simulate a job killed before it finished (1) and one that failed (2).
    (sweep / "1" / "job.json").unlink()
    job2 = json.loads((sweep / "2" / "job.json").read_text())
    (sweep / "2" / "job.json").write_text(json.dumps({**job2, "status": "failed", "error": "boom"}))
    kept = (sweep / "0" / "kpis.csv").stat().st_mtime_ns
    again = _run([*args, "resume=true"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "kept from the earlier run" in again.stderr
    assert (sweep / "0" / "kpis.csv").stat().st_mtime_ns == kept
    for k in ("1", "2"):
        assert json.loads((sweep / k / "job.json").read_text())["status"] == "ok"
