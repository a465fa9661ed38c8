"""Output of a sensitivity study: figures, ``report.md``, the CSV and JSON files, reading them back, publishing."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from collectsim.sensitivity.analysis import _drivers, flip_table
from collectsim.sensitivity.design import OUTPUTS, Factor, Settings
from collectsim.sensitivity.study import Study


def plot_indices(st: Study, out: Path) -> Path:
    """``indices.png``: Morris mu* (and Sobol S1/ST when computed) with 95% CIs."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = st.settings
    ix = st.indices[st.indices["output"] == f"d_{s.output}"]
    mor = ix[ix["method"] == "morris"].sort_values("mu_star")
    sob = ix[ix["method"] == "sobol"]
    ncols = 2 if len(sob) else 1
    fig = Figure(figsize=(5.6 * ncols, 3.8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    ax = axes[0]
    y = np.arange(len(mor))
    ax.barh(y, mor["mu_star"], xerr=mor["mu_star_conf"], color="tab:blue", capsize=3, label="μ* (95% CI)")
    ax.scatter(mor["sigma"], y, marker="x", c="k", zorder=3, label="σ (interactions, non-linearity)")
    ax.set_yticks(y, mor["factor"])
    ax.set_xlabel(f"Morris μ* of Δ {s.output} ({s.challenger} − {s.baseline})")
    ax.legend(fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    if len(sob):
        ax = axes[1]
        sob = sob.sort_values("ST")
        y = np.arange(len(sob))
        ax.barh(y + 0.2, sob["ST"], height=0.4, xerr=sob["ST_conf"], color="tab:orange", capsize=3, label="total ST")
        ax.barh(
            y - 0.2, sob["S1"], height=0.4, xerr=sob["S1_conf"], color="tab:green", capsize=3, label="first order S1"
        )
        ax.set_yticks(y, sob["factor"])
        ax.axvline(0, c="k", lw=0.6)
        ax.set_xlabel(f"Sobol index of Δ {s.output} (95% CI)")
        ax.legend(fontsize=7)
        ax.grid(axis="x", alpha=0.3)
    path = out / "indices.png"
    fig.savefig(path, dpi=100)
    return path


def plot_flips(st: Study, out: Path) -> Path | None:
    """``flips.png``: every evaluated point on the top two drivers, coloured by which policy wins."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from collectsim.metrics import DIRECTIONS

    s = st.settings
    if len(st.drivers) < 2:
        return None
    a, b = st.drivers
    d = st.samples[f"d_{s.output}"] * (DIRECTIONS.get(s.output, 1) or 1)
    fig = Figure(figsize=(6.0, 4.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    size = 12 + 60 * (d.abs() / max(d.abs().max(), 1e-12))
    win = d > 0
    ax.scatter(
        st.samples.loc[~win, a],
        st.samples.loc[~win, b],
        s=size[~win],
        c="tab:blue",
        alpha=0.6,
        label=f"{s.baseline} better",
    )
    ax.scatter(
        st.samples.loc[win, a],
        st.samples.loc[win, b],
        s=size[win],
        c="tab:red",
        alpha=0.6,
        label=f"{s.challenger} better",
    )
    if a in st.nominal and b in st.nominal:
        ax.scatter([st.nominal[a]], [st.nominal[b]], marker="*", s=160, c="k", label="defaults")
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.set_title(f"Which policy has the better {s.output} (marker size: |difference|)", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    path = out / "flips.png"
    fig.savefig(path, dpi=100)
    return path


def _fmt(x: Any, digits: int = 3) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return "n/a"
    if v != 0 and (abs(v) >= 1e4 or abs(v) < 1e-3):
        return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.2e}"
    return f"{v:.{digits}g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> list[str]:
    align = align or "l" + "r" * (len(header) - 1)
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---:" if a == "r" else "---" for a in align) + " |",
        *["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows],
    ]


def _where_wins(st: Study) -> list[str]:
    """Each factor's range over the points where the challenger wins, against its full range."""
    from collectsim.metrics import DIRECTIONS

    s = st.settings
    sign = DIRECTIONS.get(s.output, 1) or 1
    d = st.samples[f"d_{s.output}"] * sign
    wins = st.samples[d > 0]
    if wins.empty or len(wins) == len(st.samples):
        who = s.baseline if wins.empty else s.challenger
        return [f"{who} is ahead at every evaluated point: no flip over the ranges studied.", ""]
    se = st.samples.loc[d > 0, f"se_{s.output}"]
    clear = int((d[d > 0] > 2 * se.fillna(np.inf)).sum())
    out = [
        f"The {len(wins)} points where {s.challenger} wins ({clear} of them by more than two standard errors), "
        "factor by factor:",
        "",
    ]
    rows = []
    for f in st.factors:
        lo, hi = float(wins[f.name].min()), float(wins[f.name].max())
        rows.append(
            [f.name, f"{_fmt(lo)} – {_fmt(hi)}", f"{_fmt(f.low)} – {_fmt(f.high)}", _fmt(wins[f.name].median())]
        )
    return out + _table(["factor", "range where it wins", "range studied", "median where it wins"], rows) + [""]


def write_outputs(st: Study, out: str | Path) -> Path:
    """Write the CSVs, figures, ``settings.json`` and ``report.md`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = st.settings
    st.samples.to_csv(out / "samples.csv", index=False)
    st.indices.to_csv(out / "indices.csv", index=False)
    st.flips.to_csv(out / "flips.csv", index=False)
    (out / "settings.json").write_text(
        json.dumps(
            {
                "settings": asdict(s),
                "factors": [asdict(f) for f in st.factors],
                "seconds": round(st.seconds, 1),
                "nominal": {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in st.nominal.items()
                },
                "notes": st.notes,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    fig_i = plot_indices(st, out)
    fig_f = plot_flips(st, out)
    o = s.output
    d_nom, se_nom = st.nominal.get(f"d_{o}", float("nan")), st.nominal.get(f"se_{o}", float("nan"))
    n_morris = int((st.samples["design"] == "morris").sum())
    n_sobol = int((st.samples["design"] == "sobol").sum())
    L = [
        f"# Sensitivity of {s.challenger} − {s.baseline} to behaviour assumptions",
        "",
        f"Mode `{s.mode}`: {s.accounts:,} accounts, {s.replications} replications per point and policy on common "
        f"seeds (base seed {s.seed}); Morris r={s.morris_r} ({n_morris} points), Sobol N={s.sobol_n} "
        f"({n_sobol} points); {st.seconds:.0f} s on {s.n_jobs} process(es). Output analysed: the paired "
        f"difference Δ {o} = {s.challenger} − {s.baseline}, mean over replications.",
        "",
    ]
    L += ["## Factors", ""]
    L += _table(
        ["factor", "what", "range", "changes"],
        [
            [
                f.name,
                f.description,
                f"{_fmt(f.low)} – {_fmt(f.high)}" + (" (× default)" if f.op == "scale" else ""),
                f"`{f.path}`",
            ]
            for f in st.factors
        ],
        align="llll",
    ) + [""]
    L += [
        "## At the defaults",
        "",
        f"Δ {o} = {_fmt(d_nom)} (standard error {_fmt(se_nom)} over {s.replications} replications): "
        f"{s.challenger if d_nom > 0 else s.baseline} is ahead at the default assumptions.",
        "",
    ]
    mor = st.indices[(st.indices["method"] == "morris") & (st.indices["output"] == f"d_{o}")].sort_values(
        "mu_star", ascending=False
    )
    L += [
        "## What drives the difference",
        "",
        f"![indices]({fig_i.name})",
        "",
        "Morris screening: μ* is the mean absolute elementary effect of moving a factor across its range "
        "(in units of the output), σ the spread of the effects (interactions or non-linearity), μ the signed "
        "mean (the direction).",
        "",
    ]
    L += _table(
        ["factor", "μ* (95% CI)", "μ", "σ"],
        [
            [r["factor"], f"{_fmt(r['mu_star'])} ± {_fmt(r['mu_star_conf'])}", _fmt(r["mu"]), _fmt(r["sigma"])]
            for _, r in mor.iterrows()
        ],
    ) + [""]
    sob = st.indices[(st.indices["method"] == "sobol") & (st.indices["output"] == f"d_{o}")].sort_values(
        "ST", ascending=False
    )
    if len(sob):
        L += [
            "Sobol indices (the share of the variance of the difference due to a factor alone, S1, and with its "
            "interactions, ST) of the factors kept by the screening, the others at their defaults:",
            "",
        ]
        L += _table(
            ["factor", "S1 (95% CI)", "ST (95% CI)"],
            [
                [r["factor"], f"{_fmt(r['S1'])} ± {_fmt(r['S1_conf'])}", f"{_fmt(r['ST'])} ± {_fmt(r['ST_conf'])}"]
                for _, r in sob.iterrows()
            ],
        ) + [""]
    L += [f"**Top two drivers of Δ {o}: {', '.join(st.drivers)}.**", ""]
    others = [k for k in OUTPUTS if k != o]
    for k in others:
        mk = st.indices[(st.indices["method"] == "morris") & (st.indices["output"] == f"d_{k}")].sort_values(
            "mu_star", ascending=False
        )
        if len(mk):
            L += [f"- For Δ {k}, the Morris ranking is {', '.join(mk['factor'])}."]
    L += [""]
    wins = float((st.samples[f"d_{o}"] > 0).mean())
    L += ["## Where the ranking flips", ""]
    if fig_f is not None:
        L += [f"![flips]({fig_f.name})", ""]
    L += [
        f"{s.challenger} has the better {o} at {wins:.0%} of the {len(st.samples)} evaluated points. "
        f"By bins of the top two drivers (share of points where {s.challenger} wins, mean Δ):",
        "",
    ]
    bcols = [c for c in st.flips.columns if c.endswith("_bin")]
    L += _table(
        [*[f"{c[:-4]} bin" for c in bcols], "points", f"{s.challenger} wins", f"mean Δ {o}"],
        [
            [*[r[c] for c in bcols], int(r["points"]), f"{r['challenger_win_share']:.0%}", _fmt(r["mean_diff"])]
            for _, r in st.flips.iterrows()
        ],
    ) + [""]
    L += _where_wins(st)
    if st.notes:
        L += ["## Notes", ""] + [f"- {n}" for n in st.notes] + [""]
    L += [
        "Files: `samples.csv` (every point: factors, per-policy means, Δ and its standard error), `indices.csv`, "
        "`flips.csv`, `settings.json`.",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(L), encoding="utf-8")
    return path


def load_study(folder: str | Path) -> Study:
    """Read a study back from its output folder (to rewrite its report without rerunning it)."""
    root = Path(folder)
    meta = json.loads((root / "settings.json").read_text(encoding="utf-8"))
    s = Settings(**meta["settings"])
    factors = [Factor(**f) for f in meta["factors"]]
    samples = pd.read_csv(root / "samples.csv")
    indices = pd.read_csv(root / "indices.csv")
    drivers = _drivers(indices, s.output)
    nominal = {k: (float("nan") if v is None else v) for k, v in (meta.get("nominal") or {}).items()}
    flips = flip_table(samples, factors, drivers, s.output, bins=3 if s.mode == "tiny" else 4)
    return Study(
        s,
        factors,
        samples,
        indices,
        flips,
        drivers,
        nominal,
        float(meta.get("seconds", 0.0)),
        list(meta.get("notes") or []),
    )


PUBLISHED = ("report.md", "indices.csv", "flips.csv", "indices.png", "flips.png", "settings.json")


def publish(out: Path, target: Path) -> None:
    """Copy the report files of a study folder to ``target`` (e.g. experiments/sensitivity)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PUBLISHED:
        if (out / name).is_file():
            shutil.copy2(out / name, target / name)
