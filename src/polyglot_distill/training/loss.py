"""The distillation loss: MSE of the student's embeddings of both columns to the teacher's English embedding.

:class:`PairMSELoss` is sentence-transformers' ``MSELoss`` with the English and the translation column merged
into one batch of 2 x batch-size rows (each padded to the longer column): half the layer calls, and matmuls of
twice the rows, which CPU bf16 kernels run at a higher rate. ``MSELoss`` keeps the first column in a forward of
its own (it cannot know the columns have alike lengths; ours do: translations of each other).

English prose trains as (sentence, sentence) (``data.english_prose``): where a batch's two columns are the same
tokens, the column runs once. The loss is the same (the mean of two equal column losses) at half the compute;
the length-grouped sampler keeps such rows in batches of their own (``training/batching.py``).
"""
from __future__ import annotations

import torch
from sentence_transformers.base.losses.merged_forward import embed_columns
from sentence_transformers.sentence_transformer.losses import MSELoss


class PairMSELoss(MSELoss):
    """``MSELoss`` over (English, translation) with one forward for both columns; the label is the teacher's
    embedding of the English sentence, the target of both."""

    def forward(self, sentence_features, labels: torch.Tensor) -> torch.Tensor:
        if labels is None or labels.dim() != 2:
            return super().forward(sentence_features, labels)
        if same_columns(sentence_features):
            sentence_features = sentence_features[:1]
        embeddings = embed_columns(self.model, sentence_features, separate_first=False)
        return self.compute_loss_from_embeddings(embeddings, [labels.detach()] * len(embeddings))


def same_columns(sentence_features) -> bool:
    """Whether every column of the batch holds the same tokens as the first (English-only rows)."""
    first = sentence_features[0]
    return len(sentence_features) > 1 and all(
        feats.keys() == first.keys() and all(_equal(feats[k], first[k]) for k in first)
        for feats in sentence_features[1:])


def _equal(a, b) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return torch.equal(a, b)
    return a == b
