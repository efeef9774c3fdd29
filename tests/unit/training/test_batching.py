"""Length-grouped batches: every index once per epoch, similar lengths per batch, a new order per epoch."""
from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset

from polyglot_distill.training.batching import LengthGroupedBatchSampler, grouping_lengths


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


def test_given_lengths_are_what_is_grouped_and_must_match_the_rows():
    ds = _dataset(640)  # character lengths that say nothing of the lengths given
    lengths = np.random.default_rng(1).integers(3, 90, size=640)
    sampler = LengthGroupedBatchSampler(ds, batch_size=32, drop_last=False, seed=0, lengths=lengths)
    spread = [lengths[b].max() - lengths[b].min() for b in map(np.array, sampler)]
    assert max(spread) <= 10  # 640 rows in one chunk, sorted: neighbours in a batch of 32 differ by a few
    with pytest.raises(ValueError, match="639 lengths for a dataset of 640 rows"):
        LengthGroupedBatchSampler(ds, batch_size=32, drop_last=False, lengths=lengths[:-1])


@pytest.mark.slow
def test_token_lengths_cut_the_default_runs_merged_padding(request):
    """On the default run's real pairs and student tokenizer: a pair's length is its longer side in tokens, and
    grouping by it leaves less padding in merged (both columns, one forward) batches than grouping by characters."""
    from hydra import compose, initialize_config_dir

    from polyglot_distill.config.schema import register_configs
    from polyglot_distill.data.corpus import build_corpus
    from polyglot_distill.models import loading
    from polyglot_distill.training.batching import pair_token_lengths

    register_configs()
    with initialize_config_dir(config_dir=str(request.config.rootpath / "conf"), version_base="1.3"):
        cfg = compose("config")
    pairs = [p for ps in build_corpus(cfg.data, cfg.languages, cfg.cache_dir).splits["train"].values() for p in ps]
    cfg.student.trim_vocab = False  # the same pieces as the trimmed student's (tests/unit/models/test_vocabulary.py)
    student = loading.load_student(cfg.student, cfg.cache_dir, "cpu")
    tok, max_len = student.tokenizer, student.max_seq_length
    lengths = pair_token_lengths(tok, pairs, max_len)
    for k in (0, 1, len(pairs) // 2, len(pairs) - 1):
        en, xx = (len(tok(s, truncation=True, max_length=max_len)["input_ids"]) for s in pairs[k])
        assert lengths[k] == max(en, xx)
    ds = Dataset.from_dict({"english": [en for en, _ in pairs], "non_english": [xx for _, xx in pairs]})
    merged = lambda sampler: sum(len(b) * lengths[b].max() for b in map(np.array, sampler))  # noqa: E731
    by_chars = merged(LengthGroupedBatchSampler(ds, batch_size=32, drop_last=False, seed=42))
    by_tokens = merged(LengthGroupedBatchSampler(ds, batch_size=32, drop_last=False, seed=42, lengths=lengths))
    assert by_tokens < 0.8 * by_chars  # measured (data=gettext): 220k vs 301k padded tokens a column (441k vs 602k for both)


class _CharTokenizer:
    def __call__(self, texts, truncation=True, max_length=64):
        return {"input_ids": [list(range(min(len(t), max_length))) for t in texts]}


def test_english_only_pairs_get_batches_of_their_own():
    """Prose rows (sentence, sentence) sort after the translated pairs of their chunk: only the batch where the
    two kinds meet mixes them, at most one per chunk (the loss runs a one-kind prose batch as one column)."""
    rng = np.random.default_rng(0)
    pairs = [("e" * int(n), "x" * int(n)) for n in rng.integers(5, 60, size=2000)]
    pairs += [("p" * int(n),) * 2 for n in rng.integers(5, 60, size=700)]
    lengths = grouping_lengths(_CharTokenizer(), pairs, 64)
    assert lengths.max() <= 2 * 64 + 1 and lengths[:2000].max() <= 64
    ds = Dataset.from_dict({"english": [en for en, _ in pairs], "non_english": [xx for _, xx in pairs]})
    sampler = LengthGroupedBatchSampler(ds, batch_size=32, drop_last=False, seed=0, lengths=lengths)
    kinds = [{pairs[i][0] == pairs[i][1] for i in b} for b in sampler]
    chunks = -(-len(pairs) // (32 * LengthGroupedBatchSampler.chunk_batches))
    assert sum(len(k) == 2 for k in kinds) <= chunks
    assert sum(k == {True} for k in kinds) >= 700 // 32 - chunks
