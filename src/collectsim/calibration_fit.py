"""Fitting named behaviour and response parameters to the fitted targets, on common
random numbers, and showing how well the targets pin each one down.

**Loss.** Each fitted target has a published range ``[low, high]``; the loss is the sum
over targets of ``((model - mid) / half)**2``, the model's mean over replications measured
in half-widths of the range from its middle (0 at the middles, 1 per target at an edge).
Every point is run on replications ``0 .. R-1`` (the same seeds, so two points differ by
their parameters, not by their luck: common random numbers).

**Search.** Nelder-Mead (``scipy.optimize.minimize``) on the parameters scaled to [0, 1]
over their ranges, from the defaults, with a budget of evaluations. It needs no
gradient, which a simulated loss does not have, and tolerates its remaining noise.

**How well each parameter is pinned.** There are more parameters than independent targets
(the 30-day cure and the M1-to-M2 roll are one constraint), so some combinations are
free. Two views:

- a *slice*: the loss and the targets along a grid of each parameter's range, the others
  held at the fit; the values whose every fitted target lies inside its range are the
  slice's consistent set;
- a *linearised joint set*: the targets' slopes at the fit (central differences) give the
  polytope of parameter vectors whose linear prediction keeps every target inside its
  range; its extent along each parameter (``scipy.optimize.linprog``) is how far that
  parameter can move when the others move too. An interval spanning the whole range means
  the targets do not pin the parameter.

>>> from collectsim.calibration_fit import PARAMETERS, fit
>>> result = fit(list(PARAMETERS.values()), replications=2)     # doctest: +SKIP
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from collectsim.api import load_scenario
from collectsim.calibration import FITTED, HELD_OUT, Target, TargetSpec, default_jobs, evaluate, measure_many


@dataclass(frozen=True)
class Param:
    """A fitted parameter: its config key, the range searched and what it does."""

    key: str
    low: float
    high: float
    role: str

    @property
    def name(self) -> str:
        return self.key.rsplit(".", 1)[-1]


#: The behaviour and response parameters the fit may move, with the ranges searched.
PARAMETERS: dict[str, Param] = {
    p.name: p
    for p in (
        Param("behaviour.initial_excess", 0.2, 0.8, "borrowers' own pull to repay at entry (self-cure)"),
        Param("behaviour.impulse_scale", 0.1, 0.6, "how much a contact raises the repayment intensity"),
        Param("stress.contactability_effect", 0.0, 0.5, "how much stress makes a borrower avoid calls"),
        Param("response.competition_rate", 0.0, 0.01, "how fast other creditors take a late borrower's money"),
    )
}


def default_value(key: str, base: Sequence[str] = ()) -> float:
    """The value of ``key`` (``group.name``) in the scenario built with ``base``."""
    group, name = key.split(".", 1)
    node: Any = getattr(load_scenario(list(base)), group)
    return float(node[name] if isinstance(node, dict) else getattr(node, name))


def loss_of(targets: Sequence[Target]) -> float:
    """Sum of squared distances from each range's middle, in half-widths."""
    return float(sum(((t.mean - t.spec.mid) / t.spec.half) ** 2 for t in targets))


def inside(targets: Sequence[Target]) -> bool:
    """Every target's model mean lies inside its published range."""
    return all(
        t.spec.low is not None and t.spec.high is not None and t.spec.low <= t.mean <= t.spec.high for t in targets
    )


@dataclass
class Profile:
    """A slice through one parameter: grid values, loss and each target's mean there."""

    values: list[float]
    loss: list[float]
    targets: dict[str, list[float]]
    consistent: tuple[float, float] | None


@dataclass
class FitResult:
    """What :func:`fit` found."""

    params: list[Param]
    base: list[str]
    replications: int
    start: dict[str, float]
    best: dict[str, float]
    loss_start: float
    loss_best: float
    evaluations: int
    seconds: float
    fitted_start: list[Target]
    fitted_best: list[Target]
    held_out_best: list[Target]
    profiles: dict[str, Profile] = field(default_factory=dict)
    jacobian: dict[str, dict[str, float]] = field(default_factory=dict)
    joint: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    confirm: int = 0  # replications behind the reported targets (0: ``replications``)


class _Evaluator:
    """Runs parameter points on common random numbers and remembers them."""

    def __init__(
        self,
        params: Sequence[Param],
        base: Sequence[str],
        replications: int,
        specs: Sequence[TargetSpec],
        workers: int | None,
        say: Callable[[str], None],
    ) -> None:
        self.params, self.base, self.r, self.specs = list(params), list(base), replications, list(specs)
        self.say = say
        n = default_jobs() if workers is None else workers
        # One pool for the whole fit: its workers compile the kernels once.
        self.pool: ProcessPoolExecutor | None = ProcessPoolExecutor(max_workers=n) if n > 1 else None
        self.cache: dict[tuple[float, ...], list[dict[str, float]]] = {}
        self.t0 = time.perf_counter()

    def overrides(self, x: Sequence[float] | np.ndarray) -> list[str]:
        return [*self.base, *(f"{p.key}={v:.6g}" for p, v in zip(self.params, x))]

    def rows(self, points: Sequence[Sequence[float] | np.ndarray]) -> list[list[dict[str, float]]]:
        """Measured replications at each point (run in one parallel batch)."""
        keys = [tuple(round(float(v), 9) for v in x) for x in points]
        todo = [k for k in dict.fromkeys(keys) if k not in self.cache]
        jobs = [(load_scenario(self.overrides(k)), rep) for k in todo for rep in range(self.r)]
        if len(todo) > 1:
            self.say(f"[{time.perf_counter() - self.t0:6.0f} s] running {len(todo)} points x {self.r} replications ...")
        got = measure_many(jobs, 1, self.pool)
        for i, k in enumerate(todo):
            self.cache[k] = got[i * self.r : (i + 1) * self.r]
        return [self.cache[k] for k in keys]

    def targets(self, x: Sequence[float] | np.ndarray, specs: Sequence[TargetSpec] | None = None) -> list[Target]:
        return evaluate(self.specs if specs is None else specs, self.rows([x])[0])

    def loss(self, x: Sequence[float] | np.ndarray) -> float:
        value = loss_of(self.targets(x))
        self.say(
            f"[{time.perf_counter() - self.t0:6.0f} s] point {len(self.cache):3d}: loss {value:8.3f} at "
            + ", ".join(f"{p.name}={v:.4g}" for p, v in zip(self.params, x))
        )
        return value


def _linear_extent(
    x0: np.ndarray, lows: np.ndarray, highs: np.ndarray, f0: np.ndarray, jac: np.ndarray, specs: Sequence[TargetSpec]
) -> list[tuple[float, float] | None]:
    """Per parameter, its extent over ``{x in bounds : low <= f0 + J (x - x0) <= high}``."""
    lo_t = np.array([s.low for s in specs], dtype=float)
    hi_t = np.array([s.high for s in specs], dtype=float)
    a_ub = np.vstack([jac, -jac])
    b_ub = np.concatenate([hi_t - f0 + jac @ x0, -(lo_t - f0 + jac @ x0)])
    bounds = list(zip(lows, highs))
    out: list[tuple[float, float] | None] = []
    for i in range(x0.size):
        c = np.zeros(x0.size)
        c[i] = 1.0
        lo = optimize.linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
        hi = optimize.linprog(-c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
        out.append((float(lo.x[i]), float(hi.x[i])) if lo.status == 0 and hi.status == 0 else None)
    return out


def fit(
    params: Sequence[Param],
    *,
    specs: Sequence[TargetSpec] = FITTED,
    held_out: Sequence[TargetSpec] = HELD_OUT,
    base: Sequence[str] = (),
    replications: int = 2,
    max_evals: int = 40,
    grid: int = 5,
    start: Sequence[float] | None = None,
    workers: int | None = None,
    confirm: int = 0,
    say: Callable[[str], None] | None = None,
) -> FitResult:
    """Fit ``params`` to the targets ``specs`` on the scenario built with ``base``.

    ``start``: the starting values (default: the scenario's). ``max_evals``: the
    Nelder-Mead budget of points; ``grid``: points per parameter in the slices (0: no
    slices). ``confirm``: more replications for the reported targets at the start and
    at the fit (0: the fit's own). Progress lines go to ``say`` (default: stderr).
    """
    say = say or (lambda s: print(s, file=sys.stderr, flush=True))
    ev = _Evaluator(params, base, replications, specs, workers, say)
    try:
        out = _fit(ev, params, specs, held_out, base, replications, max_evals, grid, start, say)
        if confirm > replications:
            say(f"the defaults and the fit at {confirm} replications ...")
            x0 = [out.start[p.name] for p in params]
            x1 = [out.best[p.name] for p in params]
            points = [x0] if np.allclose(x0, x1) else [x0, x1]
            jobs = [(load_scenario(ev.overrides(x)), k) for x in points for k in range(confirm)]
            rows = measure_many(jobs, 1, ev.pool)
            rows = rows if len(points) == 2 else rows + rows
            out.fitted_start = evaluate(specs, rows[:confirm])
            out.fitted_best = evaluate(specs, rows[confirm:])
            out.held_out_best = evaluate(held_out, rows[confirm:])
            out.confirm = confirm
        return out
    finally:
        if ev.pool is not None:
            ev.pool.shutdown()


def _fit(
    ev: _Evaluator,
    params: Sequence[Param],
    specs: Sequence[TargetSpec],
    held_out: Sequence[TargetSpec],
    base: Sequence[str],
    replications: int,
    max_evals: int,
    grid: int,
    start: Sequence[float] | None,
    say: Callable[[str], None],
) -> FitResult:
    lows = np.array([p.low for p in params])
    highs = np.array([p.high for p in params])
    span = highs - lows
    x0 = np.array(start if start is not None else [default_value(p.key, base) for p in params], dtype=float)
    u0 = np.clip((x0 - lows) / span, 0.0, 1.0)

    def f(u: np.ndarray) -> float:
        return ev.loss(lows + np.clip(u, 0.0, 1.0) * span)

    # A starting simplex a sixth of each range wide, pointing into the range.
    simplex = [u0] + [
        u0 + np.where(np.arange(len(params)) == i, 1 / 6 if u0[i] <= 0.5 else -1 / 6, 0.0) for i in range(len(params))
    ]
    res = optimize.minimize(
        f,
        u0,
        method="Nelder-Mead",
        bounds=[(0.0, 1.0)] * len(params),
        options={"maxfev": max_evals, "initial_simplex": np.array(simplex), "xatol": 0.01, "fatol": 0.01},
    )
    best = lows + np.clip(res.x, 0.0, 1.0) * span
    out = FitResult(
        params=list(params),
        base=list(base),
        replications=replications,
        start=dict(zip([p.name for p in params], map(float, x0))),
        best=dict(zip([p.name for p in params], map(float, best))),
        loss_start=loss_of(ev.targets(x0)),
        loss_best=loss_of(ev.targets(best)),
        evaluations=0,
        seconds=0.0,
        fitted_start=ev.targets(x0),
        fitted_best=ev.targets(best),
        held_out_best=ev.targets(best, held_out),
    )
    if grid:
        say(f"slices: {grid} points per parameter ...")
        points = []
        for i in range(len(params)):
            for v in np.linspace(lows[i], highs[i], grid):
                x = best.copy()
                x[i] = v
                points.append(x)
        ev.rows(points)
        for i, p in enumerate(params):
            vals = list(np.linspace(lows[i], highs[i], grid))
            tg = [ev.targets(points[i * grid + j]) for j in range(grid)]
            ok = [v for v, t in zip(vals, tg) if inside(t)]
            out.profiles[p.name] = Profile(
                values=[float(v) for v in vals],
                loss=[loss_of(t) for t in tg],
                targets={s.measure: [t[k].mean for t in tg] for k, s in enumerate(specs)},
                consistent=(float(min(ok)), float(max(ok))) if ok else None,
            )
        say("slopes at the fit (central differences) ...")
        step = 0.1 * span
        plus, minus = [], []
        for i in range(len(params)):
            e = np.zeros(len(params))
            e[i] = step[i]
            plus.append(np.minimum(best + e, highs))
            minus.append(np.maximum(best - e, lows))
        ev.rows(plus + minus)
        jac = np.zeros((len(specs), len(params)))
        for i in range(len(params)):
            tp = ev.targets(plus[i])
            tm = ev.targets(minus[i])
            dx = plus[i][i] - minus[i][i]
            jac[:, i] = [(a.mean - b.mean) / dx for a, b in zip(tp, tm)]
        out.jacobian = {s.measure: dict(zip([p.name for p in params], map(float, jac[k]))) for k, s in enumerate(specs)}
        f0 = np.array([t.mean for t in out.fitted_best])
        for p, ext in zip(params, _linear_extent(best, lows, highs, f0, jac, specs)):
            out.joint[p.name] = ext
    out.evaluations = len(ev.cache)
    out.seconds = time.perf_counter() - ev.t0
    return out


def synthetic_targets(
    specs: Sequence[TargetSpec], rows: Sequence[dict[str, float]], half_width: float
) -> list[TargetSpec]:
    """Targets made from the model itself: each spec's range replaced by the model's mean
    over ``rows`` plus or minus ``half_width`` (relative to the mean). A fit to them should
    recover the parameters that generated ``rows``."""
    out = []
    for t in evaluate(specs, rows):
        w = abs(t.mean) * half_width
        out.append(TargetSpec(t.spec.name, t.spec.measure, t.spec.measured_as, t.mean - w, t.mean + w, "synthetic"))
    return out


def as_dict(r: FitResult) -> dict[str, Any]:
    """The fit as plain JSON-ready values (what ``scripts/calibrate.py`` writes)."""

    def tg(ts: Sequence[Target]) -> list[dict[str, Any]]:
        return [{"measure": t.spec.measure, "mean": t.mean, "half": t.half} for t in ts]

    return {
        "base": r.base,
        "replications": r.replications,
        "confirm": r.confirm or r.replications,
        "evaluations": r.evaluations,
        "seconds": r.seconds,
        "loss_start": r.loss_start,
        "loss_best": r.loss_best,
        "params": [
            {
                "key": p.key,
                "name": p.name,
                "low": p.low,
                "high": p.high,
                "role": p.role,
                "start": r.start[p.name],
                "best": r.best[p.name],
                "slice": list(r.profiles[p.name].consistent or []) if p.name in r.profiles else [],
                "joint": list(r.joint.get(p.name) or []),
            }
            for p in r.params
        ],
        "fitted_start": tg(r.fitted_start),
        "fitted_best": tg(r.fitted_best),
        "held_out_best": tg(r.held_out_best),
        "profiles": {k: {"values": v.values, "loss": v.loss, "targets": v.targets} for k, v in r.profiles.items()},
        "jacobian": r.jacobian,
    }


def _interval(p: dict[str, Any], key: str) -> str:
    v = p[key]
    if not v:
        return "none on the grid" if key == "slice" else "none (linearised)"
    lo, hi = v
    whole = lo <= p["low"] + 1e-3 * (p["high"] - p["low"]) and hi >= p["high"] - 1e-3 * (p["high"] - p["low"])
    return f"{lo:.4g}-{hi:.4g}" + (" (whole range: not pinned)" if whole else "")


def params_markdown(d: dict[str, Any]) -> str:
    """The fitted parameters: default, fitted value, the slice's and the linearised joint
    set of values keeping every fitted target inside its range, the range searched."""
    lines = [
        "| parameter | role | default | fitted | consistent, others at the fit (slice) | consistent, others free (linearised) | range searched |",
        "| --- | --- | ---: | ---: | --- | --- | --- |",
    ]
    for p in d["params"]:
        lines.append(
            f"| `{p['key']}` | {p['role']} | {p['start']:.4g} | {p['best']:.4g} | {_interval(p, 'slice')} | "
            f"{_interval(p, 'joint')} | {p['low']:g}-{p['high']:g} |"
        )
    return "\n".join(lines) + "\n"


def targets_markdown(d: dict[str, Any], specs: Sequence[TargetSpec], start_key: str | None, best_key: str) -> str:
    """Targets at the start (the defaults) and at the fit, against their ranges."""
    from collectsim.calibration import fmt_range, fmt_value

    head = "| target | published | " + ("default (95% CI) | " if start_key else "") + "fitted (95% CI) |"
    lines = [head, "| --- | --- | " + ("--- | " if start_key else "") + "--- |"]
    by = {key: {t["measure"]: t for t in d[key]} for key in ([start_key] if start_key else []) + [best_key]}
    for s in specs:
        cells = [s.name, fmt_range(s)]
        for key in ([start_key] if start_key else []) + [best_key]:
            t = by[key][s.measure]
            cells.append(fmt_value(s, t["mean"], t["half"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def slopes_markdown(d: dict[str, Any]) -> str:
    """The targets' slopes at the fit: change per tenth of each parameter's range."""
    names = [p["name"] for p in d["params"]]
    spans = {p["name"]: p["high"] - p["low"] for p in d["params"]}
    lines = ["| target | " + " | ".join(f"`{n}`" for n in names) + " |", "| --- |" + " ---: |" * len(names)]
    for measure, row in d["jacobian"].items():
        lines.append(f"| `{measure}` | " + " | ".join(f"{0.1 * spans[n] * row[n]:+.4f}" for n in names) + " |")
    return "\n".join(lines) + "\n"
