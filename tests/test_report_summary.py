"""The report's summary, stress scale, styles, factor charts, any-cell baselines, the rerun
command and the HTML version."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from tests.conftest import SHORT_STREAM

from collectsim.experiments import grid, run_experiments
from collectsim.report import gather, make_report
from collectsim.report.compare import HEADLINE_KPIS, mirrored, pair_cells
from collectsim.report.markdown import sweep_command
from collectsim.report.plots import spread_offsets
from collectsim.report.style import cell_styles
from collectsim.report.summary import pareto_set, summarise

REPS = 3


@pytest.fixture(scope="module")
def factor_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two policies x three team sizes, 3 replications of 300 accounts, report written."""
    out = tmp_path_factory.mktemp("factor") / "sweep"
    cells = grid({"policy": ["soft_first", "early_escalation"], "collectors.size": [1, 2, 4]})
    run_experiments(cells, replications=REPS, base=["portfolio.n_accounts=300", *SHORT_STREAM], n_jobs=1, out_dir=out)
    make_report(out, baseline="collectors.size=4")
    return out


def _text(d: Path) -> str:
    return (d / "report.md").read_text(encoding="utf-8")


def test_summary_comes_first_and_names_the_winners(factor_sweep: Path) -> None:
    text = _text(factor_sweep)
    assert text.index("## Summary") < text.index("## What was run") < text.index("## Results per cell")
    comp = pd.read_csv(factor_sweep / "comparison.csv")
    rec = comp[comp["kpi"] == "recovery_rate"].sort_values("mean", ascending=False)
    stress = comp[comp["kpi"] == "stress_peak_p95"].sort_values("mean")
    summary = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert f"**Most recovery** (recovery_rate ↑): **{rec['label'].iloc[0]}**" in summary
    assert f"**Least borrower stress** (stress_peak_p95 ↓): **{stress['label'].iloc[0]}**" in summary
    assert "**Pareto set**" in summary and "**Trade-off**" in summary


def test_pareto_set_keeps_exactly_the_unbeaten_cells(factor_sweep: Path) -> None:
    g = gather(factor_sweep)
    front, beaten_by = pareto_set(g)
    cells = list(g.cells()["cell"])
    assert sorted(front + list(beaten_by)) == sorted(cells) and front
    objectives = ["recovery_rate", "cost_to_collect", "stress_peak_p95"]
    for lost, by in beaten_by.items():
        v = list(pair_cells(g, by, lost, objectives)["verdict"])
        assert by != lost and "better" in v and "worse" not in v, (by, lost, v)
    for c in front:
        for other in cells:
            if other == c:
                continue
            v = list(pair_cells(g, other, c, objectives)["verdict"])
            assert not ("better" in v and "worse" not in v), (other, c)


def test_winner_is_the_best_mean(factor_sweep: Path) -> None:
    g = gather(factor_sweep)
    s = summarise(g)
    means = g.overall().groupby("label")["cost_to_collect"].mean()
    assert s.winners["cost_to_collect"][0] == means.idxmin()
    assert s.winners["cost_to_collect"][1] == pytest.approx(means.min(), rel=1e-12)


def test_factor_chart_and_any_cell_baseline(factor_sweep: Path) -> None:
    text = _text(factor_sweep)
    png = factor_sweep / "factor_collectors_size.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![KPIs against collectors.size](factor_collectors_size.png)" in text
    paired = pd.read_csv(factor_sweep / "paired.csv")
    assert set(paired["baseline_label"]) == {"soft_first, collectors.size=4", "early_escalation, collectors.size=4"}
    for _, r in paired.drop_duplicates("cell").iterrows():
        assert r["label"].split(",")[0] == r["baseline_label"].split(",")[0]  # same policy, other size
    assert "## Differences against the baseline (collectors.size=4)" in text


def test_baseline_value_missing_lists_the_values(factor_sweep: Path, tmp_path: Path) -> None:
    d = Path(shutil.copytree(factor_sweep, tmp_path / "s"))
    text = make_report(d, baseline="collectors.size=20").read_text(encoding="utf-8")
    assert "no cell with collectors.size=20 in this sweep" in text
    assert "collectors.size values present: 1, 2, 4" in text


def test_mirrored_kpis_are_counted_once(factor_sweep: Path) -> None:
    g = gather(factor_sweep)
    ov = g.overall()
    assert np.allclose(ov["cure_rate"] + ov["writeoff_rate"], 1.0)
    assert mirrored(g, list(HEADLINE_KPIS)) == {"writeoff_rate": "cure_rate"}
    text = _text(factor_sweep)
    counts = re.findall(r"of (\d+) KPI\(s\); \d+ paired", text)
    assert counts and set(counts) == {str(len(HEADLINE_KPIS) - 1)}
    # Once the two stop adding up to 1, both count.
    g.kpis.loc[g.kpis["group"] == "all", "writeoff_rate"] *= 0.5
    assert mirrored(g, list(HEADLINE_KPIS)) == {}


def test_stress_scale_uses_the_sweeps_config(factor_sweep: Path, tmp_path: Path) -> None:
    text = _text(factor_sweep)
    assert "## Stress scale" in text and "above **2**" in text and "firm collector call 1" in text
    d = Path(shutil.copytree(factor_sweep, tmp_path / "s"))
    (d / "0" / ".hydra" / "config.yaml").write_text(
        "stress: {distress_threshold: 3.5, half_life_days: 10, willingness_effect: 0.3, response_effect: 0.2,"
        " reactance_threshold: 3.0, intensity_effect: 0.3}\n"
        "channels: {firm_call: {stress_increment: 0.8}, extra: {third_party_call: {reactance: 0.15}}}\n",
        encoding="utf-8",
    )
    text = make_report(d).read_text(encoding="utf-8")
    assert "above **3.5**" in text and "halves every 10 days" in text and "a firm collector call 0.8" in text
    assert "every contact's effect x0.50" in text  # exp(-0.2 * 3.5)
    # The own-repayment floor goes with willingness squared: exp(-0.3 * 3.5) ** 2 = 0.12.
    assert "own repayment floor x0.12 (willingness x0.35, squared in the floor)" in text
    assert "above level 3 a contact on third_party_call loses 0.15 per unit" in text
    assert "recovery_rate is what was collected over what was owed" in text
    assert "can exceed 1" not in text and "over exposure" not in text


def test_command_keeps_config_dir_and_hydra_overrides(factor_sweep: Path) -> None:
    g = gather(factor_sweep)
    g.multirun = {
        "hydra": {
            "overrides": {
                "task": ["policy=a,b", "baseline='collectors.size=20'"],
                "hydra": ["hydra.mode=MULTIRUN", "hydra.launcher.n_jobs=2"],
            },
            "runtime": {"config_sources": [{"path": "/srv/my conf", "schema": "file", "provider": "command-line"}]},
            "job": {"config_name": "config"},
        }
    }
    assert sweep_command(g) == (
        "collectsim -m --config-dir '/srv/my conf' policy=a,b \"baseline='collectors.size=20'\" hydra.launcher.n_jobs=2"
    )


def test_html_is_one_self_contained_file(factor_sweep: Path) -> None:
    html = (factor_sweep / "report.html").read_text(encoding="utf-8")
    md = _text(factor_sweep)
    n_figures = len(re.findall(r"!\[[^\]]*\]\([^)]+\.png\)", md))
    assert n_figures >= 6
    assert html.count('src="data:image/png;base64,') == n_figures
    assert not re.search(r'src="(?!data:)', html)
    assert "<table>" in html and "<h2>Summary</h2>" in html


def test_colour_per_policy_marker_per_setting(factor_sweep: Path) -> None:
    g = gather(factor_sweep)
    styles = cell_styles(g)
    cells = g.cells()
    for _, a in cells.iterrows():
        for _, b in cells.iterrows():
            sa, sb = styles[a["cell"]], styles[b["cell"]]
            assert (sa.colour == sb.colour) == (a["policy"] == b["policy"])
            assert (sa.marker == sb.marker) == (a["collectors.size"] == b["collectors.size"])


def test_markers_on_the_same_spot_are_moved_apart() -> None:
    fig = Figure(figsize=(4, 3), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 1)
    x = np.array([3.0, 3.0001, 8.0])
    y = np.array([0.5, 0.5, 0.2])
    off = spread_offsets(x, y, ax)
    assert off[2] == (0.0, 0.0)
    assert np.hypot(off[0][0] - off[1][0], off[0][1] - off[1][1]) >= 5.0


def _hand_made(values: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    """A tidy table of cells with given (recovery, cost, stress) means, 4 replications
    each with the same small noise, so the paired differences are exact."""
    rows = []
    for j, (pol, (rec, cost, stress)) in enumerate(values.items()):
        for k in range(4):
            noise = 0.001 * (k - 1.5)
            rows.append(
                {
                    "job": str(j),
                    "cell": f"policy={pol}",
                    "label": pol,
                    "policy": pol,
                    "policy_name": pol,
                    "replication": k,
                    "seed": 0,
                    "group": "all",
                    "name": "all",
                    "recovery_rate": rec + noise,
                    "cost_to_collect": cost + noise * 0.1 + 0.0001 * k**2,
                    "stress_peak_p95": stress + noise * 2 + 0.001 * k**2,
                }
            )
    return pd.DataFrame(rows)


def test_pareto_set_on_a_hand_made_sweep() -> None:
    from collectsim.experiments import as_gathered

    # a: most recovery, most stress; b: least stress, least recovery (a trade-off, both
    # unbeaten); c: less recovery than a, same cost, more stress (beaten by a).
    g = as_gathered(
        _hand_made({"a": (0.95, 0.01, 3.0), "b": (0.90, 0.01, 1.0), "c": (0.93, 0.01, 3.5), "d": (0.95, 0.01, 3.0)})
    )
    front, beaten_by = pareto_set(g)
    assert front == ["policy=a", "policy=b", "policy=d"]  # a and d tie: neither beats the other
    assert beaten_by == {"policy=c": "policy=a"}
    s = summarise(g)
    assert s.winners["recovery_rate"][0] in ("a", "d") and s.winners["stress_peak_p95"][0] == "b"
    assert any(t.startswith("Against") and "b (best on borrower stress)" in t for t in s.tradeoff)


# ------------------------------------------------------- levers against uncertainties


@pytest.fixture(scope="module")
def assumption_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two policies (a lever) x two stress coefficients (an assumption), 3 replications."""
    out = tmp_path_factory.mktemp("assumption") / "sweep"
    cells = grid({"policy": ["soft_first", "early_escalation"], "stress.intensity_effect": [0, 0.6]})
    run_experiments(cells, replications=REPS, base=["portfolio.n_accounts=300", *SHORT_STREAM], n_jobs=1, out_dir=out)
    make_report(out)
    return out


def test_only_levers_are_ranked_under_each_assumption(assumption_sweep: Path) -> None:
    summary = _text(assumption_sweep).split("## Summary", 1)[1].split("\n## ", 1)[0]
    ranked = [ln for ln in summary.splitlines() if ln.startswith(("- **Most", "- **Least", "- **Pareto"))]
    assert ranked and not [ln for ln in ranked if "stress.intensity_effect=" in ln], ranked
    assert "### Under stress.intensity_effect=0\n" in summary and "### Under stress.intensity_effect=0.6\n" in summary
    assert "### Does the winner change?" in summary
    assert re.search(r"Best on recovery: \*\*(soft_first|early_escalation)\*\* under every|the winner changes", summary)
    # Each assumption's block pairs the challenger with the baseline under that assumption.
    assert summary.count("- early_escalation against soft_first: recovery_rate ") == 2


def test_a_key_marked_as_a_lever_is_ranked(assumption_sweep: Path, tmp_path: Path) -> None:
    d = Path(shutil.copytree(assumption_sweep, tmp_path / "s"))
    summary = make_report(d, levers=["stress.intensity_effect"]).read_text(encoding="utf-8").split("\n## ", 2)[1]
    assert "### Under" not in summary and "stress.intensity_effect=0.6" in summary


def test_stress_scale_states_the_effects_per_swept_value(assumption_sweep: Path) -> None:
    text = _text(assumption_sweep)
    scale = text.split("## Stress scale", 1)[1].split("\n## ", 1)[0]
    assert "for each value of stress.intensity_effect in this sweep" in scale
    assert re.search(r"stress.intensity_effect=0: .*own repayment floor x1.00", scale)
    assert re.search(r"stress.intensity_effect=0.6: .*own repayment floor x0.09", scale)  # exp(-0.6 * 2) ** 2
