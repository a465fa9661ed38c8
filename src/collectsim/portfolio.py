"""The synthetic delinquent portfolio: one NumPy column per account attribute."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

from collectsim.distributions import sample
from collectsim.random_streams import RandomStreams
from collectsim.scenario_types import PortfolioConfig


@dataclass
class Portfolio:
    """Accounts as parallel arrays (index = account id), sorted by entry time.

    Attributes
    ----------
    entry_time : days since the start of the run when the account enters delinquency
        (days past due 1).
    principal : overdue balance at entry, yuan.
    daily_rate : contract daily interest rate; penalty interest is
        ``penalty_multiplier * daily_rate`` on top, so the balance grows by
        ``(1 + penalty_multiplier) * daily_rate`` per day.
    ability, willingness, contactability : latent traits in [0, 1].
    sensitivity : how strongly contacts raise this borrower's stress (>= 0).
    hardship_end : time at which a temporary income shock ends (= entry_time if none).
    score : the lender's score, a noisy signal of ``ability * willingness``; higher
        means more likely to repay. Observable by policies.
    segment : index into ``segment_names``.
    measured : True for the accounts the KPIs follow: every account of a cohort; in
        stream mode those entering inside the measured window.
    window : (first day, end day) of the measured window, the days over which capacity
        KPIs are taken in stream mode; ``(0, inf)`` for a cohort.
    address_known : the lender knows where to visit the borrower (home or work); only
        these accounts can get a field visit. ``None``: every address is known.
    """

    entry_time: np.ndarray
    principal: np.ndarray
    daily_rate: np.ndarray
    ability: np.ndarray
    willingness: np.ndarray
    contactability: np.ndarray
    sensitivity: np.ndarray
    hardship_end: np.ndarray
    score: np.ndarray
    segment: np.ndarray
    measured: np.ndarray
    segment_names: list[str]
    hardship_ability_factor: float
    window: tuple[float, float] = (0.0, float("inf"))
    address_known: np.ndarray | None = None

    def ability_at(self, idx: np.ndarray, time: np.ndarray | float) -> np.ndarray:
        """Ability of accounts ``idx`` at ``time``: lowered while a hardship shock lasts."""
        ab = self.ability[idx]
        return np.where(time < self.hardship_end[idx], ab * self.hardship_ability_factor, ab)

    @property
    def n(self) -> int:
        return int(self.principal.size)

    @property
    def propensity(self) -> np.ndarray:
        """The latent repayment propensity that the score tries to rank."""
        return self.ability * self.willingness


@lru_cache(maxsize=1)
def _half_normal_nodes() -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes on [0, 9] and weights times the half-normal density (the
    half-normal mass beyond 9 is below 1e-18); computed once, they cost an eigenvalue
    problem."""
    x, w = np.polynomial.legendre.leggauss(160)
    a = 4.5 * (x + 1.0)
    return a, 4.5 * w * 2.0 * np.exp(-0.5 * a * a) / np.sqrt(2.0 * np.pi)  # 2 x standard normal pdf


def _auc_of_noise(sigma: float) -> float:
    """AUC of ``z + sigma * e`` for separating z > 0 from z < 0 (z, e standard normal).

    For a pair (z_i > 0, z_j < 0) the score difference is ``|a| + |b| + sigma*sqrt(2)*e``
    with a, b half-normal, so AUC = E[Phi((|a| + |b|) / (sigma * sqrt(2)))].
    """
    if sigma <= 0:
        return 1.0
    a, wa = _half_normal_nodes()
    inner = special.ndtr((a[:, None] + a[None, :]) / (sigma * np.sqrt(2.0)))
    return float(wa @ inner @ wa)


@lru_cache(maxsize=64)
def noise_for_auc(target_auc: float) -> float:
    """The score noise (in units of the latent's standard deviation) giving ``target_auc``.

    The AUC is defined against the latent split at the median propensity: the chance
    that a random above-median borrower scores higher than a random below-median one.
    """
    from scipy import optimize  # imported here: it is slow to import and needed once

    return float(optimize.brentq(lambda s: _auc_of_noise(s) - target_auc, 1e-4, 200.0, xtol=1e-8))


def build_portfolio(cfg: PortfolioConfig, streams: RandomStreams) -> Portfolio:
    """Draw the accounts of a run from the ``portfolio`` stream (and ``arrivals``)."""
    rng = streams["portfolio"]
    if cfg.arrival == "cohort":
        n = cfg.n_accounts
        entry = np.zeros(n)
        measured = np.ones(n, dtype=bool)
        window = (0.0, float("inf"))
    else:
        # A Poisson stream conditioned on its count: n arrivals spread uniformly over
        # warm-up, measured window and cool-down (rate n / span per day). An account
        # becomes delinquent when a day starts (the due date has passed), so entry days
        # are whole. Arrivals go on through the cool-down so that the measured accounts'
        # later days see a team as loaded as in steady state; only the window's entries
        # are measured.
        n = cfg.n_accounts
        span = cfg.span_days
        entry = np.sort(np.floor(streams["arrivals"].uniform(0.0, span, size=n)))
        window = (float(cfg.warmup_days), float(cfg.warmup_days + cfg.arrival_days))
        measured = (entry >= window[0]) & (entry < window[1])
    shares = np.array([s.share for s in cfg.segments])
    segment = rng.choice(len(cfg.segments), size=n, p=shares / shares.sum()).astype(np.int16)
    cols = {
        k: np.empty(n)
        for k in ("principal", "daily_rate", "ability", "willingness", "contactability", "sensitivity", "hardship")
    }
    for k, seg in enumerate(cfg.segments):
        idx = np.flatnonzero(segment == k)
        m = idx.size
        cols["principal"][idx] = sample(seg.principal_yuan, rng, m)
        cols["daily_rate"][idx] = sample(seg.daily_rate, rng, m)
        cols["ability"][idx] = np.clip(sample(seg.ability, rng, m), 0.0, 1.0)
        # The scale moves every borrower's willingness on the same draws (clipped at 1).
        cols["willingness"][idx] = np.clip(sample(seg.willingness, rng, m) * cfg.willingness_scale, 0.0, 1.0)
        cols["contactability"][idx] = np.clip(sample(seg.contactability, rng, m), 0.0, 1.0)
        cols["sensitivity"][idx] = np.maximum(sample(seg.stress_sensitivity, rng, m), 0.0)
        shocked = rng.random(m) < min(seg.hardship_prob * cfg.hardship_scale, 1.0)
        days = np.maximum(sample(seg.hardship_days, rng, m), 0.0)
        cols["hardship"][idx] = np.where(shocked, days, 0.0)
    propensity = cols["ability"] * cols["willingness"]
    # Rank-normalise the latent so the noise level means the same whatever the trait
    # distributions are, then add Gaussian noise sized for the target AUC.
    # Ordinal ranks 1..n (ties in order of appearance, as scipy's method="ordinal").
    ranks = np.empty(n)
    ranks[np.argsort(propensity, kind="stable")] = np.arange(1, n + 1)
    z = special.ndtri(ranks / (n + 1.0)) if n else ranks.astype(float)
    score = z + noise_for_auc(cfg.score_auc) * streams["score"].standard_normal(n)
    return Portfolio(
        entry_time=entry,
        principal=cols["principal"],
        daily_rate=cols["daily_rate"],
        ability=cols["ability"],
        willingness=cols["willingness"],
        contactability=cols["contactability"],
        sensitivity=cols["sensitivity"],
        hardship_end=entry + cols["hardship"],
        score=score,
        segment=segment,
        measured=measured,
        segment_names=[s.name for s in cfg.segments],
        hardship_ability_factor=cfg.hardship_ability_factor,
        window=window,
        # A keyed draw per account (its own stream): the book's other draws, and so
        # every result of a run without visits, do not depend on it.
        address_known=streams.keyed("address", np.arange(n), np.zeros(n, dtype=np.int64)) < cfg.known_address_share,
    )
