"""The lawsuit pipeline: court fees, a legal team of limited size, months of delay and
a judgment whose recovery depends on the borrower's ability."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from collectsim.distributions import sample
from collectsim.scenario_types import LawsuitConfig


def court_fee(claim_yuan: np.ndarray | float, cfg: LawsuitConfig) -> np.ndarray:
    """Court acceptance fee for a money claim, by brackets.

    The default schedule follows China's Measures on the Payment of Litigation Costs
    (2007), art. 13: 50 yuan up to 10,000 yuan, then 2.5% of the part from 10,000 to
    100,000, 2% from 100,000 to 200,000, 1.5% from 200,000 to 500,000 ...; halved in
    simplified procedure.
    """
    claim = np.asarray(claim_yuan, dtype=float)
    fee = np.full(claim.shape, cfg.min_fee_yuan)
    bounds = [b.from_yuan for b in cfg.fee_brackets] + [np.inf]
    for b, upper in zip(cfg.fee_brackets, bounds[1:]):
        part = np.clip(claim, b.from_yuan, upper) - b.from_yuan
        fee += b.rate * part
    if cfg.simplified_procedure:
        fee *= 0.5
    return fee


class LegalPipeline:
    """Lawsuits as SimPy processes: wait for a lawyer, prepare, file, wait for judgment.

    ``on_filed(i, t)`` and ``on_judgment(i, t)`` are engine callbacks that apply the
    events to the account at their exact times.
    """

    def __init__(
        self,
        env: simpy.Environment,
        cfg: LawsuitConfig,
        rng: np.random.Generator,
        on_filed: Callable[[int, float], None],
        on_judgment: Callable[[int, float], None],
    ) -> None:
        self.env = env
        self.cfg = cfg
        self.rng = rng
        self.team = simpy.Resource(env, capacity=cfg.team_size)
        self.on_filed = on_filed
        self.on_judgment = on_judgment
        self.pending = 0

    def file(self, idx: np.ndarray) -> None:
        delays = sample(self.cfg.delay_days, self.rng, idx.size)
        for i, delay in zip(idx.tolist(), delays.tolist()):
            self.pending += 1
            self.env.process(self._case(i, max(delay, 0.0)))

    def _case(self, i: int, delay: float) -> Generator[simpy.Event, Any, None]:
        with self.team.request() as req:
            yield req
            yield self.env.timeout(self.cfg.prep_days)
        self.on_filed(i, self.env.now)
        yield self.env.timeout(delay)
        self.on_judgment(i, self.env.now)
        self.pending -= 1
