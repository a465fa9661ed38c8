"""Copy a study's report (``report.md``, figures, comparison tables) from its sweep
folder into the study's folder under ``experiments/``, where the latest one is kept."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

PUBLISHED = ("report.md", "comparison.csv", "paired.csv")


def publish(sweep_dir: Path, target: Path) -> Path | None:
    """Copy the report files of ``sweep_dir`` into ``target``; return the copied report."""
    report = sweep_dir / "report.md"
    if not report.is_file():
        return None
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.png"):
        old.unlink()
    for name in PUBLISHED:
        if (sweep_dir / name).is_file():
            shutil.copy2(sweep_dir / name, target / name)
    for png in sweep_dir.glob("*.png"):
        shutil.copy2(png, target / png.name)
    return target / "report.md"


class PublishCallback(Callback):
    """Hydra callback: after the report, publish it to ``publish_dir`` (if set)."""

    def __init__(self, publish_dir: str | None = None) -> None:
        self.publish_dir = publish_dir

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.publish_dir:
            return
        try:
            out = publish(Path(config.hydra.sweep.dir), Path(self.publish_dir))
        except OSError as exc:
            print(f"collectsim: could not publish the report to {self.publish_dir}: {exc}", file=sys.stderr)
            return
        if out is not None:
            print(f"collectsim: latest report copied to {out}", file=sys.stderr, flush=True)
