"""Per-account event records of a run, written as one Parquet file (opt-in).

One row per event, in time order within each kind: every contact attempt (automated,
collector call, third-party call, lawsuit filing; with the borrower's stress right after
it, so each row is also the stress change the contact made), every payment (including
kept promises, plan instalments, settlements and judgments), every promise made, and every
judgment. The file needs only pyarrow to write and any Parquet reader (pandas, polars,
DuckDB) to read; the schema is documented in ``docs/records.md``.

>>> from collectsim import load_scenario
>>> from collectsim.records import run_with_records
>>> result = run_with_records(load_scenario(["portfolio.n_accounts=2000"]), 0, "events.parquet")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from collectsim.actions import JUDGMENT
from collectsim.engine import Simulation
from collectsim.metrics import RunResult
from collectsim.scenario_types import Scenario

#: column -> (Arrow type name, meaning); the order of the file's columns
SCHEMA: dict[str, tuple[str, str]] = {
    "account": ("int64", "account id (index into the portfolio)"),
    "measured": ("bool_", "the account is one the KPIs describe (entered in the measured window)"),
    "time": ("float64", "days since the start of the run"),
    "kind": ("string", "contact, payment, promise or judgment"),
    "channel": ("string", "contact channel name (contacts), else empty"),
    "connected": ("bool_", "contact reached its person; judgment won; true for payments and promises"),
    "stress": ("float64", "borrower stress right after a contact (NaN for other kinds)"),
    "amount_yuan": ("float64", "payment amount (payments), else NaN"),
    "promise_share": ("float64", "share of the balance promised (promises), else NaN"),
    "due_time": ("float64", "day the promise falls due (promises), else NaN"),
    "agent": ("int64", "collector id for collector calls, 1000 + line for AI voice calls, -1 otherwise"),
    "minutes": ("float64", "handle minutes of a collector or AI voice call, 0 otherwise"),
}


def _concat(parts: list[Any], k: int, dtype: Any) -> np.ndarray:
    return np.concatenate([p[k] for p in parts]).astype(dtype) if parts else np.zeros(0, dtype=dtype)


def event_columns(sim: Simulation) -> dict[str, np.ndarray]:
    """The records of a finished simulation run with ``record_events=True``, as columns."""
    if sim.st.payment_log is None or sim.st.promise_log is None:
        raise ValueError("the simulation was not run with record_events=True")
    names = np.array([c.name for c in sim.channels.channels], dtype=object)
    ev = sim.event_log
    c_idx = _concat([[e["idx"]] for e in ev], 0, np.int64)
    c_act = _concat([[e["action"]] for e in ev], 0, np.int64)
    is_judgment = c_act == JUDGMENT
    c_kind = np.where(is_judgment, "judgment", "contact").astype(object)
    c_channel = np.where(is_judgment, "", names[np.where(is_judgment, 0, c_act)]).astype(object)
    pays, proms = sim.st.payment_log, sim.st.promise_log
    p_idx = _concat(pays, 0, np.int64)
    q_idx = _concat(proms, 0, np.int64)
    n_c, n_p, n_q = c_idx.size, p_idx.size, q_idx.size
    nan = np.full(n_c + n_p + n_q, np.nan)

    def stack(c: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        return np.concatenate([c, p, q])

    account = stack(c_idx, p_idx, q_idx)
    cols = {
        "account": account,
        "measured": sim.pf.measured[account],
        "time": stack(_concat([[e["time"]] for e in ev], 0, float), _concat(pays, 1, float), _concat(proms, 1, float)),
        "kind": stack(c_kind, np.full(n_p, "payment", dtype=object), np.full(n_q, "promise", dtype=object)),
        "channel": stack(c_channel, np.full(n_p, "", dtype=object), np.full(n_q, "", dtype=object)),
        "connected": stack(_concat([[e["connected"]] for e in ev], 0, bool), np.ones(n_p, bool), np.ones(n_q, bool)),
        "stress": stack(
            np.where(is_judgment, np.nan, _concat([[e["stress"]] for e in ev], 0, float)), nan[:n_p], nan[:n_q]
        ),
        "amount_yuan": stack(nan[:n_c], _concat(pays, 2, float), nan[:n_q]),
        "promise_share": stack(nan[:n_c], nan[:n_p], _concat(proms, 2, float)),
        "due_time": stack(nan[:n_c], nan[:n_p], _concat(proms, 3, float)),
        "agent": stack(_concat([[e["agent"]] for e in ev], 0, np.int64), np.full(n_p, -1), np.full(n_q, -1)),
        "minutes": stack(_concat([[e["minutes"]] for e in ev], 0, float), np.zeros(n_p), np.zeros(n_q)),
    }
    return {k: cols[k] for k in SCHEMA}


def write_parquet(columns: dict[str, np.ndarray], path: str | Path) -> Path:
    """Write event columns to one Parquet file (pyarrow)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - the dev and records extras install it
        raise ImportError("writing event records needs pyarrow: pip install 'collectsim[records]'") from exc
    fields = [pa.field(k, getattr(pa, t)()) for k, (t, _) in SCHEMA.items()]
    table = pa.table({k: pa.array(columns[k], type=f.type) for k, f in zip(SCHEMA, fields)})
    out = Path(path)
    pq.write_table(table, out)
    return out


def run_with_records(scenario: Scenario, replication: int, path: str | Path) -> RunResult:
    """Run one replication and write its per-account event records to ``path``."""
    sim = Simulation(scenario, replication, record_events=True)
    result = sim.run()
    write_parquet(event_columns(sim), path)
    return result
