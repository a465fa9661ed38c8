"""The agents' day three ways: compiled kernels, the same kernels uncompiled
(``NUMBA_DISABLE_JIT=1``) and the Python agent loop (the fallback without Numba) give
the same calls, in the same order, with the same outcomes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import small

from collectsim import collectors, compiled_team, compliance, kernels, ledger_kernels, state, state_kernels
from collectsim.engine import Simulation

#: Small set-ups that exercise every branch of the kernels: redials and the contact
#: rules (pressure under china_2025, third parties under the locate exception), a
#: shift reaching outside an unenforced calling window, a round-the-clock team, a
#: dropped backlog and a shift from midnight.
CASES = {
    "pressure_third_party": ("policy=pressure", "compliance=china_2025_third_party"),
    "window_unenforced": (
        "policy=pressure",
        "compliance=reg_f",
        "compliance.enforce=false",
        "collectors.shift_start_hour=6.0",
        "collectors.shift_end_hour=23.0",
        "collectors.shift_follows_window=false",
    ),
    "round_the_clock": (
        "compliance=none",
        "collectors.shift_start_hour=0.0",
        "collectors.shift_end_hour=24.0",
        "collectors.break_minutes=0",
    ),
    "midnight_drop": ("collectors.shift_start_hour=0.0", "collectors.shift_end_hour=9.0", "collectors.backlog=drop"),
}
N = 300


def fingerprint(case: str) -> str:
    """SHA-256 of a case's full event log, shift log and KPIs."""
    sim = Simulation(small(*CASES[case], "collectors.size=1", n=N), 0, record_events=True)
    res = sim.run()
    h = hashlib.sha256()
    for ev in sim.event_log:
        for k in sorted(ev):
            h.update(k.encode())
            h.update(np.ascontiguousarray(ev[k]).tobytes())
    h.update(repr(list(sim.pool.shift_log)).encode())
    h.update(repr(sorted(res.kpis.items())).encode())
    return h.hexdigest()


@pytest.mark.skipif(not kernels.COMPILED, reason="Numba not installed")
@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_equals_python_loop(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert collectors.agent_path() == "compiled"
    compiled = fingerprint(case)
    monkeypatch.setenv("COLLECTSIM_KERNELS", "0")
    assert collectors.agent_path() == "python"
    assert fingerprint(case) == compiled


@pytest.mark.skipif(not kernels.COMPILED, reason="Numba not installed")
def test_compiled_equals_uncompiled() -> None:
    # The kernels' source run by the interpreter (slow: one small case).
    case = "pressure_third_party"
    code = (
        "from tests.test_kernels import fingerprint; from collectsim import collectors; "
        f"print(collectors.agent_path(), fingerprint({case!r}))"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    path, digest = out.stdout.split()
    assert path == "kernels-uncompiled"
    assert digest == fingerprint(case)


#: Scenarios for the models' and the ledger's compiled steps: every channel kind, keyed
#: outcomes, settlements, rules counted but not enforced (breach reactance), no competing
#: creditors and no stress damping (the steps' optional terms).
STEP_CASES = {
    "staged_keyed": ("policy=call_holdout", "simulation.keyed_outcomes=true"),
    "unenforced": ("policy=pressure", "compliance=reg_f", "compliance.enforce=false"),
    "field_bots": ("policy=staged_field", "channels.field_team.size=1"),
    "bots_educated": ("policy=soft_first_bots",),
    "education": ("policy=soft_first_educated", "response.competition_rate=0", "stress.response_effect=0"),
}


def step_fingerprint(case: str) -> str:
    """SHA-256 of a case's event log, payments and KPIs."""
    sim = Simulation(small(*STEP_CASES[case], n=800), 0, record_events=True)
    res = sim.run()
    h = hashlib.sha256()
    for ev in sim.event_log:
        for k in sorted(ev):
            h.update(np.ascontiguousarray(ev[k]).tobytes())
    for row in sim.st.payment_log or []:
        for a in row:
            h.update(np.ascontiguousarray(a).tobytes())
    h.update(repr(sorted(res.kpis.items())).encode())
    return h.hexdigest()


@pytest.mark.skipif(not kernels.COMPILED, reason="Numba not installed")
@pytest.mark.parametrize("case", sorted(STEP_CASES))
def test_compiled_steps_equal_numpy_path(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The behaviour and response models and the payments run as compiled steps between
    # NumPy's exp, log and powers; off, the NumPy code a machine without Numba runs.
    from collectsim.behaviour import intensity, standard_response

    assert kernels.compiled_steps()
    compiled = step_fingerprint(case)
    for module in (intensity, standard_response, state, compliance):
        monkeypatch.setattr(module, "compiled_steps", lambda: False)
    assert step_fingerprint(case) == compiled


@pytest.mark.skipif(not kernels.COMPILED, reason="Numba not installed")
def test_a_subclass_that_changes_a_step_runs_the_numpy_path() -> None:
    # The compiled steps stand in for methods a researcher may override; a subclass that
    # does must have its method called, so its model runs the NumPy path.
    from collectsim.behaviour import SelfExcitingIntensity, StandardResponse

    class Louder(StandardResponse):
        def strength(self, contacts, borrowers, w_eff):  # type: ignore[no-untyped-def]
            return 2.0 * super().strength(contacts, borrowers, w_eff)

    class Floored(SelfExcitingIntensity):
        def _floor(self, ability, willingness):  # type: ignore[no-untyped-def]
            return super()._floor(ability, willingness) + 0.001

    sim = Simulation(small(n=200), 0)
    sim.run()
    assert sim.response._steps and sim.behaviour._steps
    for model, cls in ((sim.response, Louder), (sim.behaviour, Floored)):
        model.__class__ = cls
        model.start(sim.pf, sim.streams, *((sim.channels,) if cls is Louder else (180.0,)))
        assert not model._steps


def test_compiled_steps_share_the_status_codes() -> None:
    # The compiled payment step marks an account cured with its own copy of the code.
    assert state_kernels.CURED == state.CURED
    assert ledger_kernels.OPEN == state.OPEN


def test_without_numba_the_python_loop_runs_with_a_notice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(kernels, "AVAILABLE", False)
    monkeypatch.setattr(compiled_team, "_notice_given", False)
    sim = Simulation(small(n=200), 0)
    sim.run()
    assert sim.pool.compiled is None
    err = capsys.readouterr().err
    assert err.count("Numba is not installed") == 1
    assert len(err.strip().splitlines()) == 1


#: Run in a process of its own: warm() on the cache directory given, then the number of
#: kernels whose compiled code came from the cache (hits) or not (misses), per module.
WARM_AND_COUNT = """
import json, sys
from numba.core.registry import CPUDispatcher
from collectsim import compiled_team, contact_kernels, kernels, ledger_kernels, state_kernels
from collectsim.behaviour import intensity_kernels, response_kernels
compiled_team.warm()
out = {}
for m in (kernels, contact_kernels, ledger_kernels, state_kernels, intensity_kernels, response_kernels):
    used = [d for d in vars(m).values() if isinstance(d, CPUDispatcher) and d.signatures]
    out[m.__name__] = [sum(bool(d.stats.cache_hits) for d in used), sum(bool(d.stats.cache_misses) for d in used)]
json.dump(out, sys.stdout)
"""


@pytest.mark.skipif(not kernels.COMPILED, reason="Numba not installed")
def test_a_cold_cache_compiles_the_steps_in_a_helper_once(tmp_path: Path) -> None:
    """On an empty cache, warm() has the steps compiled by a helper process while it
    compiles the agents' kernels, then loads the steps from the cache (hits; the one
    miss is the probe that found the cache cold); a second warm() finds every kernel in
    the cache."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}

    def warm() -> dict[str, list[int]]:
        run = subprocess.run([sys.executable, "-c", WARM_AND_COUNT], env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        counts: dict[str, list[int]] = json.loads(run.stdout)
        return counts

    first = warm()
    assert first["collectsim.kernels"][1] > 0  # the agents' kernels compiled in this process
    for name, (hits, misses) in first.items():
        if name not in ("collectsim.kernels", "collectsim.state_kernels"):
            assert hits > 0 and misses == 0, (name, first)
    assert first["collectsim.state_kernels"][1] == 1, first
    second = warm()
    assert all(misses == 0 and hits > 0 for hits, misses in second.values()), second


@pytest.mark.skipif(not kernels.COMPILED, reason="Numba not installed")
def test_queue_order_and_growth() -> None:
    # The work queue pops by (policy key, arrival order) whatever the push order, and
    # grows past its first capacity.
    import simpy

    from collectsim.compiled_team import CompiledTeam

    rng = np.random.default_rng(1)
    team = CompiledTeam(
        simpy.Environment(),
        1,
        np.zeros(kernels.N_CFG),
        np.ones(1),
        np.zeros((1, 1)),
        np.full(1, -1.0),
        np.ones(24),
        (),
        lambda: (),
        rng.random,
        np.ones,
        np.ones,
    )
    keys = rng.integers(0, 50, 5000).astype(float)
    team.push_many(keys[:3000], np.arange(3000), np.zeros(3000, np.int64), np.zeros(3000))
    team.push_many(keys[3000:], np.arange(3000, 5000), np.zeros(2000, np.int64), np.zeros(2000))
    assert len(team) == 5000
    got = []
    while len(team):
        got.append(int(team.q[2][0]))
        kernels.heap_pop(team.q, team.ist, kernels.I_QLEN)
    assert got == np.lexsort((np.arange(5000), keys)).tolist()
