"""Sizing a live champion/challenger test (collectsim.power): the simulated power agrees
with the normal-approximation formula on Gaussian arms, where that formula is exact up
to the t/z difference, and the command refuses bad options in one line."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from collectsim import power


def _arms(size: int, delta: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 1.0, size), rng.normal(delta, 1.3, size)


def test_simulated_power_matches_the_normal_formula_on_gaussian_arms() -> None:
    # Three sizes, each judged by a 99.9% Clopper-Pearson interval of 4,000 simulated
    # tests: the family-wise error is at most 0.3%. The formula uses the populations' own
    # means and variances, so the only gap is Welch's t against z (under 0.003 here).
    a, b = _arms(200_000, 0.12, seed=1)
    for k, n in enumerate((300, 800, 1600)):
        p = power.simulated_power(a, b, n, draws=4000, seed=10 + k, level=0.999)
        assert p.low <= p.normal <= p.high, p
        assert 0.15 < p.normal < 0.95  # sizes where the check has teeth


def test_samples_larger_than_the_population_keep_the_power() -> None:
    # More accounts per arm than the population holds: drawn by multinomial counts.
    a, b = _arms(600, 0.05, seed=2)
    p = power.simulated_power(a, b, 3000, draws=4000, seed=3, level=0.999)
    assert p.low <= p.normal <= p.high, p


def test_normal_n_gives_the_target_power() -> None:
    a, b = _arms(50_000, 0.1, seed=4)
    n = power.normal_n(a, b, 0.05, 0.8)
    assert power.normal_power(a, b, math.ceil(n), 0.05) == pytest.approx(0.8, abs=1e-3)
    same = np.ones(10)
    assert power.normal_n(same, same) == math.inf


def test_the_power_curve_finds_the_size_between_its_grid_points() -> None:
    a, b = _arms(100_000, 0.1, seed=5)
    curve, need = power.power_curve(a, b, draws=3000, seed=6)
    powers = [p.power for p in curve]
    assert powers == sorted(powers) or all(x <= y + 0.03 for x, y in zip(powers, powers[1:]))
    assert curve[0].power < 0.8 <= curve[-1].power
    # Within the sampling error of the grid's power estimates around the formula's size.
    assert need == pytest.approx(power.normal_n(a, b), rel=0.15)


@pytest.mark.slow
def test_formula_inside_the_interval_at_the_nominal_rate_over_seeds() -> None:
    # 40 seeds, one 95% interval each: the count of misses is binomial(40, <= 0.05) if
    # the simulation is right; a one-sided binomial test at 1%.
    misses = 0
    for seed in range(40):
        a, b = _arms(100_000, 0.1, seed=100 + seed)
        p = power.simulated_power(a, b, 500, draws=2000, seed=seed)
        misses += not (p.low <= p.normal <= p.high)
    assert stats.binomtest(misses, 40, 0.05, alternative="greater").pvalue > 0.01, misses


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--champion", "gentle"],
            "--champion=gentle is not a policy; allowed: bots_front, do_nothing, early_escalation",
        ),
        (["--challenger", "soft_first"], "--champion and --challenger name the same policy"),
        (["--alpha", "1.5"], "--alpha must lie strictly between 0 and 1, got 1.5"),
        (["--crn", "1"], "--crn must be 0 (skip) or >= 2, got 1"),
        (["collectors.sizee=3"], "collectors.sizee is not a known key"),
    ],
)
def test_bad_options_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert power.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("collectsim-power: error: ") and message in err and "\n" not in err


def test_the_live_test_splits_the_measured_book_between_the_arms() -> None:
    tiny = ["portfolio.n_accounts=1500", "collectors.size=1", "portfolio.arrival=cohort"]
    a, b, _ = power.live_test("soft_first", "early_escalation", tiny, outcome="recovered", replications=1)
    assert a.size + b.size == 1500 and min(a.size, b.size) > 600
    assert (a >= 0).all() and (b >= 0).all()
