"""What the interactive page computes, without Streamlit: the choices a user makes turned
into sweep cells, run through :func:`collectsim.experiments.run_experiments`, and the
tables and figures the page shows. The browser test checks the page against these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from collectsim.config import config_dir, group_options, scaled_capacities
from collectsim.errors import ConfigError
from collectsim.experiments import ProgressFn, compare, run_experiments, sweep_command
from collectsim.report.fmt import idle_team_note

#: KPIs in the page's numbers table, in order.
PAGE_KPIS = (
    "recovery_rate",
    "net_recovery",
    "cost_to_collect",
    "stress_peak_p95",
    "distress_day_share",
    "collector_utilisation",
)
#: The full-size study the page's command line proposes.
FULL_REPLICATIONS = 12


#: The page's default book size (small, so a comparison runs in seconds).
DEFAULT_ACCOUNTS = 2000


def options(group: str) -> list[str]:
    """The options of a config group (the YAML files in ``conf/<group>/``)."""
    return group_options(group)


def segment_names(portfolio: str) -> list[tuple[str, float]]:
    """(name, default share) of each segment of a portfolio option."""
    if not (Path(config_dir()) / "portfolio" / f"{portfolio}.yaml").is_file():
        raise ConfigError(f"portfolio={portfolio} is not an option; allowed: {', '.join(options('portfolio'))}")
    data = _yaml("portfolio", portfolio)
    return [(str(s["name"]), float(s["share"])) for s in data.get("segments") or []]


def _yaml(group: str, option: str) -> dict[str, Any]:
    import yaml

    path = Path(config_dir()) / group / f"{option}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def default_willingness_effect() -> float:
    """``stress.willingness_effect`` of the default config (the page's starting value)."""
    return float(_yaml("stress", "default").get("willingness_effect", 0.0))


@lru_cache(maxsize=64)
def default_team(n_accounts: int, portfolio: str = "default") -> int:
    """The default team scaled to a book of ``n_accounts``: the same accounts per
    collector as ``collectors.size`` has for the portfolio's full book (at least 1;
    :func:`collectsim.config.scaled_capacities`)."""
    size = next(
        o for o in scaled_capacities(n_accounts, [f"portfolio={portfolio}"]) if o.startswith("collectors.size=")
    )
    return int(size.split("=", 1)[1])


def normalised_shares(weights: list[float]) -> list[float]:
    """Weights scaled to shares that sum to exactly 1 (4 decimals, the last takes the rest)."""
    total = float(sum(weights))
    if total <= 0 or any(w < 0 for w in weights):
        raise ConfigError("segment weights must be >= 0 with at least one > 0")
    shares = [round(w / total, 4) for w in weights[:-1]]
    return [*shares, round(1.0 - sum(shares), 4)]


@dataclass
class Choices:
    """What the user picked on the page."""

    portfolio: str = "default"
    segment_weights: list[float] = field(default_factory=list)
    policies: list[str] = field(default_factory=lambda: ["soft_first", "early_escalation"])
    team_size: int = field(default_factory=lambda: default_team(DEFAULT_ACCOUNTS))
    compliance: str = "china_2025"
    willingness_effect: float = field(default_factory=lambda: default_willingness_effect())
    n_accounts: int = DEFAULT_ACCOUNTS
    replications: int = 3
    seed: int = 0

    def check(self) -> None:
        """One clear error for a bad choice, naming it and what is allowed."""
        if not 2 <= len(self.policies) <= 3:
            raise ConfigError(f"pick 2 or 3 policies, got {len(self.policies)}")
        for name, group in ((self.portfolio, "portfolio"), (self.compliance, "compliance")):
            if name not in options(group):
                raise ConfigError(f"{group}={name} is not an option; allowed: {', '.join(options(group))}")
        bad = [p for p in self.policies if p not in options("policy")]
        if bad:
            raise ConfigError(f"policy={bad[0]} is not an option; allowed: {', '.join(options('policy'))}")

    def full_accounts(self) -> int:
        """Accounts of the chosen portfolio option at full size."""
        return int(_yaml("portfolio", self.portfolio).get("n_accounts", self.n_accounts))

    def full_team(self) -> int:
        """The team scaled from the page's small book to the full one (same accounts per collector)."""
        return max(1, round(self.team_size * self.full_accounts() / self.n_accounts))

    def base(self, full: bool = False) -> list[str]:
        """Overrides shared by every cell (``full``: the full-size book, team scaled to it)."""
        ovs = [
            f"portfolio={self.portfolio}",
            f"collectors.size={self.full_team() if full else self.team_size}",
            f"compliance={self.compliance}",
            f"stress.willingness_effect={self.willingness_effect:g}",
        ]
        if self.segment_weights:
            for i, share in enumerate(normalised_shares(self.segment_weights)):
                ovs.append(f"portfolio.segments.{i}.share={share:g}")
        if not full:
            ovs.append(f"portfolio.n_accounts={self.n_accounts}")
        return ovs

    def cells(self) -> list[list[str]]:
        return [[f"policy={p}"] for p in self.policies]

    def command(self) -> str:
        """The command line of the full-size sweep of the same choices."""
        cmd = sweep_command(self.cells(), self.base(full=True), self.seed, FULL_REPLICATIONS)
        assert cmd is not None  # one override per cell always forms a grid
        return cmd + f" baseline={self.policies[0]}"


@dataclass
class Outcome:
    """Everything the page shows after a run."""

    kpis: pd.DataFrame
    numbers: pd.DataFrame
    paired: pd.DataFrame
    figures: dict[str, Path]
    sweep_dir: Path
    notes: list[str] = field(default_factory=list)


def numbers_table(kpis: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% half-width per policy of :data:`PAGE_KPIS` (overall rows)."""
    from collectsim.stats import t_interval

    ov = kpis[kpis["group"] == "all"]
    rows = []
    for policy, sub in ov.groupby("policy", sort=False):
        row: dict[str, Any] = {"policy": policy, "replications": len(sub)}
        for k in PAGE_KPIS:
            if k in sub:
                m, hw, _ = t_interval(sub[k].to_numpy(float))
                row[k] = m
                row[k + "_hw"] = hw
        rows.append(row)
    return pd.DataFrame(rows)


def run_choices(choices: Choices, out_dir: str | Path, progress: ProgressFn | None = None, n_jobs: int = 1) -> Outcome:
    """Run the chosen policies on the chosen book and draw the page's figures into ``out_dir``."""
    from collectsim.report.gather import gather
    from collectsim.report.plots import plot_capacity, plot_recovery_curves, plot_recovery_vs_stress

    choices.check()
    out = Path(out_dir)
    kpis = run_experiments(
        choices.cells(),
        replications=choices.replications,
        seed=choices.seed,
        base=choices.base(),
        n_jobs=n_jobs,
        out_dir=out,
        progress=progress,
    )
    g = gather(out)
    figures = {}
    for name, fn in (
        ("recovery_vs_stress", plot_recovery_vs_stress),
        ("recovery_curves", plot_recovery_curves),
        ("capacity", plot_capacity),
    ):
        path = fn(g, out)
        if path is not None:
            figures[name] = path
    paired = compare(kpis, baseline=choices.policies[0], kpi_names=list(PAGE_KPIS))
    numbers = numbers_table(kpis)
    notes = [n for n in (staffing_note(choices),) if n]
    if "collector_utilisation" in numbers:
        idle = idle_team_note(float(numbers["collector_utilisation"].max()))
        if idle:
            notes.append(idle)
    return Outcome(kpis=kpis, numbers=numbers, paired=paired, figures=figures, sweep_dir=out, notes=notes)


def staffing_note(choices: Choices) -> str | None:
    """Whether the page's team has the default centre's staffing per account (the
    headline study's: ``collectors.size`` for the default book), in one sentence."""
    size = float(_yaml("collectors", "default").get("size", 1))
    full = float(_yaml("portfolio", "default").get("n_accounts", 1))
    per_collector = full / size
    mine = choices.n_accounts / choices.team_size
    if abs(mine / per_collector - 1.0) <= 0.25:
        return None
    return (
        f"This team has {choices.team_size} collector(s) for {choices.n_accounts:,} accounts "
        f"({mine:,.0f} per collector); the headline centre has {size:g} for {full:,.0f} "
        f"({per_collector:,.0f} per collector), so this team is "
        f"{'more' if mine < per_collector else 'less'} staffed per account than the headline study"
        + (
            " (one collector is the smallest team: a larger book reaches its staffing)"
            if choices.team_size == 1
            else ""
        )
        + "."
    )


__all__ = [
    "PAGE_KPIS",
    "Choices",
    "Outcome",
    "normalised_shares",
    "numbers_table",
    "options",
    "run_choices",
    "segment_names",
    "staffing_note",
]
