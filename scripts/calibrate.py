"""Fit named behaviour and response parameters to the fitted calibration targets on common
random numbers, report the held-out targets at the fit, and show how well the targets pin
each parameter down (collectsim.calibration_fit has the method).

    python scripts/calibrate.py                     # the documented run (68 min on 2 busy cores)
    python scripts/calibrate.py --mode tiny         # a small book, a few points (about a minute)
    python scripts/calibrate.py --params initial_excess,impulse_scale --max-evals 20 [override ...]

The fitted values are reported (experiments/calibration/report.md and fit.json), never
written into conf/: a default changes only by hand, citing the report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from collectsim import __version__, load_scenario
from collectsim.calibration import FITTED, HELD_OUT
from collectsim.calibration_fit import (
    PARAMETERS,
    as_dict,
    fit,
    params_markdown,
    slopes_markdown,
    targets_markdown,
)

ROOT = Path(__file__).resolve().parents[1]

#: mode -> (base overrides, parameters, replications, Nelder-Mead budget, slice points,
#: replications behind the reported tables)
MODES: dict[str, tuple[list[str], list[str], int, int, int, int]] = {
    # A quarter of the default stream with one agent (the same accounts per agent): the
    # documented run. The default book takes about four times as long.
    "docs": (
        ["quarter_book"],
        list(PARAMETERS),
        2,
        14,
        3,
        4,
    ),
    "tiny": (
        ["portfolio.n_accounts=1500", "collectors.size=1", "portfolio.arrival=cohort"],
        ["initial_excess", "impulse_scale"],
        2,
        6,
        3,
        0,
    ),
}


def quarter_book() -> list[str]:
    """A quarter of the default stream with a quarter of the team: the same accounts per
    agent and the same days, in about a quarter of the time."""
    sc = load_scenario()
    return [
        f"portfolio.n_accounts={sc.portfolio.n_accounts // 4}",
        f"collectors.size={max(1, sc.collectors.size // 4)}",
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=sorted(MODES), default="docs")
    ap.add_argument("--params", help=f"comma-separated, from {', '.join(PARAMETERS)}")
    ap.add_argument("--replications", type=int)
    ap.add_argument("--max-evals", type=int)
    ap.add_argument("--grid", type=int, help="points per parameter in the slices")
    ap.add_argument("--workers", type=int, help="processes (default: one per core)")
    ap.add_argument("--out", help="report folder (default experiments/calibration for docs mode, none otherwise)")
    ap.add_argument("overrides", nargs="*", help="Hydra-style overrides applied to every run")
    args = ap.parse_args(argv)
    base, names, reps, evals, grid, confirm = MODES[args.mode]
    if args.params:
        names = args.params.split(",")
        unknown = [n for n in names if n not in PARAMETERS]
        if unknown:
            ap.error(f"unknown parameter {unknown[0]}; choose from {', '.join(PARAMETERS)}")
    reps = args.replications or reps
    evals = args.max_evals or evals
    grid = grid if args.grid is None else args.grid
    base = [*(quarter_book() if base == ["quarter_book"] else base), *args.overrides]
    t0 = time.perf_counter()
    result = fit(
        [PARAMETERS[n] for n in names],
        base=base,
        replications=reps,
        max_evals=evals,
        grid=grid,
        workers=args.workers,
        confirm=confirm,
    )
    d = as_dict(result)
    d["mode"] = args.mode
    d["date"] = dt.date.today().isoformat()
    d["version"] = __version__
    text = report(d, time.perf_counter() - t0)
    print(text)
    out = args.out or (str(ROOT / "experiments" / "calibration") if args.mode == "docs" else None)
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "report.md").write_text(text, encoding="utf-8")
        (Path(out) / "fit.json").write_text(json.dumps(d, indent=1) + "\n", encoding="utf-8")
        print(f"written: {out}/report.md, {out}/fit.json", file=sys.stderr)


def report(d: dict, seconds: float) -> str:
    lines = [
        "# Calibration: the fit",
        "",
        f"Generated {d['date']} by `python scripts/calibrate.py --mode {d['mode']}` (collectsim {d['version']}) in "
        f"{seconds / 60:.1f} min: {d['evaluations']} parameter points x {d['replications']} replications on common",
        f"random numbers, on `{' '.join(d['base']) or 'the default scenario'}`. Method: docs/validation.md",
        "(calibration) and `collectsim.calibration_fit`. Loss: the sum over the fitted targets of the squared",
        "distance of the model's mean from the middle of the published range, in half-widths "
        f"({d['loss_start']:.2f} at the defaults, {d['loss_best']:.2f} at the fit, on the fit's replications).",
        f"The tables below are from {d['confirm']} replications at the defaults and at the fit.",
        "",
        "## Fitted targets (used to set the parameters)",
        "",
        *targets_markdown(d, FITTED, "fitted_start", "fitted_best").splitlines(),
        "",
        "## Held-out targets at the fit (only checked)",
        "",
        *targets_markdown(d, HELD_OUT, None, "held_out_best").splitlines(),
        "",
        "## Parameters and how well the targets pin them",
        "",
        *params_markdown(d).splitlines(),
        "",
        "Slopes of the fitted targets at the fit, per tenth of each parameter's range:",
        "",
        *slopes_markdown(d).splitlines(),
        "",
        "Loss along each slice (the others at the fit):",
        "",
    ]
    for name, prof in d["profiles"].items():
        cells = ", ".join(f"{v:.4g}: {x:.2f}" for v, x in zip(prof["values"], prof["loss"]))
        lines.append(f"- `{name}`: {cells}")
    lines += [
        "",
        "The fitted values are reported, not written into conf/. The defaults stay as they are",
        "(docs/validation.md says which of them this fit supports).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
