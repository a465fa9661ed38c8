"""The Markdown report of a sensitivity study (``report.md``), from a :class:`~collectsim.sensitivity.study.Study`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from collectsim.report.fmt import fmt_ci, fmt_number
from collectsim.sensitivity.analysis import advantage, d_col, se_col, signs_seen, win_share_by_half
from collectsim.sensitivity.design import OUTPUTS
from collectsim.sensitivity.study import Study


def _fmt(x: Any) -> str:
    """A number for a table: thousands separators, 3 significant digits for small values."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return "n/a"
    if v == 0 or abs(v) >= 100:
        return fmt_number(v, 0)
    return f"{v:.3g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---:" if a == "r" else "---" for a in align) + " |",
        *["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows],
    ]


def _morris(st: Study, output: str) -> pd.DataFrame:
    ix = st.indices
    return ix[(ix["method"] == "morris") & (ix["output"] == output)]


def _factors(st: Study) -> list[str]:
    s = st.settings
    L = ["## Factors", ""]
    L += _table(
        ["factor", "what (default; source)", "range", "changes"],
        [
            [
                f.name,
                f.description,
                f"{_fmt(f.low)} – {_fmt(f.high)}" + (" (× default)" if f.op == "scale" else ""),
                ", ".join(f"`{p}`" for p in f.paths),
            ]
            for f in st.factors
        ],
        align="llll",
    )
    L += [
        "",
        f"Capacities (team, lawyers, dialler and agency lines) scale with the book as the defaults have them; "
        f"overrides of the base scenario: {', '.join(f'`{o}`' for o in s.overrides) or 'none'}.",
        "",
    ]
    return L


def _defaults(st: Study) -> list[str]:
    s, nom = st.settings, st.nominal
    o = s.output
    L = [
        "## At the defaults",
        "",
        f"Means over {s.nominal_replications} replications; Δ {o} = {s.baseline} − challenger with its standard "
        "error (paired on common seeds).",
        "",
    ]
    rows = [[s.baseline, *[_fmt(nom.get(f"{s.baseline}_{k}")) for k in OUTPUTS], ""]]
    for c in s.challengers:
        d, se = float(nom.get(d_col(c, o), float("nan"))), float(nom.get(se_col(c, o), float("nan")))
        rows.append([c, *[_fmt(nom.get(f"{c}_{k}")) for k in OUTPUTS], fmt_ci(d, se, signed=True)])
    L += _table(["policy", *OUTPUTS, f"Δ {o} ({s.baseline} − policy)"], rows) + [""]
    return L


def _wins(st: Study) -> list[str]:
    s = st.settings
    o = s.output
    n = len(st.samples)
    L = [
        "## Who wins where",
        "",
        f"Over the {n} evaluated points, how often each challenger has the better {o} than {s.baseline}, and how "
        "often by more than two standard errors either way; Δ = "
        f"{s.baseline} − challenger over the points:",
        "",
    ]
    L += _table(
        [
            "challenger",
            f"beats {s.baseline}",
            "by > 2 SE",
            f"{s.baseline} ahead by > 2 SE",
            f"Δ {o} min",
            "median",
            "max",
        ],
        [
            [
                r["challenger"],
                f"{int(r['challenger_wins'])} of {int(r['points'])}",
                int(r["challenger_wins_2se"]),
                int(r["baseline_wins_2se"]),
                _fmt(r["d_min"]),
                _fmt(r["d_median"]),
                _fmt(r["d_max"]),
            ]
            for _, r in st.wins.iterrows()
        ],
    ) + [""]
    return L


def _drivers(st: Study, fig: Path) -> list[str]:
    s = st.settings
    o = s.output
    mor = _morris(st, o)
    L = [
        "## What decides it",
        "",
        f"![indices]({fig.name})",
        "",
        "Morris screening: μ* is the mean absolute elementary effect of a factor (the change of Δ, in units of "
        "the output, over the factor's whole range, measured on steps of two thirds of it), with its bootstrap "
        "95% interval and its rank for that challenger; μ is "
        f"the signed mean (positive: raising the factor widens {s.baseline}'s lead in {o}), σ the spread "
        "(interactions or non-linearity).",
        "",
    ]
    rank = {
        c: {str(f): i + 1 for i, f in enumerate(g.sort_values("mu_star", ascending=False, kind="stable")["factor"])}
        for c, g in mor.groupby("challenger", sort=False)
    }
    order = sorted((f.name for f in st.factors), key=lambda f: np.mean([rank[c].get(f, 99) for c in s.challengers]))
    by = mor.set_index(["challenger", "factor"])
    L += _table(
        ["factor", *[f"{c}: μ* (rank)" for c in s.challengers]],
        [
            [
                f,
                *[
                    f"{_fmt(by.loc[(c, f), 'mu_star'])} ± {_fmt(by.loc[(c, f), 'mu_star_conf'])} (#{rank[c][f]})"
                    for c in s.challengers
                ],
            ]
            for f in order
        ],
    ) + [""]
    L += _table(
        ["factor", *[f"{c}: μ / σ" for c in s.challengers]],
        [
            [f, *[f"{_fmt(by.loc[(c, f), 'mu'])} / {_fmt(by.loc[(c, f), 'sigma'])}" for c in s.challengers]]
            for f in order
        ],
    ) + [""]
    L += [f"- **{c}**: top two drivers of Δ {o}: {', '.join(st.drivers[c])}." for c in s.challengers]
    for k in OUTPUTS:
        if k == o:
            continue
        mk = _morris(st, k)
        for c in s.challengers:
            top = mk[mk["challenger"] == c].sort_values("mu_star", ascending=False, kind="stable")["factor"][:3]
            L += [f"- {c}, Δ {k}: strongest {', '.join(top)}."]
    L += [""]
    sob = st.indices[(st.indices["method"] == "sobol") & (st.indices["output"] == o)]
    if len(sob):
        L += [
            "Sobol indices (the share of the variance of Δ due to a factor alone, S1, and with its interactions, "
            "ST) of the factors kept by the screening, the others at their defaults:",
            "",
        ]
        L += _table(
            ["challenger", "factor", "S1 (95% CI)", "ST (95% CI)"],
            [
                [
                    r["challenger"],
                    r["factor"],
                    f"{_fmt(r['S1'])} ± {_fmt(r['S1_conf'])}",
                    f"{_fmt(r['ST'])} ± {_fmt(r['ST_conf'])}",
                ]
                for _, r in sob.iterrows()
            ],
        ) + [""]
    return L


def _signs(st: Study) -> list[str]:
    s = st.settings
    o = s.output
    L = [
        "## Which sign of the difference each factor's range allows",
        "",
        f"The sign of Δ {o} = {s.baseline} − challenger at the two ends of each Morris step that moves the factor "
        f"alone (the other factors wherever the trajectory has them): at the lower value → at the higher value; "
        f"`+` {s.baseline} ahead at every such point, `−` the challenger ahead at every one, `±` both seen; "
        "'flips' counts the steps in which moving this factor alone turned the sign; 'no effect': Δ does not "
        "move with the factor at all (the signs are the other factors').",
        "",
    ]
    sg = st.signs.set_index(["challenger", "factor"])
    mu_star = _morris(st, o).set_index(["challenger", "factor"])["mu_star"]
    rows = []
    for f in st.factors:
        cells = []
        for c in s.challengers:
            r = sg.loc[(c, f.name)]
            if mu_star.get((c, f.name), float("nan")) == 0:
                cells.append("no effect")
                continue
            cell = f"{signs_seen(r['low_pos'], r['low_neg'])} → {signs_seen(r['high_pos'], r['high_neg'])}"
            if r["flips"]:
                cell += f" ({int(r['flips'])} of {int(r['steps'])} flip)"
            cells.append(cell)
        rows.append([f.name, f"{_fmt(f.low)} – {_fmt(f.high)}", *cells])
    L += _table(["factor", "range", *s.challengers], rows) + [""]
    return L


def _flips(st: Study, fig: Path | None) -> list[str]:
    s = st.settings
    o = s.output
    L = ["## Where the ranking flips", ""]
    if fig is not None:
        L += [f"![flips]({fig.name})", ""]
    mixed = []
    for c in s.challengers:
        won = int((advantage(st.samples, c, o) > 0).sum())
        if won in (0, len(st.samples)):
            who = s.baseline if won == 0 else c
            L += [f"**{c}**: {who} has the better {o} at every evaluated point.", ""]
            continue
        mixed.append(c)
        fl = st.flips[st.flips["challenger"] == c]
        L += [
            f"**{c}** beats {s.baseline} at {won} of {len(st.samples)} points. By bins of its two strongest "
            f"drivers (share of points where {c} wins, mean Δ):",
            "",
        ]
        if len(fl):
            a, b = fl["driver_1"].iloc[0], fl["driver_2"].iloc[0]
            L += _table(
                [f"{a} bin", f"{b} bin", "points", f"{c} wins", f"mean Δ {o}"],
                [
                    [
                        r["driver_1_bin"],
                        r["driver_2_bin"],
                        int(r["points"]),
                        f"{r['challenger_win_share']:.0%}",
                        _fmt(r["mean_diff"]),
                    ]
                    for _, r in fl.iterrows()
                ],
            ) + [""]
    if mixed:
        halves = win_share_by_half(st.samples, st.factors, mixed, o).set_index(["challenger", "factor"])
        L += [
            "Share of points where the challenger wins with each factor in the lower half of its range → in the "
            "upper half (every evaluated point):",
            "",
        ]
        L += _table(
            ["factor", *mixed],
            [
                [
                    f.name,
                    *[
                        f"{halves.loc[(c, f.name), 'low_win_share']:.0%} → {halves.loc[(c, f.name), 'high_win_share']:.0%}"
                        for c in mixed
                    ],
                ]
                for f in st.factors
            ],
        ) + [""]
    return L


def write_report(st: Study, out: Path, fig_indices: Path, fig_flips: Path | None) -> Path:
    """Write ``report.md`` into ``out`` (the figures already there)."""
    s = st.settings
    n_morris = int((st.samples["design"] == "morris").sum())
    n_sobol = int((st.samples["design"] == "sobol").sum())
    sobol = f"Sobol N={s.sobol_n} ({n_sobol} points)" if n_sobol else "no Sobol"
    L = [
        f"# Sensitivity of {s.baseline} against {', '.join(s.challengers)}",
        "",
        f"Mode `{s.mode}`: {s.accounts:,} accounts; the {len(s.policies)} policies on common seeds (base seed "
        f"{s.seed}) at every point, {s.replications} replication(s) per point and policy "
        f"({s.nominal_replications} at the defaults); Morris r={s.morris_r} ({n_morris} points), {sobol}; "
        f"{st.seconds:.0f} s on {s.n_jobs} process(es). Analysed: the paired difference Δ <kpi> = {s.baseline} − "
        f"challenger, for each challenger; for {s.output} a positive Δ means {s.baseline} is ahead.",
        "",
    ]
    L += _factors(st) + _defaults(st) + _wins(st) + _drivers(st, fig_indices) + _signs(st) + _flips(st, fig_flips)
    if st.notes:
        L += ["## Notes", ""] + [f"- {n}" for n in st.notes] + [""]
    L += [
        "Files: `samples.csv` (every point: factors, per-policy means, Δ and its standard error per challenger), "
        "`indices.csv`, `wins.csv`, `signs.csv`, `flips.csv`, `settings.json`.",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(L), encoding="utf-8")
    return path
