"""Output of a sensitivity study: figures, the CSV and JSON files, reading them back, publishing."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from collectsim.errors import ConfigError
from collectsim.sensitivity.analysis import advantage
from collectsim.sensitivity.design import Factor, Settings
from collectsim.sensitivity.study import Study, analyse


def _grid(n: int) -> tuple[int, int]:
    cols = 1 if n == 1 else 2
    return math.ceil(n / cols), cols


def plot_indices(st: Study, out: Path) -> Path:
    """``indices.png``: Morris mu* of Δ output with 95% CIs and sigma, one panel per challenger."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = st.settings
    rows, cols = _grid(len(s.challengers))
    k = len(st.factors)
    fig = Figure(figsize=(6.2 * cols, (1.2 + 0.24 * k) * rows), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, c in zip(axes, s.challengers, strict=False):
        ix = st.indices
        mor = ix[(ix["method"] == "morris") & (ix["challenger"] == c) & (ix["output"] == s.output)]
        mor = mor.sort_values("mu_star", kind="stable")
        y = np.arange(len(mor))
        ax.barh(y, mor["mu_star"], xerr=mor["mu_star_conf"], color="tab:blue", capsize=2, label="μ* (95% CI)")
        ax.scatter(mor["sigma"], y, marker="x", c="k", zorder=3, label="σ (interactions, non-linearity)")
        ax.set_yticks(y, mor["factor"], fontsize=7)
        ax.set_title(f"Δ {s.output} = {s.baseline} − {c}", fontsize=9)
        ax.set_xlabel("Morris μ*", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=6, loc="lower right")
    for ax in axes[len(s.challengers) :]:
        ax.set_visible(False)
    path = out / "indices.png"
    fig.savefig(path, dpi=100)
    return path


def plot_flips(st: Study, out: Path) -> Path | None:
    """``flips.png``: every evaluated point on each challenger's two strongest drivers,
    coloured by which policy has the better output (one panel per challenger)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = st.settings
    shown = [c for c in s.challengers if len(st.drivers.get(c, [])) == 2]
    if not shown:
        return None
    rows, cols = _grid(len(shown))
    fig = Figure(figsize=(5.4 * cols, 4.2 * rows), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    # Morris points sit on a grid of four levels: jitter them (2% of the range) to show each.
    rng = np.random.default_rng(0)
    jitter = {f.name: rng.uniform(-0.02, 0.02, len(st.samples)) * (f.high - f.low) for f in st.factors}
    for ax, c in zip(axes, shown, strict=False):
        a, b = st.drivers[c]
        xa, xb = st.samples[a] + jitter[a], st.samples[b] + jitter[b]
        adv = advantage(st.samples, c, s.output)
        size = 10 + 50 * (adv.abs() / max(float(adv.abs().max()), 1e-12))
        win = adv > 0
        for mask, colour, label in ((~win, "tab:blue", f"{s.baseline} better"), (win, "tab:red", f"{c} better")):
            ax.scatter(xa[mask], xb[mask], s=size[mask], c=colour, alpha=0.6, label=label)
        if a in st.nominal and b in st.nominal:
            ax.scatter([st.nominal[a]], [st.nominal[b]], marker="*", s=140, c="k", label="defaults")
        ax.set_xlabel(a, fontsize=8)
        ax.set_ylabel(b, fontsize=8)
        ax.set_title(f"{s.baseline} or {c}: better {s.output} (size: |Δ|; jittered)", fontsize=9)
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3)
    for ax in axes[len(shown) :]:
        ax.set_visible(False)
    path = out / "flips.png"
    fig.savefig(path, dpi=100)
    return path


def write_outputs(st: Study, out: str | Path) -> Path:
    """Write the CSVs, figures, ``settings.json`` and ``report.md`` into ``out``."""
    from collectsim.sensitivity.report import write_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    st.samples.to_csv(out / "samples.csv", index=False)
    st.indices.to_csv(out / "indices.csv", index=False)
    st.flips.to_csv(out / "flips.csv", index=False)
    st.signs.to_csv(out / "signs.csv", index=False)
    st.wins.to_csv(out / "wins.csv", index=False)
    (out / "settings.json").write_text(
        json.dumps(
            {
                "settings": asdict(st.settings),
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
    return write_report(st, out, fig_i, fig_f)


def load_study(folder: str | Path) -> Study:
    """Read a study back from its output folder (to rewrite its report without rerunning it)."""
    root = Path(folder)
    meta = json.loads((root / "settings.json").read_text(encoding="utf-8"))
    if "challenger" in meta["settings"]:
        raise ConfigError(
            f"{root} was written by an earlier version of the study (one challenger, Δ = challenger − baseline); "
            "rerun it"
        )
    s = Settings(**meta["settings"])
    factors = [Factor(**f) for f in meta["factors"]]
    samples = pd.read_csv(root / "samples.csv")
    indices = pd.read_csv(root / "indices.csv")
    nominal = {k: (float("nan") if v is None else v) for k, v in (meta.get("nominal") or {}).items()}
    return analyse(
        s, factors, samples, indices, nominal, float(meta.get("seconds", 0.0)), list(meta.get("notes") or [])
    )


PUBLISHED = (
    "report.md",
    "indices.csv",
    "wins.csv",
    "signs.csv",
    "flips.csv",
    "indices.png",
    "flips.png",
    "settings.json",
)


def publish(out: Path, target: Path) -> None:
    """Copy the report files of a study folder to ``target`` (e.g. experiments/sensitivity)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in PUBLISHED:
        if (out / name).is_file():
            shutil.copy2(out / name, target / name)
