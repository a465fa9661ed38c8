"""Plug-ins used by the tests (allowed through COLLECTSIM_ALLOWED_PACKAGES=tests)."""

from __future__ import annotations

import numpy as np

from collectsim.behaviour import Repayments, SelfExcitingIntensity


class ExplodingBehaviour(SelfExcitingIntensity):
    """The default behaviour model, but it raises on day 3: a job that fails mid-run."""

    def advance(self, idx: np.ndarray | None, until: np.ndarray | float) -> Repayments:
        if np.max(until) > 3.0:
            raise RuntimeError("deliberate failure on day 3")
        return super().advance(idx, until)
