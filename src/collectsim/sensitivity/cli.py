"""Command line of the sensitivity study: ``python -m collectsim.sensitivity`` (``collectsim-sensitivity``)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

from collectsim.errors import ConfigError
from collectsim.sensitivity.design import CHALLENGERS, MODES, OUTPUTS, settings_for
from collectsim.sensitivity.output import load_study, publish, write_outputs
from collectsim.sensitivity.study import Study, run_study


def _headline(st: Study) -> str:
    """Per challenger: points where it beats the baseline, and its top two drivers."""
    parts = [
        f"{r['challenger']} beats {st.settings.baseline} at {int(r['challenger_wins'])}/{int(r['points'])} points "
        f"(drivers {', '.join(st.drivers[r['challenger']])})"
        for _, r in st.wins.iterrows()
    ]
    return "; ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m collectsim.sensitivity``: run the study and write its report."""
    p = argparse.ArgumentParser(
        prog="python -m collectsim.sensitivity",
        description="Morris (and Sobol) sensitivity of the paired difference between a baseline "
        "policy and each challenger to the uncertain assumptions (SALib).",
    )
    p.add_argument("--mode", default="tiny", choices=sorted(MODES), help="effort preset (default tiny)")
    p.add_argument("--out", default=None, help="output folder (default multirun/sensitivity/<date_time>)")
    p.add_argument("--publish-dir", default=None, help="also copy the report there, e.g. experiments/sensitivity")
    p.add_argument(
        "--accounts", type=int, default=None, help="book size (study: one collector's share of the default book)"
    )
    p.add_argument("--replications", type=int, default=None, help="replications per point and policy")
    p.add_argument("--nominal-replications", type=int, default=None, help="replications at the defaults (>= 2)")
    p.add_argument("--morris-r", type=int, default=None, help="Morris trajectories")
    p.add_argument("--sobol-n", type=int, default=None, help="Sobol base samples (power of 2; 0 skips Sobol)")
    p.add_argument("--sobol-max-factors", type=int, default=None, help="factors kept for Sobol (at most)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--n-jobs", type=int, default=None, help="processes (default 2)")
    p.add_argument("--output", default=None, choices=OUTPUTS, help="KPI of the win, sign and flip analysis")
    p.add_argument("--baseline", default=None, help="policy the others are compared with (default soft_first)")
    p.add_argument(
        "--challengers",
        default=None,
        help=f"comma-separated policies compared with the baseline (default {','.join(CHALLENGERS)})",
    )
    p.add_argument("--rebuild", default=None, metavar="DIR", help="rewrite the report of an earlier study in DIR")
    p.add_argument("overrides", nargs="*", help="Hydra-style overrides of the base scenario, e.g. compliance=reg_f")
    a = p.parse_args(argv)
    if a.rebuild:
        try:
            st = load_study(a.rebuild)
        except ConfigError as exc:
            print(f"{p.prog}: error: {exc}", file=sys.stderr)
            return 2
        report = write_outputs(st, a.rebuild)
        print(f"report written to {report}; {_headline(st)}")
        if a.publish_dir:
            publish(Path(a.rebuild), Path(a.publish_dir))
            print(f"copied to {a.publish_dir}")
        return 0
    try:
        s = settings_for(
            a.mode,
            accounts=a.accounts,
            replications=a.replications,
            nominal_replications=a.nominal_replications,
            morris_r=a.morris_r,
            sobol_n=a.sobol_n,
            sobol_max_factors=a.sobol_max_factors,
            seed=a.seed,
            n_jobs=a.n_jobs,
            output=a.output,
            baseline=a.baseline,
            challengers=[c.strip() for c in a.challengers.split(",") if c.strip()] if a.challengers else None,
            overrides=list(a.overrides) or None,
        )
        out = Path(a.out) if a.out else Path("multirun/sensitivity") / dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        st = run_study(s, log=lambda m: print(m, file=sys.stderr, flush=True))
        report = write_outputs(st, out)
    except ConfigError as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 2
    print(f"report written to {report} ({st.seconds:.0f} s); {_headline(st)}")
    if a.publish_dir:
        publish(out, Path(a.publish_dir))
        print(f"copied to {a.publish_dir}")
    return 0
