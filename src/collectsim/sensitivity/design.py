"""Design of a sensitivity study: the uncertain factors, the analysed outputs and the effort settings.

A :class:`Factor` writes a value into the scenario; :data:`DEFAULT_FACTORS` are the
uncertainties that move the comparison of soft-first with the escalating policies,
:class:`Settings` and :data:`MODES` the effort (tiny, study, full) of a study.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collectsim.errors import ConfigError

CONFIDENCE = 0.95
#: KPIs whose paired difference is analysed; the first one drives the win, sign and flip analysis unless told.
OUTPUTS = ("net_recovery", "recovery_rate", "stress_peak_p95")
#: The built-in policies compared with the baseline by default (all but the baseline and the
#: no-contact references do_nothing and silent; tunable_staged is staged at its defaults).
CHALLENGERS = ("staged", "score_prioritized", "early_escalation", "pressure")


@dataclass(frozen=True)
class Factor:
    """An uncertain input: ``path`` into the scenario (``*`` = every list element;
    several paths separated by commas move together), either set to a value in
    [low, high] (``op="set"``) or multiplied by one (``op="scale"``, the nominal value
    then being 1). An integer setting stays an integer (rounded)."""

    name: str
    path: str
    low: float
    high: float
    op: str = "set"
    description: str = ""

    @property
    def paths(self) -> list[str]:
        """The scenario keys this factor writes (dotted)."""
        return [p.strip() for p in self.path.split(",")]

    def apply(self, data: dict[str, Any], value: float) -> None:
        """Write ``value`` into the scenario dict ``data`` (in place)."""
        for path in self.paths:
            self._apply(data, path, value)

    def _apply(self, data: dict[str, Any], path: str, value: float) -> None:
        parts = path.split(".")

        def walk(node: Any, i: int) -> None:
            key: Any = parts[i]
            last = i + 1 == len(parts)
            if key == "*":
                if not isinstance(node, list) or last:
                    raise ConfigError(f"sensitivity factor {self.name}: '*' in {path} must stand for a list")
                for item in node:
                    walk(item, i + 1)
                return
            if isinstance(node, list):
                key = int(key)
            elif not isinstance(node, dict) or key not in node:
                raise ConfigError(f"sensitivity factor {self.name}: no key {'.'.join(parts[: i + 1])} in the scenario")
            if last:
                new = float(value) if self.op == "set" else float(node[key]) * float(value)
                # An integer setting (dialler lines, days) stays an integer.
                keep_int = isinstance(node[key], int) and not isinstance(node[key], bool)
                node[key] = round(new) if keep_int else new
            else:
                walk(node[key], i + 1)

        walk(data, 0)

    def nominal(self, data: dict[str, Any]) -> float:
        """The factor's value in the unmodified scenario (1 for a scale factor; the first path's value)."""
        if self.op == "scale":
            return 1.0
        node: Any = data
        for key in self.paths[0].split("."):
            node = node[0] if key == "*" else node[int(key)] if isinstance(node, list) else node[key]
        return float(node)


#: The uncertainties that move soft-first against the escalating policies, each over its
#: documented range (docs/model.md, section 7a and the parameter tables; docs/references.md).
DEFAULT_FACTORS = (
    Factor(
        "stress_willingness",
        "stress.willingness_effect",
        0.05,
        1.0,
        "set",
        "how much stress lowers willingness in a contact's response (willingness × exp(−effect × stress)); "
        "default 0.3, assumption",
    ),
    Factor(
        "stress_intensity",
        "stress.intensity_effect",
        0.0,
        0.6,
        "set",
        "how much stress lowers the borrower's own repayment while it lasts; default 0.3, assumption",
    ),
    Factor(
        "stress_response",
        "stress.response_effect",
        0.0,
        0.3,
        "set",
        "how much stress weakens the response to every contact (× exp(−effect × stress)); default 0.15, assumption",
    ),
    Factor(
        "willingness",
        "portfolio.willingness_scale",
        0.5,
        1.3,
        "set",
        "every borrower's willingness to pay, as a multiple (clipped at 1); default 1 (the segments' Beta "
        "distributions, calibrated to the targets in docs/model.md); range an assumption, as in "
        "experiments/flip_points",
    ),
    Factor(
        "hardship",
        "portfolio.hardship_scale",
        0.5,
        3.0,
        "set",
        "every segment's chance of an income shock, as a multiple of its default (0.10/0.06/0.25); default 1, "
        "assumption; range as in experiments/flip_points",
    ),
    Factor(
        "firm_call_impulse",
        "channels.firm_call.impulse",
        0.2,
        0.7,
        "set",
        "response to a firm call (its repayment impulse); default 0.45, assumption",
    ),
    Factor(
        "third_party_reactance",
        "channels.extra.third_party_call.reactance, channels.extra.notify_contacts.reactance",
        0.0,
        0.3,
        "set",
        "backfire of contacting the borrower's listed contacts (call and message), per unit of stress above 3; "
        "default 0.15; sourced direction both ways (Liao et al. 2020 against Lu et al. 2021), size assumption",
    ),
    Factor(
        "sms_firm_call_reactance",
        "channels.sms.reactance, channels.firm_call.reactance",
        0.0,
        0.05,
        "set",
        "backfire of reminders and firm calls to the borrower, per unit of stress above 3; default 0 (no evidence "
        "of backfire), assumption",
    ),
    Factor(
        "frequency_reactance",
        "response.frequency_reactance",
        0.0,
        0.05,
        "set",
        "strength a call loses per call above 7 in 7 days; default 0.02; threshold sourced (Regulation F), "
        "size assumption",
    ),
    Factor(
        "legal_warning_credibility",
        "channels.legal_warning.credibility_lift",
        0.0,
        0.4,
        "set",
        "a legal warning believed: willingness lifted toward 1 by this share for 60 days; default 0.2; "
        "direction sourced (Fellner, Sausgruber and Traxler 2013), size assumption",
    ),
    Factor(
        "lawsuit_credibility",
        "channels.lawsuit.credibility_lift",
        0.0,
        0.6,
        "set",
        "a filed lawsuit believed until judgment: willingness lifted toward 1 by this share; default 0.4, assumption",
    ),
    Factor(
        "enforcement_lift",
        "channels.lawsuit.enforcement_lift",
        0.2,
        0.8,
        "set",
        "willingness lift during the year a won judgment is enforced (the dishonest-debtor list); default 0.5; "
        "direction sourced (Supreme People's Court provisions 2013/2017), size assumption",
    ),
    Factor(
        "lawsuit_recovery",
        "channels.lawsuit.recovery_fraction",
        0.3,
        0.9,
        "set",
        "share of the balance (times ability) a won judgment recovers; default 0.6, assumption (no documented "
        "range; 0.3-0.9 chosen here)",
    ),
    Factor(
        "competition_rate",
        "response.competition_rate",
        0.0,
        0.01,
        "set",
        "competing creditors: this lender's share of a late borrower's money is exp(−rate × days); "
        "default 0.004 per day, assumption",
    ),
    Factor(
        "firm_call_priority_gain",
        "channels.firm_call.priority_gain",
        0.0,
        0.5,
        "set",
        "share of the competing-creditor clock a delivered firm call buys back; default 0.2, assumption",
    ),
    Factor(
        "agency_impulse",
        "channels.extra.agency_call.impulse",
        0.1,
        0.5,
        "set",
        "response to the agency's calls on outsourced accounts; default 0.35, assumption",
    ),
    Factor(
        "agency_lines",
        "channels.agency.lines_per_day",
        0.0,
        2.0,
        "scale",
        "the agency's calls a day, as a multiple of its default (1,500 a day on the default book, scaled with "
        "the book; range 0-3,000), assumption",
    ),
    Factor(
        "outsourcing_commission",
        "channels.outsourcing_commission",
        0.12,
        0.40,
        "set",
        "the agency's commission on what it collects; default 0.25; sourced (agency commissions 12-40%, "
        "docs/references.md#costs-and-operations)",
    ),
    Factor(
        "score_auc",
        "portfolio.score_auc",
        0.55,
        0.90,
        "set",
        "quality of the lender score (AUC); default 0.70, sourced (typical behaviour-score AUC); only "
        "score_prioritized reads the score, so a null control for the others",
    ),
)


@dataclass
class Settings:
    """Effort of a study. ``mode`` presets fill the fields not given explicitly.

    ``accounts`` None: one collector's share of the default book (its accounts divided
    by the default team), so the scaled team is a whole agent at the default occupancy.
    ``replications`` per point and policy; ``nominal_replications`` at the defaults,
    whose paired spread is the standard error of a one-replication point.
    """

    mode: str = "tiny"
    accounts: int | None = 100
    replications: int = 1
    nominal_replications: int = 2
    morris_r: int = 2
    morris_levels: int = 4
    sobol_n: int = 2
    sobol_max_factors: int = 2
    seed: int = 0
    n_jobs: int = 2
    baseline: str = "soft_first"
    challengers: list[str] = field(default_factory=lambda: list(CHALLENGERS))
    output: str = "net_recovery"
    overrides: list[str] = field(default_factory=list)

    @property
    def policies(self) -> list[str]:
        """The baseline, then the challengers."""
        return [self.baseline, *self.challengers]


#: Presets: tiny (tests, about a minute: a small cohort book followed for 90 days, no Sobol),
#: study (the documented run, under half an hour on 2 cores), full (tens of CPU-hours).
MODES: dict[str, dict[str, Any]] = {
    "tiny": dict(
        accounts=100,
        replications=1,
        nominal_replications=2,
        morris_r=2,
        sobol_n=0,
        sobol_max_factors=2,
        overrides=["portfolio.arrival=cohort", "simulation.horizon_days=90", "simulation.legal_tail_days=60"],
    ),
    "study": dict(accounts=None, replications=1, nominal_replications=4, morris_r=3, sobol_n=0, sobol_max_factors=3),
    "full": dict(accounts=None, replications=2, nominal_replications=8, morris_r=20, sobol_n=128, sobol_max_factors=5),
}


def settings_for(mode: str, **given: Any) -> Settings:
    """The preset ``mode`` with the values in ``given`` (those not None) on top."""
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    preset = MODES[mode]
    given = {k: v for k, v in given.items() if v is not None}
    # A preset's overrides (tiny's short run) stay under the ones given.
    given["overrides"] = [*preset.get("overrides", []), *given.get("overrides", [])]
    s = Settings(mode=mode, **{**preset, **given})
    if s.baseline in s.challengers:
        raise ConfigError(f"challengers must not include the baseline {s.baseline!r}")
    if not s.challengers or len(set(s.challengers)) != len(s.challengers):
        raise ConfigError(f"challengers must be one or more distinct policies, got {s.challengers}")
    if s.replications < 1 or s.nominal_replications < 2:
        raise ConfigError(
            f"replications must be >= 1 and nominal_replications >= 2, got {s.replications}, {s.nominal_replications}"
        )
    return s
