"""Which rows make up each training step: full batch, mini-batches or single samples, optionally shuffled.

The order of epoch e depends only on (seed, e), never on what ran before, so any
step of any epoch can be rebuilt directly when the debugger travels in time.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from tui_backprop.scenario.model import Scenario

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]
Batch = tuple[IndexArray, FloatArray, FloatArray]
"""Row indices, inputs and targets of one training step."""


class BatchSchedule:
    """Rows, inputs and targets of every step.

    Args:
        scenario: Supplies the data, ``batch_size``, ``shuffle`` and ``seed``.

    Attributes:
        fixed: Without shuffling, the batches of every epoch, in order; None with shuffling.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.inputs = scenario.data.inputs
        self.targets = scenario.data.targets
        self.samples = len(self.inputs)
        size = scenario.training.batch_size or self.samples
        self.batch_size = min(size, self.samples)
        self.batches_per_epoch = math.ceil(self.samples / self.batch_size)
        self.shuffle = scenario.training.shuffle
        self.seed = scenario.seed
        # Without shuffling every epoch has the same batches: slice them once.
        self.fixed: list[Batch] | None = None if self.shuffle else self._slices(np.arange(self.samples))

    def _slices(self, order: IndexArray) -> list[Batch]:
        batches = []
        for start in range(0, self.samples, self.batch_size):
            rows = order[start : start + self.batch_size]
            if len(rows) == self.samples and not self.shuffle:
                batches.append((rows, self.inputs, self.targets))
            else:
                batches.append((rows, self.inputs[rows], self.targets[rows]))
        return batches

    @lru_cache(maxsize=4)  # noqa: B019 - one schedule per session; a step asks for its epoch many times
    def _epoch(self, epoch: int) -> list[Batch]:
        order = np.random.default_rng([self.seed, 1, epoch]).permutation(self.samples)
        return self._slices(order)

    def batch(self, step: int) -> Batch:
        """(row indices, inputs, targets) of global step ``step`` (counting from 0)."""
        epoch, index = divmod(step, self.batches_per_epoch)
        return (self.fixed or self._epoch(epoch))[index]
