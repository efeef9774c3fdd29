"""The length-grouped sampler under data parallelism, without processes: dealt to ranks by accelerate's own
BatchSamplerShard, each step gets the same sentences as one process with the whole batch, and every rank the same
number of steps. The real torchrun jobs are tests/e2e/test_ddp.py."""
from __future__ import annotations

import numpy as np
import pytest
from accelerate.data_loader import BatchSamplerShard
from datasets import Dataset

from polyglot_distill.training.batching import LengthGroupedBatchSampler


def _dataset(n: int) -> Dataset:
    lengths = np.random.default_rng(0).integers(5, 250, size=n)
    return Dataset.from_dict({"english": ["x" * int(k) for k in lengths],
                              "non_english": ["y" * int(k) for k in lengths], "label": [[0.0]] * n})


@pytest.mark.parametrize("world", [2, 3])
@pytest.mark.parametrize("n", [1000, 1607])  # 1607: a short batch in each chunk, one shorter than 3
def test_ranks_split_each_single_process_batch(world, n):
    ds, per_rank = _dataset(n), 8
    single = list(LengthGroupedBatchSampler(ds, batch_size=per_rank * world, drop_last=False, seed=5))
    ranks = []
    for r in range(world):
        sampler = LengthGroupedBatchSampler(ds, batch_size=per_rank, drop_last=False, seed=5, world_size=world)
        shard = BatchSamplerShard(sampler, num_processes=world, process_index=r, split_batches=False,
                                  even_batches=False)  # what accelerate does with the Trainer's train dataloader
        ranks.append(list(shard))
        assert len(ranks[-1]) == len(shard) == len(sampler) // world
    assert len({len(b) for b in ranks}) == 1, "every rank must run the same number of steps"
    steps = [sorted(i for r in range(world) for i in ranks[r][k]) for k in range(len(ranks[0]))]
    kept = [sorted(b) for b in single if len(b) >= world]
    assert steps == kept
    assert len(single) - len(kept) <= -(-n // (per_rank * world * LengthGroupedBatchSampler.chunk_batches))


def test_one_process_batches_are_unchanged():
    ds = _dataset(700)
    a = list(LengthGroupedBatchSampler(ds, batch_size=16, drop_last=False, seed=1))
    b = list(LengthGroupedBatchSampler(ds, batch_size=16, drop_last=False, seed=1, world_size=1))
    assert a == b and sorted(i for x in a for i in x) == list(range(700))
