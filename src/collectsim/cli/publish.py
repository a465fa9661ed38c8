"""Copy a study's report (``report.md``, figures, comparison tables) from its sweep
folder into the study's folder under ``experiments/``, where the latest one is kept."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from collectsim.cli.sweep_folder import SHOWN_ONLY, without

PUBLISHED = ("report.md", "report.html", "comparison.csv", "paired.csv")


def publish(sweep_dir: Path, target: Path) -> Path | None:
    """Copy the report files of ``sweep_dir`` into ``target``; return the copied report."""
    report = sweep_dir / "report.md"
    if not report.is_file():
        return None
    for old in target.glob("*.png"):
        old.unlink()
    for name in PUBLISHED:
        if (sweep_dir / name).is_file():
            shutil.copy2(sweep_dir / name, target / name)
    for png in sweep_dir.glob("*.png"):
        shutil.copy2(png, target / png.name)
    return target / "report.md"


#: Overrides a published run may carry: they choose the study and how it is shown or
#: run, not its results.
PUBLISHABLE_KEYS = (SHOWN_ONLY - {"baseline"}) | {"experiment"}


def repository_root() -> Path | None:
    """The source checkout holding ``conf/`` and ``experiments/``, or None when
    collectsim runs from an installed wheel."""
    from collectsim.config import config_dir

    root = config_dir().parent
    return root if (root / "experiments").is_dir() and (root / "pyproject.toml").is_file() else None


def publish_target(publish_dir: str) -> Path:
    """Where ``publish_dir`` points inside the repository; raise ``ValueError`` when it
    would lie outside it (a relative path is taken from the repository, not the
    current folder)."""
    root = repository_root()
    if root is None:
        raise ValueError("reports are published into a source checkout of collectsim; this one is installed")
    target = (root / publish_dir).resolve()
    if not target.is_relative_to(root.resolve() / "experiments"):
        raise ValueError(f"publish_dir must be a folder under {root / 'experiments'}, got {publish_dir}")
    if not target.is_dir():
        raise ValueError(f"{target} does not exist: publishing never creates a study folder")
    return target


class PublishCallback(Callback):
    """Hydra callback: after the report, copy it into ``publish_dir`` when asked
    (``publish=true``), for a study run as defined."""

    def __init__(self, publish_dir: str | None = None, enabled: bool = False) -> None:
        self.publish_dir = publish_dir
        self.enabled = bool(enabled)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.enabled:
            return
        if not self.publish_dir:
            print("collectsim: not published: this run sets no publish_dir (run a study)", file=sys.stderr)
            return
        changed = without([str(o) for o in config.hydra.overrides.task], PUBLISHABLE_KEYS)
        if changed:
            print(
                f"collectsim: not published: the study was run with changed settings ({' '.join(changed)}); "
                "the published report is the study as defined",
                file=sys.stderr,
            )
            return
        try:
            out = publish(Path(config.hydra.sweep.dir), publish_target(self.publish_dir))
        except (OSError, ValueError) as exc:
            print(f"collectsim: could not publish the report to {self.publish_dir}: {exc}", file=sys.stderr)
            return
        if out is not None:
            print(f"collectsim: latest report copied to {out}", file=sys.stderr, flush=True)
