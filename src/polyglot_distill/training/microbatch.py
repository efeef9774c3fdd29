"""A long training batch in slices (micro-batches) within one optimizer step.

Micro-batches: a training batch with more tokens than ``hardware.max_batch_tokens`` is run in slices.

A step's activation memory grows with the batch's padded tokens: on the default run, the longest batch (32
pairs with 84-token translations) keeps ~2.2 GB for the backward pass against ~0.3 GB for a typical one, and
sets the run's peak RSS. :class:`MicroBatchTrainer` cuts such a batch into consecutive slices of at most the
budget (rows stay whole), runs forward and backward on each with its loss weighted by its share of the rows,
and steps the optimizer once. The loss is a mean over rows, so the summed gradient is the whole batch's: the
same step, up to float rounding and the dropout masks drawn per slice. Under DDP only the last slice
synchronises gradients. Each slice is cut to its own longest sequence, so slices of a length-grouped batch
carry a little less padding too.
"""
from __future__ import annotations

import contextlib
import math

import torch
from sentence_transformers import SentenceTransformerTrainer

MASK_SUFFIX = "_attention_mask"


def batch_rows(inputs: dict) -> int:
    return next(v.shape[0] for k, v in inputs.items() if k.endswith(MASK_SUFFIX))


def padded_tokens(inputs: dict) -> int:
    """Tokens the student runs on: rows x padded length, summed over the text columns."""
    return sum(v.numel() for k, v in inputs.items() if k.endswith(MASK_SUFFIX))


def _trim(inputs: dict) -> dict:
    """Drop the padding columns no row of a slice uses (right padding; left-padded columns are kept)."""
    out = dict(inputs)
    for key, mask in inputs.items():
        if not key.endswith(MASK_SUFFIX) or mask.ndim != 2:
            continue
        used = mask.any(0).nonzero()
        length = int(used[-1]) + 1 if len(used) else 1
        if length == mask.shape[1]:
            continue
        prefix = key.removesuffix("attention_mask")
        for name, value in inputs.items():
            if name.startswith(prefix) and torch.is_tensor(value) and value.ndim == 2 \
                    and value.shape[1] == mask.shape[1]:
                out[name] = value[:, :length]
    return out


def split(inputs: dict, max_tokens: int) -> list[tuple[dict, int]]:
    """``[(slice, rows)]``: consecutive row slices of about equal size, each within ``max_tokens`` padded
    tokens where a single row allows it. ``max_tokens <= 0`` or a batch within budget: the batch itself."""
    rows = batch_rows(inputs)
    if max_tokens <= 0 or rows < 2 or padded_tokens(inputs) <= max_tokens:
        return [(inputs, rows)]
    parts = min(rows, math.ceil(padded_tokens(inputs) / max_tokens))
    while True:
        bounds = [round(k * rows / parts) for k in range(parts + 1)]
        slices = [_trim({k: (v[a:b] if torch.is_tensor(v) and v.ndim and v.shape[0] == rows else v)
                         for k, v in inputs.items()}) for a, b in zip(bounds, bounds[1:])]
        if parts == rows or all(padded_tokens(s) <= max_tokens for s in slices):
            return [(s, b - a) for s, a, b in zip(slices, bounds, bounds[1:])]
        parts += 1


class MicroBatchTrainer(SentenceTransformerTrainer):
    """sentence-transformers' Trainer that runs a batch over ``max_batch_tokens`` as weighted micro-batches."""

    def __init__(self, *args, max_batch_tokens: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_batch_tokens = max_batch_tokens
        self.split_steps = 0  # steps that ran in more than one slice
        self._weight: float | None = None

    def training_step(self, model, inputs, num_items_in_batch=None):
        slices = split(inputs, self.max_batch_tokens)
        if len(slices) == 1:
            return super().training_step(model, inputs, num_items_in_batch)
        self.split_steps += 1
        rows, total = batch_rows(inputs), None
        try:
            for k, (part, n) in enumerate(slices):
                self._weight = n / rows
                last = k == len(slices) - 1
                with contextlib.nullcontext() if last else self.accelerator.no_sync(model):
                    loss = super().training_step(model, part, num_items_in_batch)
                total = loss if total is None else total + loss
        finally:
            self._weight = None
        return total

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        out = super().compute_loss(model, inputs, return_outputs=return_outputs,
                                   num_items_in_batch=num_items_in_batch)
        if self._weight is None:
            return out
        if return_outputs:
            return out[0] * self._weight, out[1]
        return out * self._weight
