"""The work queue of the collector pool's Python agent loop, and its pre-drawn numbers.

Used where the agents' day runs in Python (:mod:`collectsim.collectors`, without Numba
or with ``COLLECTSIM_KERNELS=0``); the compiled kernels keep the same queue as arrays.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterator

import numpy as np
import simpy


class WorkQueue:
    """A heap of pending calls ``(key, seq, account, action, discount)`` ordered by
    policy key, then arrival order.

    Idle agents wait in a FIFO line; pushing ``k`` calls wakes at most ``k`` of them
    (through ``on_wake``, the team's scheduler).
    """

    def __init__(self, env: simpy.Environment | None = None) -> None:
        self.heap: list[tuple[float, int, int, int, float]] = []
        self.seq = 0
        self.env = env
        self.idle: deque[int] = deque()
        self.on_wake: Callable[[int, float], None] | None = None

    def wake(self, k: int, t: float) -> None:
        """Wake up to ``k`` idle agents at time ``t``."""
        idle, on_wake = self.idle, self.on_wake
        while k > 0 and idle:
            agent = idle.popleft()
            if on_wake is not None:
                on_wake(agent, t)
            k -= 1

    def wake_all(self, t: float) -> None:
        self.wake(len(self.idle), t)

    def push_many(self, keys: np.ndarray, idx: np.ndarray, action: np.ndarray, discount: np.ndarray) -> None:
        seq0 = self.seq
        items = list(zip(keys.tolist(), range(seq0, seq0 + idx.size), idx.tolist(), action.tolist(), discount.tolist()))
        self.seq += idx.size
        if len(items) > len(self.heap):
            self.heap.extend(items)
            heapq.heapify(self.heap)
        else:
            for it in items:
                heapq.heappush(self.heap, it)
        if self.idle:
            assert self.env is not None
            self.wake(len(items), self.env.now)

    def push(self, item: tuple[float, int, int, int, float]) -> None:
        heapq.heappush(self.heap, item)

    def clear(self) -> list[int]:
        accounts = [it[2] for it in self.heap]
        self.heap.clear()
        return accounts

    def __len__(self) -> int:
        return len(self.heap)


def predrawn(draw: Callable[[int], np.ndarray], chunk: int = 8192) -> Iterator[float]:
    """An endless stream of pre-drawn values, ``chunk`` at a time (cheaper than one
    draw per call; ``next()`` on it is a plain generator step)."""
    while True:
        yield from draw(chunk).tolist()
