"""The student's step: one forward for both columns, and a batch over the token budget split into weighted
slices, each giving the same step as the plain ``MSELoss`` on the whole batch."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import MSELoss
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments

from polyglot_distill.models.assets.tiny import build_tiny_student
from polyglot_distill.training.distill import set_dropout
from polyglot_distill.training.loss import PairMSELoss
from polyglot_distill.training.microbatch import MicroBatchTrainer, padded_tokens, split


def _batch(lengths_en, lengths_xx, width=10):
    def column(lengths):
        mask = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
        for row, n in enumerate(lengths):
            mask[row, :n] = 1
        return torch.arange(mask.numel()).view(mask.shape) * mask, mask
    en_ids, en_mask = column(lengths_en)
    xx_ids, xx_mask = column(lengths_xx)
    return {"english_input_ids": en_ids, "english_attention_mask": en_mask,
            "non_english_input_ids": xx_ids, "non_english_attention_mask": xx_mask,
            "label": torch.arange(len(lengths_en) * width, dtype=torch.float).view(-1, width)}


def test_a_batch_within_budget_or_without_one_is_left_whole():
    batch = _batch([3, 4, 5], [6, 6, 7])
    assert split(batch, 0) == [(batch, 3)]
    assert split(batch, padded_tokens(batch)) == [(batch, 3)]


def test_slices_keep_every_row_once_within_budget_and_cut_their_padding():
    en = [2, 3, 3, 4, 5, 9, 10, 12]
    xx = [3, 3, 4, 6, 6, 8, 14, 20]
    batch = _batch(en, xx)
    assert padded_tokens(batch) == 8 * 12 + 8 * 20
    slices = split(batch, 100)
    assert len(slices) > 1
    assert sum(n for _, n in slices) == 8
    assert all(padded_tokens(part) <= 100 for part, _ in slices)
    assert torch.equal(torch.cat([part["label"] for part, _ in slices]), batch["label"])
    start = 0
    for part, n in slices:
        assert part["english_input_ids"].shape == (n, max(en[start:start + n]))
        assert part["non_english_attention_mask"].shape == (n, max(xx[start:start + n]))
        width = part["non_english_input_ids"].shape[1]
        assert torch.equal(part["non_english_input_ids"], batch["non_english_input_ids"][start:start + n, :width])
        start += n


def test_a_single_row_over_budget_is_its_own_slice():
    slices = split(_batch([30, 2], [40, 2]), 10)
    assert [n for _, n in slices] == [1, 1]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    sentences = [f"sentence number {k} with some words {'and more ' * (k % 7)}" for k in range(60)]
    path = build_tiny_student(sentences, tmp_path_factory.mktemp("tiny") / "student", vocab_size=300,
                              hidden_size=32, num_layers=1, max_seq_length=64)
    model = SentenceTransformer(str(path), device="cpu")
    set_dropout(model, 0.0)  # per-slice dropout masks would differ from the whole batch's
    rng = np.random.default_rng(0)
    data = Dataset.from_dict({"english": sentences[:16], "non_english": [s.upper() for s in sentences[16:32]],
                              "label": rng.standard_normal((16, 32)).astype(np.float32).tolist()})
    return model, data


def _one_sgd_step(model, data, max_batch_tokens, out, loss_cls=MSELoss):
    model = copy.deepcopy(model)
    args = SentenceTransformerTrainingArguments(output_dir=str(out), per_device_train_batch_size=16, max_steps=1,
                                                report_to="none", use_cpu=True, save_strategy="no",
                                                logging_steps=1, disable_tqdm=True)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    trainer = MicroBatchTrainer(model=model, args=args, train_dataset=data, loss=loss_cls(model),
                                optimizers=(torch.optim.SGD(model.parameters(), lr=1.0), None),
                                max_batch_tokens=max_batch_tokens)
    loss = trainer.train().training_loss
    steps = {k: before[k] - v.detach() for k, v in model.named_parameters()}  # = lr * grad
    return loss, steps, trainer.split_steps


def test_split_step_equals_the_whole_batch_step(tiny, tmp_path):
    model, data = tiny
    loss, grads, splits = _one_sgd_step(model, data, 0, tmp_path / "a")
    loss_mb, grads_mb, splits_mb = _one_sgd_step(model, data, 64, tmp_path / "b")
    assert (splits, splits_mb) == (0, 1)
    assert loss_mb == pytest.approx(loss, rel=1e-5)
    moved = [k for k, g in grads.items() if g.abs().max() > 0]
    assert len(moved) > 10  # the comparison means something: most weights took a step
    for key in grads:
        torch.testing.assert_close(grads_mb[key], grads[key], rtol=1e-4, atol=1e-6, msg=key)


@pytest.mark.parametrize("max_batch_tokens", [0, 64])
def test_one_forward_for_both_columns_gives_the_same_step(tiny, tmp_path, max_batch_tokens):
    model, data = tiny
    loss, grads, _ = _one_sgd_step(model, data, max_batch_tokens, tmp_path / "a")
    loss_pair, grads_pair, _ = _one_sgd_step(model, data, max_batch_tokens, tmp_path / "b", PairMSELoss)
    assert loss_pair == pytest.approx(loss, rel=1e-5)
    assert sum(g.abs().max() > 0 for g in grads.values()) > 10
    for key in grads:
        torch.testing.assert_close(grads_pair[key], grads[key], rtol=1e-4, atol=1e-6, msg=key)


def _count_forwards(model, monkeypatch) -> list:
    """The input shape of every forward ``model`` runs from now on (each returns zero embeddings)."""
    calls = []
    monkeypatch.setattr(model, "forward", lambda features, **kw: calls.append(features["input_ids"].shape)
                        or {"sentence_embedding": torch.zeros(features["input_ids"].shape[0], 32)})
    return calls


def test_the_merged_forward_really_runs_once(tiny, monkeypatch):
    model, data = tiny
    calls = _count_forwards(model, monkeypatch)
    en, xx = model.preprocess(data["english"][:4]), model.preprocess(data["non_english"][:4])
    PairMSELoss(model)([en, xx], torch.zeros(4, 32))
    assert len(calls) == 1 and calls[0][0] == 8


def test_english_only_rows_run_one_column_at_the_same_step(tiny, tmp_path):
    """Prose trains as (sentence, sentence): one forward instead of two, and the step of the two-column loss."""
    model, data = tiny
    prose = data.map(lambda row: {"non_english": row["english"]})
    loss, grads, _ = _one_sgd_step(model, prose, 0, tmp_path / "a")  # sentence-transformers' MSELoss: 2 columns
    loss_pair, grads_pair, _ = _one_sgd_step(model, prose, 0, tmp_path / "b", PairMSELoss)
    assert loss_pair == pytest.approx(loss, rel=1e-5)
    assert sum(g.abs().max() > 0 for g in grads.values()) > 10
    for key in grads:
        torch.testing.assert_close(grads_pair[key], grads[key], rtol=1e-4, atol=1e-6, msg=key)


def test_english_only_rows_forward_once_with_half_the_rows(tiny, monkeypatch):
    model, data = tiny
    calls = _count_forwards(model, monkeypatch)
    en = model.preprocess(data["english"][:4])
    PairMSELoss(model)([en, model.preprocess(data["english"][:4])], torch.zeros(4, 32))
    assert calls == [en["input_ids"].shape]  # 4 rows, not 8
    calls.clear()
    mixed = data["english"][:3] + data["non_english"][3:4]  # one real translation: both columns run
    PairMSELoss(model)([en, model.preprocess(mixed)], torch.zeros(4, 32))
    assert len(calls) == 1 and calls[0][0] == 8
