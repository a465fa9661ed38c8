"""Features with their own tests: stream arrivals, debt sale, the docs' code examples
and every study's sweep checked before it runs."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from tests.conftest import small

from collectsim import load_scenario, scenario_from_dict
from collectsim.cli.precheck import precheck
from collectsim.config import config_dir
from collectsim.engine import Simulation
from collectsim.scenario import scenario_to_dict
from collectsim.state import SOLD

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- stream arrivals

STREAM = [
    "portfolio.arrival=stream",
    "portfolio.n_accounts=1000",
    "portfolio.warmup_days=10",
    "portfolio.arrival_days=30",
    "portfolio.cooldown_days=0",
    "simulation.horizon_days=60",
    "simulation.legal_tail_days=0",
    "collectors.size=1",
]


def test_stream_arrivals_enter_over_time_and_warmup_is_not_measured() -> None:
    sim = Simulation(load_scenario(STREAM), 0)
    res = sim.run()
    pf = sim.pf
    assert pf.n == 1000
    assert np.all(np.diff(pf.entry_time) >= 0) and pf.entry_time.min() >= 0 and pf.entry_time.max() < 40
    # An account becomes delinquent when a day starts.
    assert np.all(pf.entry_time == np.floor(pf.entry_time))
    assert np.array_equal(pf.measured, (pf.entry_time >= 10) & (pf.entry_time < 40))
    assert 0 < pf.measured.sum() < pf.n
    # KPIs cover the measured entries only.
    assert res.kpis["accounts"] == pf.measured.sum()


def test_stream_accounts_never_repay_before_they_enter() -> None:
    sim = Simulation(load_scenario(STREAM), 0)
    sim.run()
    first = sim.st.first_payment_time
    assert np.all(np.isnan(first) | (first >= sim.pf.entry_time))


def test_stream_daily_arrivals_are_poisson_like() -> None:
    """Arrivals per day over 10 replications: the index of dispersion (variance over mean
    of the daily counts) against its chi-square law, two-sided at 0.1%."""
    from collectsim.portfolio import build_portfolio
    from collectsim.random_streams import RandomStreams

    sc = load_scenario(STREAM)
    for r in range(10):
        counts = np.bincount(build_portfolio(sc.portfolio, RandomStreams(0, r)).entry_time.astype(int), minlength=40)
        assert counts.size == 40
        d = counts.size - 1
        stat = d * counts.var(ddof=1) / counts.mean()
        p = 2 * min(stats.chi2.cdf(stat, d), stats.chi2.sf(stat, d))
        assert p > 0.001, (r, stat)


def test_stream_needs_a_measured_window() -> None:
    from collectsim import ConfigError

    with pytest.raises(ConfigError, match="portfolio.arrival_days must be > 0"):
        load_scenario(["portfolio.arrival=stream", "portfolio.arrival_days=0"])


# --------------------------------------------------------------------------- debt sale


def _selling(price: float) -> Simulation:
    d = copy.deepcopy(scenario_to_dict(small("policy=staged", n=800)))
    d["policy"]["stages"][-1]["actions"] = [{"action": "debt_sale", "start_day": 91}]
    d["channels"]["debt_sale_price_fraction"] = price
    d["simulation"]["legal_tail_days"] = 0
    sim = Simulation(scenario_from_dict(d), 0)
    sim.run()
    return sim


def test_debt_sale_closes_accounts_at_the_sale_price() -> None:
    sim = _selling(0.126)
    st = sim.st
    sold = st.status == SOLD
    assert sold.sum() > 0
    assert np.all(st.balance[sold] == 0)
    # The sale stage starts at 91 days past due, which is day 90 (day 0 is 1 day past due).
    assert st.close_time[sold].min() == 90
    np.testing.assert_allclose(st.sale_proceeds[sold], 0.126 * st.sold[sold], rtol=1e-12)
    assert np.all(st.sale_proceeds[~sold] == 0) and np.all(st.sold[~sold] == 0)
    # Money is conserved: what was owed is collected, discounted, written off, sold or outstanding.
    np.testing.assert_allclose(
        sim.pf.principal + st.interest,
        st.collected + st.discount + st.written_off + st.sold + st.balance,
        rtol=0,
        atol=1e-6,
    )


def test_debt_sale_proceeds_count_as_collected() -> None:
    """Same seed, two sale prices: the same accounts are sold, and collected_total differs
    by exactly the difference in proceeds."""
    cheap, dear = _selling(0.05), _selling(0.25)
    assert np.array_equal(cheap.st.status == SOLD, dear.st.status == SOLD)
    gap = dear.st.sale_proceeds.sum() - cheap.st.sale_proceeds.sum()
    assert gap > 0
    collected = [float(s.st.collected.sum() + s.st.sale_proceeds.sum()) for s in (cheap, dear)]
    assert collected[1] - collected[0] == pytest.approx(gap, rel=1e-12)


# --------------------------------------------------------------------------- docs' code examples


def _python_blocks() -> list[tuple[str, int, str]]:
    out = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        if path.name == "response.md":
            continue  # run by tests/test_response_docs.py, with the package and configs it describes
        for k, code in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)):
            out.append((path.name, k, code))
    return out


def _tiny(code: str) -> str:
    code = re.sub(r"portfolio\.n_accounts=\d+", "portfolio.n_accounts=300", code)
    code = re.sub(r"run_replications\((\w+), \d+\)", r"run_replications(\1, 2)", code)
    return code


@pytest.fixture
def own_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The package and config folder docs/policies.md tells a user to write, taken from
    the page itself: ``mypolicies/mypkg/balance_policy.py`` and
    ``myconf/policy/balance_threshold.yaml``."""
    text = (ROOT / "docs" / "policies.md").read_text()
    module = next(c for c in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "class BalanceThreshold" in c)
    config = next(c for c in re.findall(r"```yaml\n(.*?)```", text, flags=re.S) if "BalanceThreshold" in c)
    pkg = tmp_path / "mypolicies" / "mypkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "balance_policy.py").write_text(module)
    (tmp_path / "myconf" / "policy").mkdir(parents=True)
    (tmp_path / "myconf" / "policy" / "balance_threshold.yaml").write_text(config)
    monkeypatch.syspath_prepend(str(tmp_path / "mypolicies"))
    monkeypatch.setenv("COLLECTSIM_ALLOWED_PACKAGES", "mypkg")
    return tmp_path


@pytest.mark.parametrize(("doc", "k", "code"), _python_blocks(), ids=lambda v: str(v)[:20])
def test_docs_python_example_runs(
    doc: str, k: int, code: str, own_policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(own_policy)  # an example that writes a file writes it there
    code = _tiny(code).replace("/path/to/myconf", str(own_policy / "myconf"))
    namespace: dict = {"__name__": f"docs_example_{k}"}
    exec(compile(code, f"docs/{doc}[{k}]", "exec"), namespace)  # noqa: S102 - our own docs
    if "sc" in namespace:  # an example that builds a scenario: its plug-ins must build too
        from collectsim.engine import build_plugins

        build_plugins(namespace["sc"])


# --------------------------------------------------------------------------- studies


def _studies() -> list[str]:
    return sorted(p.stem for p in (config_dir() / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("study", _studies())
def test_every_study_sweep_passes_the_precheck(study: str) -> None:
    """Every value the study sweeps composes and validates (the slow tier runs them)."""
    checked = precheck([f"experiment={study}"])
    assert checked is not None and checked.multirun
    assert (ROOT / "experiments" / study / "README.md").is_file()


# --------------------------------------------------------------------------- citations


def _anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).strip().replace(" ", "-")


def test_citations_point_at_sections_of_the_references_page() -> None:
    """Every ``references.md#section`` cited in the docs, configs, code and READMEs exists,
    and no citation of a document outside the repository is left."""
    headings = re.findall(r"^#+ (.+)$", (ROOT / "docs" / "references.md").read_text(), flags=re.M)
    anchors = {_anchor(h) for h in headings}
    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("conf/**/*.yaml"), *ROOT.glob("src/**/*.py")]
    files += list(ROOT.glob("experiments/*/README.md"))
    cited = 0
    for path in files:
        text = path.read_text()
        assert not re.search(r"\bDESIGN (section )?\d", text), path
        for anchor in re.findall(r"references\.md#([\w-]+)", text):
            assert anchor in anchors, (path, anchor)
            cited += 1
    assert cited > 20
