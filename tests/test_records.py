"""Per-account event records: one Parquet file, readable without collectsim, whose rows add
up to what the run counted."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import small

from collectsim.engine import Simulation
from collectsim.records import SCHEMA, event_columns, run_with_records, write_parquet

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Simulation, Path]:
    sim = Simulation(small("policy=soft_first", n=1200), 0, record_events=True)
    sim.run()
    path = write_parquet(event_columns(sim), tmp_path_factory.mktemp("records") / "events.parquet")
    return sim, path


def test_payments_add_up_to_what_was_collected(recorded: tuple[Simulation, Path]) -> None:
    sim, path = recorded
    df = pd.read_parquet(path)
    assert list(df.columns) == list(SCHEMA)
    paid = df[df.kind == "payment"].groupby("account").amount_yuan.sum().reindex(range(sim.pf.n), fill_value=0.0)
    np.testing.assert_allclose(paid.to_numpy(), sim.st.collected, rtol=0, atol=1e-6)
    assert (df[df.kind == "payment"].amount_yuan > 0).all()  # no empty rows (a forgiven settlement's close)
    promises = df[df.kind == "promise"]
    assert len(promises) == sim.st.promises.sum() > 0
    assert np.all(promises.due_time > promises.time - 1)
    # Every collector attempt the pool logged is a contact row with its agent and minutes.
    calls = df[(df.kind == "contact") & (df.agent >= 0)]
    assert len(calls) == sim.pool.calls
    assert calls.minutes.sum() == pytest.approx(sim.pool.busy_minutes)


def test_records_are_read_by_polars_too(recorded: tuple[Simulation, Path]) -> None:
    polars = pytest.importorskip("polars")
    sim, path = recorded
    df = polars.read_parquet(path)
    assert df.columns == list(SCHEMA)
    assert df.filter(polars.col("kind") == "payment")["amount_yuan"].sum() == pytest.approx(sim.st.collected.sum())


def test_records_are_opt_in(tmp_path: Path) -> None:
    sim = Simulation(small(n=200), 0)
    sim.run()
    assert sim.st.payment_log is None and sim.event_log == []
    with pytest.raises(ValueError, match="record_events=True"):
        event_columns(sim)
    res = run_with_records(small(n=200), 0, tmp_path / "e.parquet")
    assert (tmp_path / "e.parquet").is_file() and res.kpis["accounts"] == 200


def test_every_column_is_documented() -> None:
    text = (ROOT / "docs" / "records.md").read_text()
    documented = re.findall(r"^\| `(\w+)` \|", text, flags=re.M)
    assert documented == list(SCHEMA)
