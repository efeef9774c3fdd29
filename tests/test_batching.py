"""Length-grouped batches: every index once per epoch, similar lengths per batch, a new order per epoch."""
from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset

from polyglot_distill.batching import LengthGroupedBatchSampler


def _dataset(n: int, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 250, size=n)
    return Dataset.from_dict({"english": ["x" * int(k) for k in lengths], "non_english": ["y" * int(k) for k in lengths],
                              "label": [[0.0]] * n})


@pytest.mark.parametrize("drop_last", [False, True])
def test_each_index_once_and_len_matches(drop_last):
    sampler = LengthGroupedBatchSampler(_dataset(1000), batch_size=32, drop_last=drop_last, seed=3)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat))
    assert set(flat) == set(range(1000)) if not drop_last else len(flat) == len(batches) * 32


def test_batches_carry_less_padding_than_random_ones():
    ds = _dataset(3200)
    sampler = LengthGroupedBatchSampler(ds, batch_size=32, drop_last=False, seed=0)
    lengths = sampler.lengths
    padded = lambda batches: sum(len(b) * lengths[b].max() for b in batches)  # noqa: E731
    random_batches = np.array_split(np.random.default_rng(0).permutation(len(lengths)), 100)
    assert padded([np.array(b) for b in sampler]) < 0.75 * padded(random_batches)


def test_order_is_seeded_and_changes_with_the_epoch():
    ds = _dataset(500)
    a, b = (LengthGroupedBatchSampler(ds, batch_size=16, drop_last=False, seed=7) for _ in range(2))
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
