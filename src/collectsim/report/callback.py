"""A Hydra callback that writes the sweep report when a multirun ends.

Register it in the primary config, e.g.::

    hydra:
      callbacks:
        report:
          _target_: collectsim.report.callback.ReportCallback
          baseline: soft_first
"""

from __future__ import annotations

import sys
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from collectsim.errors import CollectsimError


class ReportCallback(Callback):
    """Write ``report.md`` (and figures, CSVs) into the sweep folder after the last job.

    Parameters
    ----------
    baseline : policy the other cells are compared with.
    enabled : set False to skip the report (e.g. ``hydra.callbacks.report.enabled=false``).
    levers : swept keys to rank as levers besides those :mod:`collectsim.keys` calls
        levers (``lever_keys=[stress.intensity_effect]`` on the command line).

    The callback never raises: a failing report prints one line and leaves the
    sweep's results untouched.
    """

    def __init__(self, baseline: str = "soft_first", enabled: bool = True, levers: Any = None) -> None:
        self.baseline = baseline
        self.enabled = enabled
        self.levers = [str(k) for k in levers or []]

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Write the report of ``config.hydra.sweep.dir`` and print where it is."""
        if not self.enabled:
            return
        sweep_dir = "?"
        try:
            sweep_dir = str(config.hydra.sweep.dir)
            from collectsim.report.cli import build_report

            report, g, _notes = build_report(sweep_dir, baseline=self.baseline, levers=self.levers)
            failed = f" ({len(g.failed)} failed job(s) listed in it)" if g.failed else ""
            print(f"collectsim-report: report written to {report}{failed}", flush=True)
        except Exception as exc:  # noqa: BLE001 - the sweep's results must never be lost to the report
            msg = str(exc) if isinstance(exc, CollectsimError) else f"{type(exc).__name__}: {exc}"
            msg = " ".join(msg.split())
            print(f"collectsim-report: error: no report for {sweep_dir}: {msg}", file=sys.stderr, flush=True)


__all__ = ["ReportCallback"]
