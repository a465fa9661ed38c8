"""Keyed contact outcomes and the randomised learning run (docs/uplift.md)."""

from __future__ import annotations

import numpy as np
import pytest

from collectsim import load_scenario
from collectsim.engine import Simulation
from collectsim.policies.features import FEATURES

# Ample, identical agents: an account's calls then go out when the policy asks for
# them, whoever else is in the queue, so removing one account's calls changes nothing
# for the others except through the draws themselves.
AMPLE = ["collectors.size=40", "collectors.skill.sigma=0", "collectors.harshness.sigma=0"]


def _run(keyed: bool, forced: dict[int, bool], *extra: str) -> tuple[Simulation, dict[str, np.ndarray]]:
    sc = load_scenario(
        [
            "policy=call_holdout",
            "policy.treat_share=1.0",
            "portfolio.n_accounts=2500",
            f"simulation.keyed_outcomes={str(keyed).lower()}",
            *AMPLE,
            *extra,
        ]
    )
    sim = Simulation(sc, 0, record_events=True)
    sim.policy.forced = forced  # type: ignore[attr-defined]
    sim.run()
    ev = {k: np.concatenate([e[k] for e in sim.event_log]) for k in ("idx", "time", "action", "connected", "stress")}
    return sim, ev


def _per_account(ev: dict[str, np.ndarray], leave_out: int) -> np.recarray:
    """Every other account's contacts in its own time order: (account, action, answered)."""
    m = ev["idx"] != leave_out
    order = np.lexsort((ev["time"][m], ev["idx"][m]))
    return np.rec.fromarrays([ev[k][m][order] for k in ("idx", "action", "connected")])


@pytest.mark.parametrize("keyed", [True, False])
def test_removing_one_accounts_calls_leaves_the_others_draws_unchanged(keyed: bool) -> None:
    base, ev_a = _run(keyed, {})
    called = np.flatnonzero(base.policy.assigned_day >= 0)  # type: ignore[attr-defined]
    j = int(called[len(called) // 2])
    held, ev_b = _run(keyed, {j: False})
    assert (ev_b["idx"] == j).sum() < (ev_a["idx"] == j).sum()  # j lost its collector calls
    a, b = _per_account(ev_a, j), _per_account(ev_b, j)
    same = a.size == b.size and bool((a == b).all())
    others = np.arange(base.pf.n) != j
    paid_same = np.array_equal(base.st.collected[others], held.st.collected[others])
    if keyed:
        # Every other account: the same contacts, answered or not alike, the same money.
        assert same and paid_same
        # Times may move by the agents' handle times (drawn on the collectors' stream,
        # the agents' own randomness), by seconds at most.
        ta, tb = np.sort(ev_a["time"][ev_a["idx"] != j]), np.sort(ev_b["time"][ev_b["idx"] != j])
        assert np.abs(ta - tb).max() < 1e-3
    else:
        # Shared streams: one call fewer shifts every later draw (why keyed draws exist).
        assert not (same and paid_same)


def test_keyed_outcomes_give_the_same_run_on_the_compiled_and_python_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = ["collectors.size=1", "policy.treat_share=0.5"]
    _, compiled = _run(True, {}, *extra)
    monkeypatch.setenv("COLLECTSIM_KERNELS", "0")
    _, python = _run(True, {}, *extra)
    for k in compiled:
        np.testing.assert_array_equal(compiled[k], python[k])


def test_the_learning_run_logs_only_observable_features_at_assignment() -> None:
    sim, ev = _run(True, {}, "policy.treat_share=0.5", "collectors.size=1")
    pol = sim.policy
    assigned = pol.assigned_day >= 0  # type: ignore[attr-defined]
    assert assigned.any()
    feats = pol.features  # type: ignore[attr-defined]
    assert feats.shape[1] == len(FEATURES)
    assert not np.isnan(feats[assigned]).any() and np.isnan(feats[~assigned]).all()
    latent = {"ability", "willingness", "contactability", "sensitivity", "hardship", "stress", "strategic"}
    assert not latent & {f.split("_")[0] for f in FEATURES} and not latent & set(FEATURES)
    # Held-out accounts get no collector call at all; treated ones do.
    treated = pol.treated  # type: ignore[attr-defined]
    act = ev["action"]
    agent_call = np.zeros(act.size, dtype=bool)
    channel = act < sim.channels.is_agent.size  # court outcomes have codes of their own
    agent_call[channel] = sim.channels.is_agent[act[channel]]
    assert not (agent_call & ~treated[ev["idx"]]).any()
    assert (agent_call & treated[ev["idx"]]).any()
    share = treated[assigned].mean()
    assert 0.4 < share < 0.6  # a fair coin over ~1,900 assigned accounts: over 8 standard errors


def test_the_study_never_evaluates_on_a_training_seed(capsys: pytest.CaptureFixture[str]) -> None:
    from collectsim import uplift_study

    assert uplift_study.main(["--train-seeds", "1,2", "--eval-seeds", "2,3"]) == 2
    assert "--eval-seeds must not reuse training seeds ([2])" in capsys.readouterr().err
    # The defaults are disjoint.
    ap_defaults = {a.dest: a.default for a in uplift_study._parser()._actions}
    train = set(ap_defaults["train_seeds"].split(","))
    assert train and not train & set(ap_defaults["eval_seeds"].split(","))


def test_the_uplift_order_needs_its_model_file(tmp_path: object) -> None:
    from collectsim.engine import build_plugins
    from collectsim.errors import ConfigError

    with pytest.raises(ConfigError, match="policy.uplift_model .* goes with queue_order=uplift"):
        build_plugins(load_scenario(["policy=soft_first", "policy.queue_order=uplift"]))
    with pytest.raises(ConfigError, match="policy.uplift_model: no such file"):
        build_plugins(
            load_scenario(["policy=soft_first", "policy.queue_order=uplift", "+policy.uplift_model=/nope.pkl"])
        )
    with pytest.raises(ConfigError, match="policy.queue_order must be one of .*uplift"):
        build_plugins(load_scenario(["policy=soft_first", "policy.queue_order=upflit"]))
