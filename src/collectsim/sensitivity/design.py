"""Design of a sensitivity study: the uncertain factors, the analysed outputs and the effort settings.

A :class:`Factor` writes a value into the scenario; :data:`DEFAULT_FACTORS` are the
behaviour uncertainties studied by default, :class:`Settings` and :data:`MODES` the
effort (tiny, study, full) of a study.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collectsim.errors import ConfigError

CONFIDENCE = 0.95
#: KPIs whose paired difference is analysed; the first one drives the flip analysis unless told.
OUTPUTS = ("net_recovery", "recovery_rate", "stress_peak_p95")


@dataclass(frozen=True)
class Factor:
    """An uncertain input: ``path`` into the scenario (``*`` = every list element),
    either set to a value in [low, high] (``op="set"``) or multiplied by one
    (``op="scale"``, the nominal value then being 1)."""

    name: str
    path: str
    low: float
    high: float
    op: str = "set"
    description: str = ""

    def apply(self, data: dict[str, Any], value: float) -> None:
        """Write ``value`` into the scenario dict ``data`` (in place)."""
        parts = self.path.split(".")

        def walk(node: Any, i: int) -> None:
            key: Any = parts[i]
            last = i + 1 == len(parts)
            if key == "*":
                if not isinstance(node, list) or last:
                    raise ConfigError(f"sensitivity factor {self.name}: '*' in {self.path} must stand for a list")
                for item in node:
                    walk(item, i + 1)
                return
            if isinstance(node, list):
                key = int(key)
            elif not isinstance(node, dict) or key not in node:
                raise ConfigError(f"sensitivity factor {self.name}: no key {'.'.join(parts[: i + 1])} in the scenario")
            if last:
                node[key] = float(value) if self.op == "set" else float(node[key]) * float(value)
            else:
                walk(node[key], i + 1)

        walk(data, 0)

    def nominal(self, data: dict[str, Any]) -> float:
        """The factor's value in the unmodified scenario (1 for a scale factor)."""
        if self.op == "scale":
            return 1.0
        node: Any = data
        for key in self.path.split("."):
            node = node[0] if key == "*" else node[int(key)] if isinstance(node, list) else node[key]
        return float(node)


#: The behaviour uncertainties studied by default (docs/references.md#borrower-behaviour; docs/model.md).
DEFAULT_FACTORS = (
    Factor(
        "stress_willingness",
        "stress.willingness_effect",
        0.05,
        1.0,
        "set",
        "how much stress lowers willingness in a contact's response (willingness x exp(-effect x stress); default 0.3)",
    ),
    Factor(
        "stress_intensity",
        "stress.intensity_effect",
        0.0,
        0.6,
        "set",
        "how much stress lowers the borrower's own repayment while it lasts (default 0.3)",
    ),
    Factor(
        "stress_response",
        "stress.response_effect",
        0.0,
        0.3,
        "set",
        "how much stress weakens the response to every contact (x exp(-effect x stress); default 0.15)",
    ),
    Factor(
        "reactance",
        "stress.reactance_strength",
        0.0,
        0.15,
        "set",
        "how strongly a contact backfires per unit of stress above the threshold 3 (default 0.05)",
    ),
    Factor(
        "hardship_share",
        "portfolio.segments.*.hardship_prob",
        0.5,
        2.0,
        "scale",
        "share of borrowers hit by an income shock, as a multiple of each segment's default (0.10/0.06/0.25)",
    ),
    Factor(
        "willingness",
        "portfolio.segments.*.willingness.a",
        0.6,
        1.6,
        "scale",
        "willingness to pay: multiple of the Beta a-parameter of every segment (mean about 0.50 to 0.73)",
    ),
    Factor(
        "firm_call_response",
        "channels.firm_call.impulse",
        0.2,
        0.7,
        "set",
        "response to a firm call (its repayment impulse; default 0.45)",
    ),
    Factor("score_auc", "portfolio.score_auc", 0.55, 0.90, "set", "quality of the lender score (AUC; default 0.70)"),
)


@dataclass
class Settings:
    """Effort of a study. ``mode`` presets fill the fields not given explicitly."""

    mode: str = "tiny"
    accounts: int = 1000
    replications: int = 2
    morris_r: int = 2
    morris_levels: int = 4
    sobol_n: int = 2
    sobol_max_factors: int = 2
    seed: int = 0
    n_jobs: int = 2
    baseline: str = "soft_first"
    challenger: str = "early_escalation"
    output: str = "net_recovery"
    overrides: list[str] = field(default_factory=list)


#: Presets: tiny (tests, seconds), study (the documented run, minutes), full (tens of CPU-hours).
MODES: dict[str, dict[str, Any]] = {
    "tiny": dict(accounts=1000, replications=2, morris_r=2, sobol_n=2, sobol_max_factors=2),
    "study": dict(accounts=10000, replications=2, morris_r=10, sobol_n=32, sobol_max_factors=3),
    "full": dict(accounts=40000, replications=4, morris_r=30, sobol_n=256, sobol_max_factors=5),
}


def settings_for(mode: str, **given: Any) -> Settings:
    """The preset ``mode`` with the values in ``given`` (those not None) on top."""
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return Settings(mode=mode, **{**MODES[mode], **{k: v for k, v in given.items() if v is not None}})
