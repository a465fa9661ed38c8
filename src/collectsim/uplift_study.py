"""``collectsim-uplift``: does giving collector time by uplift beat the score?

Four steps on one book, with keyed contact outcomes (``simulation.keyed_outcomes``) so
that an account's outcomes depend on its own treatment only:

1. **Learning.** Training seeds run ``policy=call_holdout`` (soft_first's collector
   calls go to a random half of the accounts it asks to call; the other half is held
   out). Each measured account the policy asked to call gives a row: its observable
   features at assignment, the arm, the yuan it repaid and the agent minutes it took.
2. **Fitting.** An uplift model (:func:`collectsim.uplift.fit_uplift`, the two-model
   learner) on those rows.
3. **True uplift, on seeds never used for training.** A random sample ``S`` of the
   measured accounts is forced into the called arm in one run and into the held-out arm
   in a second run of the same seed; every other account keeps its drawn arm. An
   account's true uplift is its repayment in the first run minus the second: the
   counterfactual is "no collector calls from the first day the policy asked for one,
   the policy otherwise going on". The curves of true uplift gained by targeting in
   the order of the model, the score, the truth (oracle) and at random are compared,
   with the yuan per agent-hour each order buys on a fixed budget.
4. **Queue orders under binding capacity.** soft_first with its work queue ordered by
   largest balance, score, random, or the model's uplift per expected minute, on the
   same fresh seeds (common random numbers) at several team sizes; differences paired
   by seed against largest-balance-first.

Writes ``report.md``, ``results.json`` and ``qini.png`` to ``--out`` (the model file goes
to ``--work``, where step 4 reads it).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ORDERS = ("balance_desc", "score_desc", "random", "uplift")
BASELINE_ORDER = "balance_desc"


def _log(msg: str) -> None:
    print(f"[uplift {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def book(n: int, size: int) -> list[str]:
    """Overrides of the study's book: ``n`` accounts, ``size`` agents, keyed outcomes."""
    return [f"portfolio.n_accounts={n}", f"collectors.size={size}", "simulation.keyed_outcomes=true"]


def _run_holdout(overrides: list[str], seed: int, forced: dict[int, bool]) -> dict[str, np.ndarray]:
    """One learning run; per measured account the policy asked to call: features, arm,
    repayment (yuan) and agent minutes."""
    from collectsim import load_scenario
    from collectsim.engine import Simulation

    sc = load_scenario(["policy=call_holdout", f"seed={seed}", *overrides])
    sim = Simulation(sc, 0, record_events=True)
    pol: Any = sim.policy
    pol.forced = forced
    sim.run()
    minutes = np.zeros(sim.pf.n)
    for ev in sim.event_log:
        if "minutes" in ev:
            np.add.at(minutes, ev["idx"], ev["minutes"])
    rows = np.flatnonzero((pol.assigned_day >= 0) & sim.pf.measured)
    return {
        "account": rows,
        "X": pol.features[rows],
        "treated": pol.treated[rows].astype(np.int8),
        "y": sim.st.collected[rows],
        "minutes": minutes[rows],
    }


def _write_log(path: Path, data: dict[str, np.ndarray]) -> None:
    """The learning period's log as a lender would keep it: observable features, the
    arm, yuan repaid and agent minutes, one row per assigned account."""
    from collectsim.policies.features import FEATURES

    cols = [*FEATURES, "called", "repaid_yuan", "agent_minutes"]
    table = np.column_stack([data["X"], data["treated"], data["y"], data["minutes"]])
    np.savetxt(path, table, delimiter=",", header=",".join(cols), comments="", fmt="%.6g")


def agent_cost_per_hour(overrides: list[str]) -> float:
    """An agent hour on duty: the day's wage over the shift's working hours (the break
    aside), plus telephony."""
    from collectsim import load_scenario
    from collectsim.collectors import shift_hours

    sc = load_scenario(overrides)
    start, end = shift_hours(sc.collectors, sc.compliance)
    hours = end - start - (sc.collectors.break_minutes / 60.0 if sc.collectors.break_after_hours is not None else 0.0)
    return sc.collectors.wage_yuan_per_day / hours + 60.0 * sc.channels.telephony_yuan_per_minute


def learning_data(overrides: list[str], seeds: list[int]) -> dict[str, np.ndarray]:
    parts = []
    for s in seeds:
        _log(f"learning run, seed {s}")
        parts.append(_run_holdout(overrides, s, {}))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def true_uplift(overrides: list[str], seed: int, share: float) -> dict[str, np.ndarray]:
    """Features, true uplift (yuan) and minutes when called, for a random ``share`` of
    the measured accounts of ``seed`` (see the module docstring, step 3)."""
    from collectsim import load_scenario
    from collectsim.portfolio import build_portfolio
    from collectsim.random_streams import RandomStreams

    sc = load_scenario(["policy=call_holdout", f"seed={seed}", *overrides])
    measured = np.flatnonzero(build_portfolio(sc.portfolio, RandomStreams(seed, 0)).measured)
    rng = np.random.default_rng([seed, 20])
    sample = rng.choice(measured, size=max(1, int(share * measured.size)), replace=False)
    _log(f"true uplift, seed {seed}: {sample.size} accounts called, then held out")
    on = _run_holdout(overrides, seed, dict.fromkeys(sample.tolist(), True))
    off = _run_holdout(overrides, seed, dict.fromkeys(sample.tolist(), False))
    # Accounts the policy asked to call in both runs (assignment is the same day in
    # both unless an earlier difference changed it).
    both, i_on, i_off = np.intersect1d(on["account"], off["account"], return_indices=True)
    keep = np.isin(both, sample)
    i_on, i_off = i_on[keep], i_off[keep]
    return {
        "X": on["X"][i_on],
        "true_uplift": on["y"][i_on] - off["y"][i_off],
        "minutes": on["minutes"][i_on],
    }


def _compare_job(overrides: list[str], seed: int, order: str, model_path: str) -> dict[str, Any]:
    from collectsim import load_scenario
    from collectsim.engine import run

    extra = [f"policy.queue_order={order}"]
    if order == "uplift":
        extra.append(f"+policy.uplift_model={model_path}")
    sc = load_scenario(["policy=soft_first", f"seed={seed}", *overrides, *extra])
    k = run(sc, 0).kpis
    return {key: float(k[key]) for key in ("recovery_rate", "net_recovery", "collector_utilisation", "cost_total")}


def compare_orders(n: int, sizes: list[int], seeds: list[int], model_path: str, jobs: int) -> list[dict[str, Any]]:
    from joblib import Parallel, delayed

    grid = [(size, seed, order) for size in sizes for seed in seeds for order in ORDERS]
    _log(f"queue orders: {len(grid)} runs on {jobs} worker(s)")
    out = Parallel(n_jobs=jobs, verbose=0)(
        delayed(_compare_job)(book(n, size), seed, order, model_path) for size, seed, order in grid
    )
    return [{"size": g[0], "seed": g[1], "order": g[2], **kpis} for g, kpis in zip(grid, out)]


def paired(rows: list[dict[str, Any]], kpi: str) -> dict[str, dict[int, tuple[float, float]]]:
    """Per order and team size: mean and 95% half-width of (order - baseline) over seeds."""
    from scipy import stats

    out: dict[str, dict[int, tuple[float, float]]] = {}
    for order in ORDERS:
        out[order] = {}
        for size in sorted({r["size"] for r in rows}):
            base = {r["seed"]: r[kpi] for r in rows if r["size"] == size and r["order"] == BASELINE_ORDER}
            d = np.array([r[kpi] - base[r["seed"]] for r in rows if r["size"] == size and r["order"] == order])
            half = float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else np.nan
            out[order][size] = (float(d.mean()), half)
    return out


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="collectsim-uplift", description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=40_000, help="accounts in the book (default 40000)")
    ap.add_argument("--learn-size", type=int, default=2, help="agents during learning and true uplift (default 2)")
    ap.add_argument("--train-seeds", default="1,2,3", help="seeds of the learning runs (default 1,2,3)")
    ap.add_argument("--eval-seeds", default="101,102,103,104", help="fresh seeds for evaluation (default 101-104)")
    ap.add_argument("--sizes", default="1,2,3", help="team sizes for the queue-order comparison (default 1,2,3)")
    ap.add_argument("--share", type=float, default=0.3, help="share of measured accounts given a true uplift")
    ap.add_argument("--jobs", type=int, default=2, help="parallel workers for step 4 (default 2)")
    ap.add_argument("--out", default="experiments/uplift", help="where the report goes")
    ap.add_argument("--work", default="multirun/uplift", help="where the model file and the learning log go")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    from collectsim import uplift
    from collectsim.errors import ConfigError

    try:
        train = [int(s) for s in a.train_seeds.split(",")]
        evals = [int(s) for s in a.eval_seeds.split(",")]
        sizes = [int(s) for s in a.sizes.split(",")]
    except ValueError:
        print(
            "collectsim-uplift: --train-seeds, --eval-seeds and --sizes take comma-separated integers", file=sys.stderr
        )
        return 2
    if set(train) & set(evals):
        print(f"collectsim-uplift: --eval-seeds must not reuse training seeds ({sorted(set(train) & set(evals))})",
              file=sys.stderr)  # fmt: skip
        return 2
    out, work = Path(a.out), Path(a.work)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        from collectsim.compiled_team import warm

        warm()
        learn = book(a.accounts, a.learn_size)
        data = learning_data(learn, train)
        model = uplift.fit_uplift(data["X"], data["treated"], data["y"], p_treat=0.5, method="two_model", seed=0)
        model_path = work / "uplift_model.pkl"
        model_path.write_bytes(pickle.dumps(model))
        _write_log(work / "learning_log.csv", data)
        _log(f"a fresh learning run, seed {evals[0]}")
        fresh = _run_holdout(learn, evals[0], {})
        truth = [true_uplift(learn, s, a.share) for s in evals]
        ev = {k: np.concatenate([t[k] for t in truth]) for k in truth[0]}
        rows = compare_orders(a.accounts, sizes, evals, str(model_path.resolve()), a.jobs)
    except ConfigError as e:
        print(f"collectsim-uplift: {e}", file=sys.stderr)
        return 2
    from collectsim.uplift_report import write_report

    cost = agent_cost_per_hour(book(a.accounts, a.learn_size))
    write_report(out, a, data, fresh, model, ev, rows, paired, time.perf_counter() - t0, cost)
    _log(f"report: {out / 'report.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
