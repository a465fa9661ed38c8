"""Closed forms the simulator is validated against (docs/validation.md).

Queueing: Erlang C for an M/M/c queue. Repayments with no actions: the probability of a
first repayment by day t from the intensity's compensator, the expected amount repaid
when every repayment pays in full, and the expected number of repayments of the marked
self-exciting process when none pays in full (an ODE solved with SciPy).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate


def erlang_c(arrival_rate: float, service_rate: float, servers: int) -> tuple[float, float]:
    """Probability of waiting and mean wait in queue of an M/M/c system.

    Parameters
    ----------
    arrival_rate, service_rate : per unit time (the same unit); ``servers`` = c.

    Returns
    -------
    (P(wait > 0), mean wait in queue) in the rates' time unit.
    """
    a = arrival_rate / service_rate
    rho = a / servers
    if rho >= 1:
        raise ValueError(f"unstable queue: utilisation {rho:g} >= 1")
    top = a**servers / math.factorial(servers) / (1 - rho)
    bottom = sum(a**k / math.factorial(k) for k in range(servers)) + top
    p_wait = top / bottom
    return p_wait, p_wait / (servers * service_rate - arrival_rate)


def compensator(lam0: np.ndarray, floor: np.ndarray, kappa: float, t: np.ndarray | float) -> np.ndarray:
    """Integrated intensity from 0 to t of ``floor + (lam0 - floor) * exp(-kappa * s)``."""
    return floor * t + (lam0 - floor) * (1.0 - np.exp(-kappa * np.asarray(t))) / kappa


def prob_repaid_by(lam0: np.ndarray, floor: np.ndarray, kappa: float, t: float) -> float:
    """Portfolio share with at least one repayment by day ``t`` (no actions)."""
    return float(np.mean(1.0 - np.exp(-compensator(lam0, floor, kappa, t))))


def amount_repaid_full_payoff(
    principal: np.ndarray, daily_interest: np.ndarray, lam0: np.ndarray, floor: np.ndarray, kappa: float, t: int
) -> float:
    """Expected total repaid by day ``t`` when the first repayment always pays in full.

    A payment during day k pays the principal plus k days of simple interest
    (``daily_interest`` = contract + penalty rate), and it comes in day k with
    probability ``exp(-L(k)) - exp(-L(k + 1))``.
    """
    days = np.arange(t)
    lam_k = compensator(lam0[:, None], floor[:, None], kappa, days[None, :])
    lam_k1 = compensator(lam0[:, None], floor[:, None], kappa, days[None, :] + 1.0)
    p_day = np.exp(-lam_k) - np.exp(-lam_k1)
    owed = principal[:, None] * (1.0 + daily_interest[:, None] * days[None, :])
    return float(np.sum(p_day * owed))


def expected_repayments(lam0: np.ndarray, floor: np.ndarray, kappa: float, jump: float, t: float) -> float:
    """Mean number of repayments per account by day ``t`` of the marked self-exciting
    process with no account closing (no full payoff), from the ODE for the mean
    intensity ``m' = kappa * (floor - m) + jump * m`` (``jump`` = mean intensity jump
    per repayment), integrated with SciPy's ``solve_ivp``."""

    def rhs(_s: float, y: np.ndarray) -> np.ndarray:
        m = y[: lam0.size]
        return np.concatenate([kappa * (floor - m) + jump * m, m])

    y0 = np.concatenate([lam0, np.zeros(lam0.size)])
    sol = integrate.solve_ivp(rhs, (0.0, t), y0, rtol=1e-10, atol=1e-12)
    return float(np.mean(sol.y[lam0.size :, -1]))
