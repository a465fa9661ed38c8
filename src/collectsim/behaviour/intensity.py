"""Self-exciting repayment intensity (after Chehrazi and Weber 2015; Chehrazi, Glynn
and Weber 2019), the default behaviour model.

Each account has a repayment intensity lambda(t) (repayments per day). Between events
it relaxes exponentially toward a floor ``lambda_inf`` at rate ``kappa``::

    lambda(t) = lambda_inf + (lambda(t0) - lambda_inf) * exp(-kappa * (t - t0))

A repayment pays a fraction ``r`` of the balance (``r = 1`` with probability
``p_full``, else ``r ~ Beta(fraction_a, fraction_b)``) and raises the intensity by
``delta10 + delta11 * r``. A contact changes it by ``impulse_scale * strength`` (a
negative strength lowers it, to 0 at most).
Per-account floors scale as ``floor_rate * ability**floor_ability_exp *
willingness**floor_willingness_exp``, with ability lowered during a hardship shock
(:meth:`Portfolio.ability_at`).

The next repayment time is drawn exactly: with E ~ Exp(1), the wait tau solves the
compensator equation ``lambda_inf*tau + A*(1 - exp(-kappa*tau))/kappa = E`` with
``A = lambda(t0) - lambda_inf``, by Newton's method from a bound on the side where it
converges monotonically. An account costs a handful of draws, not one per day.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from collectsim.behaviour.base import Repayments, params_from
from collectsim.behaviour.intensity_kernels import (
    _due_step,
    _partial_draws,
    _redraw_finish,
    _redraw_setup,
    _repay_step,
    _respond_setup,
    _respond_step,
    _switch_select,
    factor_setup,
    factor_step,
    newton,
)
from collectsim.jit import COMPILED, compiled_steps, keeps_methods
from collectsim.portfolio import Portfolio
from collectsim.random_streams import RandomStreams

_PARAMS = (
    "floor_rate",
    "floor_ability_exp",
    "floor_willingness_exp",
    "initial_excess",
    "kappa",
    "delta10",
    "delta11",
    "impulse_scale",
    "fraction_a",
    "fraction_b",
    "full_payoff_base",
    "full_payoff_ability_exp",
)


def waiting_times(lam0: np.ndarray, floor: np.ndarray, kappa: float, e: np.ndarray) -> np.ndarray:
    """Solve ``floor*tau + (lam0-floor)*(1-exp(-kappa*tau))/kappa = e`` for tau (days).

    Returns ``inf`` where the compensator never reaches ``e`` (zero floor).
    """
    a = lam0 - floor
    tiny = 1e-300
    concave = a >= 0
    # Concave compensator: start from the lower bound e/lam0 and Newton climbs
    # monotonically; convex (intensity rising to its floor): start from the upper bound.
    tau = np.where(concave, e / np.maximum(lam0, tiny), e / np.maximum(np.minimum(lam0, floor), tiny))
    # An intensity near 0 rising to its floor (a contact that backfired) makes that bound
    # huge, and Newton's first step from it cancels catastrophically. The compensator is
    # at least floor*tau + a/kappa, which gives a tighter upper bound; use it there.
    upper = (e - a / kappa) / np.maximum(floor, tiny)
    far = ~concave & (tau > 1e3 * upper)
    tau[far] = upper[far]
    never = (floor <= 0) & (e >= a / kappa)
    tau = np.where(never, 0.0, tau)
    # Each element stops at its own convergence, so an account's result never depends
    # on which other accounts were solved in the same batch.
    live = np.flatnonzero(~never)
    if COMPILED:
        t = tau[live]
        newton(t, floor[live], a[live], e[live], kappa)
        tau[live] = t
        tau[never] = np.inf
        return tau
    for _ in range(100):
        if live.size == 0:
            break
        t, fl, aa = tau[live], floor[live], a[live]
        ek = np.exp(-kappa * t)
        step = (fl * t + aa * (1.0 - ek) / kappa - e[live]) / np.maximum(fl + aa * ek, tiny)
        t = t - step
        tau[live] = t
        live = live[np.abs(step) > 1e-11 * (1.0 + np.abs(t))]
    tau[never] = np.inf
    return tau


#: The methods the compiled steps stand in for (a subclass overriding one runs the NumPy path).
_STEP_METHODS = ("_redraw", "_uniform", "_lam_at", "_floor", "_run")


class SelfExcitingIntensity:
    """The default behaviour model; see the module docstring for the equations."""

    def __init__(self, **params: float) -> None:
        self.p = params

    @classmethod
    def from_config(cls, params: dict[str, Any], key: str, **_: Any) -> SelfExcitingIntensity:
        from collectsim.errors import ConfigError

        p = params_from(params, key, _PARAMS)
        for name in ("floor_rate", "kappa", "impulse_scale", "fraction_a", "fraction_b"):
            if p[name] <= 0 and name != "impulse_scale":
                raise ConfigError(f"{key}.{name} must be > 0, got {p[name]:g}")
        for name in ("initial_excess", "delta10", "delta11", "impulse_scale"):
            if p[name] < 0:
                raise ConfigError(f"{key}.{name} must be >= 0, got {p[name]:g}")
        for name in ("full_payoff_base",):
            if not 0 <= p[name] <= 1:
                raise ConfigError(f"{key}.{name} must be in [0, 1], got {p[name]:g}")
        return cls(**p)

    # ------------------------------------------------------------------ set-up
    def start(self, portfolio: Portfolio, streams: RandomStreams, horizon_days: float) -> None:
        # Per-account counter-based draws: an account's repayment randomness does not
        # depend on the other accounts (common random numbers across policies).
        self.streams = streams
        # Run the compiled steps (same results), unless a subclass changed a step.
        self._steps = compiled_steps() and keeps_methods(self, SelfExcitingIntensity, _STEP_METHODS)
        self.draws = np.zeros(portfolio.n, dtype=np.int64)
        self.pf = portfolio
        n = portfolio.n
        self.in_hardship = portfolio.hardship_end > portfolio.entry_time
        hard = np.flatnonzero(self.in_hardship)
        self._hard_order = hard[np.argsort(portfolio.hardship_end[hard], kind="stable")]
        self._hard_ends = portfolio.hardship_end[self._hard_order]
        self._hard_ptr = 0
        self.lam, self.floor = self.initial_state(portfolio)
        self.factor = np.ones(n)  # stress factor on willingness in the floor
        self.t = portfolio.entry_time.copy()
        self.next_t = np.full(n, np.inf)
        all_idx = np.arange(n)
        self._redraw(all_idx)

    def initial_state(self, portfolio: Portfolio) -> tuple[np.ndarray, np.ndarray]:
        """Intensity at entry and its floor, per account (repayments per day)."""
        in_hardship = portfolio.hardship_end > portfolio.entry_time
        ab = np.where(in_hardship, portfolio.ability * portfolio.hardship_ability_factor, portfolio.ability)
        floor = self._floor(ab, portfolio.willingness)
        return floor + self.p["initial_excess"] * ab * portfolio.willingness, floor

    def _floor(self, ability: np.ndarray, willingness: np.ndarray) -> np.ndarray:
        p = self.p
        return p["floor_rate"] * ability ** p["floor_ability_exp"] * willingness ** p["floor_willingness_exp"]

    def _redraw(self, idx: np.ndarray) -> None:
        if idx.size == 0:
            return
        if self._steps and idx.dtype == np.int64:
            self._redraw_compiled(idx)
            return
        e = -np.log(self._uniform(idx))
        self.next_t[idx] = self.t[idx] + waiting_times(self.lam[idx], self.floor[idx], self.p["kappa"], e)

    def _redraw_compiled(self, idx: np.ndarray) -> None:
        """:meth:`_redraw` in compiled steps: the same draws, the same bits."""
        e = self.streams.keyed_next("behaviour", idx, self.draws)[0]
        np.log(e, out=e)
        np.negative(e, out=e)
        kappa = self.p["kappa"]
        n = idx.size
        tau = np.empty(n)
        w = np.empty((4, n))
        pos = np.empty(n, dtype=np.int64)
        m = _redraw_setup(idx, self.lam, self.floor, e, kappa, tau, w, pos)
        if m:
            newton(w[0, :m], w[1, :m], w[2, :m], w[3, :m], kappa)
        _redraw_finish(idx, self.t, self.next_t, tau, w, pos[:m])

    def _uniform(self, idx: np.ndarray) -> np.ndarray:
        u = self.streams.keyed("behaviour", idx, self.draws[idx])
        self.draws[idx] += 1
        return u

    def _lam_at(self, idx: np.ndarray, t: np.ndarray) -> np.ndarray:
        f = self.floor[idx]
        return f + (self.lam[idx] - f) * np.exp(-self.p["kappa"] * (t - self.t[idx]))

    # ------------------------------------------------------------------ dynamics
    def advance(self, idx: np.ndarray | None, until: np.ndarray | float) -> Repayments:
        if idx is None:
            if np.ndim(until) == 0:
                # Everyone to one time: only accounts due before it, or whose shock
                # ends before it, can change (shock ends are walked in sorted order).
                k = int(np.searchsorted(self._hard_ends, until, side="left"))
                ending = self._hard_order[self._hard_ptr : k]
                self._hard_ptr = max(self._hard_ptr, k)
                ending = ending[self.next_t[ending] < np.inf]
                due = np.flatnonzero(self.next_t < until)
                idx = np.union1d(due, ending) if ending.size else due  # both sorted, no repeats
            else:
                idx = np.arange(self.next_t.size)
        if self._steps and idx.dtype == np.int64:
            until_arr = np.full(idx.size, until) if np.ndim(until) == 0 else np.ascontiguousarray(until, dtype=float)
            sidx, send = np.empty(idx.size, dtype=np.int64), np.empty(idx.size)
            m = _switch_select(idx, until_arr, self.in_hardship, self.pf.hardship_end, sidx, send)
            if m == 0:
                return self._run(idx, until_arr)
            sidx, send = sidx[:m], send[:m]
        else:
            until_arr = np.broadcast_to(np.asarray(until, dtype=float), idx.shape)
            ends = self.pf.hardship_end[idx]
            sw = self.in_hardship[idx] & (ends < until_arr)
            sidx, send = idx[sw], ends[sw]
        parts: list[Repayments] = []
        # A hardship shock ending before `until` is a breakpoint: run to it, switch the
        # floor, and draw afresh from there (exact by the Markov property).
        if sidx.size:
            parts.append(self._run(sidx, send))
            tb = self.pf.hardship_end[sidx]
            open_ = self.next_t[sidx] < np.inf
            lam_b = self._lam_at(sidx, tb)
            self.in_hardship[sidx] = False
            self.floor[sidx] = self._floor(self.pf.ability[sidx], self.pf.willingness[sidx] * self.factor[sidx])
            self.lam[sidx] = lam_b
            self.t[sidx] = tb
            keep = sidx[open_]
            self._redraw(keep)
        parts.append(self._run(idx, until_arr))
        return Repayments.concat(parts)

    def _run(self, idx: np.ndarray, until: np.ndarray) -> Repayments:
        if self._steps and idx.dtype == np.int64:
            return self._run_compiled(idx, until)
        p = self.p
        parts: list[Repayments] = []
        cur, cur_until = idx, until
        while True:
            due_mask = self.next_t[cur] < cur_until
            if not due_mask.any():
                break
            cur, cur_until = cur[due_mask], cur_until[due_mask]
            t = self.next_t[cur]
            lam_t = self._lam_at(cur, t)
            ab = self.pf.ability_at(cur, t)
            p_full = p["full_payoff_base"] * ab ** p["full_payoff_ability_exp"]
            u = self._uniform(cur)
            r = np.where(u < p_full, 1.0, special.betaincinv(p["fraction_a"], p["fraction_b"], self._uniform(cur)))
            parts.append(Repayments(cur.copy(), t.copy(), r))
            self.lam[cur] = lam_t + p["delta10"] + p["delta11"] * r
            self.t[cur] = t
            paid = r >= 1.0
            self.next_t[cur[paid]] = np.inf
            live = cur[~paid]
            self._redraw(live)
            cur, cur_until = live, cur_until[~paid]
        return Repayments.concat(parts)

    def _run_compiled(self, idx: np.ndarray, until: np.ndarray) -> Repayments:
        """:meth:`_run` in compiled steps: the same draws, the same bits."""
        p, pf = self.p, self.pf
        n = idx.size
        cur, cur_until = np.empty(n, dtype=np.int64), np.empty(n)
        t_buf, x_buf, ab_buf = np.empty(n), np.empty(n), np.empty(n)
        src, src_until = idx, np.ascontiguousarray(until, dtype=float)
        parts: list[Repayments] = []
        base, a, b = p["full_payoff_base"], p["fraction_a"], p["fraction_b"]
        while True:
            m = _due_step(
                src, src_until, self.next_t, self.t, pf.ability, pf.hardship_end, pf.hardship_ability_factor,
                -p["kappa"], cur, cur_until, t_buf, x_buf, ab_buf,
            )  # fmt: skip
            if m == 0:
                break
            t = t_buf[:m].copy()
            ex = np.exp(x_buf[:m])
            pw = ab_buf[:m] ** p["full_payoff_ability_exp"]
            u = self.streams.keyed_next("behaviour", cur[:m], self.draws, 2)
            partial = np.empty(m)
            k = _partial_draws(u, pw, base, partial)
            partial = special.betaincinv(a, b, partial[:k])
            r, rep_idx = np.empty(m), np.empty(m, dtype=np.int64)
            live = _repay_step(
                cur[:m], cur_until[:m], t, ex, u, pw, base, partial, p["delta10"], p["delta11"],
                self.lam, self.floor, self.t, self.next_t, r, rep_idx,
            )  # fmt: skip
            parts.append(Repayments(rep_idx, t, r))
            src, src_until = cur[:live], cur_until[:live]
            self._redraw(src)
        return Repayments.concat(parts)

    def respond(self, idx: np.ndarray, time: np.ndarray, strength: np.ndarray) -> None:
        if self._steps and idx.dtype == np.int64:
            n = idx.size
            i, tm, s, x = np.empty(n, dtype=np.int64), np.empty(n), np.empty(n), np.empty(n)
            m = _respond_setup(idx, time, strength, self.next_t, self.t, -self.p["kappa"], i, tm, s, x)
            if m:
                i, tm, s, x = i[:m], tm[:m], s[:m], x[:m]
                np.exp(x, out=x)
                _respond_step(i, tm, s, x, self.p["impulse_scale"], self.lam, self.floor, self.t)
                self._redraw(i)
            return
        live = self.next_t[idx] < np.inf
        idx, time, strength = idx[live], time[live], strength[live]
        if idx.size == 0:
            return
        # A negative strength (a contact that backfires) lowers the intensity, never below 0.
        self.lam[idx] = np.maximum(self._lam_at(idx, time) + self.p["impulse_scale"] * strength, 0.0)
        self.t[idx] = time
        self._redraw(idx)

    def close(self, idx: np.ndarray) -> None:
        self.next_t[idx] = np.inf

    def set_willingness_factor(self, idx: np.ndarray, time: float, factor: np.ndarray) -> None:
        """Stress lowers the floor through willingness: the floor becomes that of
        ``willingness * factor``; the excitation above the floor is kept."""
        if self._steps and idx.dtype == np.int64:
            self._set_factor_compiled(idx, float(time), np.ascontiguousarray(factor, dtype=float))
            return
        live = self.next_t[idx] < np.inf
        idx, factor = idx[live], factor[live]
        if idx.size == 0:
            return
        self.factor[idx] = factor
        t = np.full(idx.size, float(time))
        lam = self._lam_at(idx, t)
        old = self.floor[idx]
        ab = self.pf.ability[idx]
        ab = np.where(self.in_hardship[idx], ab * self.pf.hardship_ability_factor, ab)
        new = self._floor(ab, self.pf.willingness[idx] * factor)
        self.floor[idx] = new
        self.lam[idx] = np.maximum(lam - old + new, 0.0)
        self.t[idx] = t
        self._redraw(idx)

    def _set_factor_compiled(self, idx: np.ndarray, time: float, factor: np.ndarray) -> None:
        """:meth:`set_willingness_factor` in compiled steps: the same bits."""
        p, pf, n = self.p, self.pf, idx.size
        i, x, ab, wf = np.empty(n, dtype=np.int64), np.empty(n), np.empty(n), np.empty(n)
        m = factor_setup(idx, factor, time, self.next_t, self.t, self.factor, self.in_hardship, pf.ability,
                         pf.hardship_ability_factor, pf.willingness, -p["kappa"], i, x, ab, wf)  # fmt: skip
        if m == 0:
            return
        i, x = i[:m], x[:m]
        np.exp(x, out=x)
        factor_step(i, x, ab[:m] ** p["floor_ability_exp"], wf[:m] ** p["floor_willingness_exp"], p["floor_rate"],
                    time, self.lam, self.floor, self.t)  # fmt: skip
        self._redraw(i)

    # ------------------------------------------------------------------ theory
    def compensator(self, idx: np.ndarray, tau: np.ndarray | float) -> np.ndarray:
        """Integrated intensity over ``tau`` days from each account's current state,
        with no events in between (the probability of no repayment is ``exp(-.)``)."""
        k = self.p["kappa"]
        f = self.floor[idx]
        a = self.lam[idx] - f
        return f * tau + a * (1.0 - np.exp(-k * np.asarray(tau))) / k
