"""Numerical guard: a NaN or infinite training loss stops the run at once, with the step and learning rate.

The loss is checked on every training step (a forward hook on the loss module), not only when the Trainer
logs its average; before each checkpoint the trainable weights are checked too, so a checkpoint on disk never
holds NaN/inf weights and the last good one survives the failure (a run deletes its checkpoints only when it
finishes).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
from transformers import TrainerCallback

from polyglot_distill.training.checkpoints import latest_checkpoint


class TrainingDiverged(RuntimeError):
    """The training loss or the weights became NaN/inf. The CLI prints the message and exits with status 3."""


class FiniteGuard(TrainerCallback):
    """Attach with :meth:`watch`; raises :class:`TrainingDiverged` naming the step, the loss and the last lr."""

    def __init__(self, output_dir: Path):
        self.output_dir = Path(output_dir)
        self.step = 0
        self.trainer = None

    def watch(self, trainer, loss_module: torch.nn.Module) -> None:
        self.trainer = trainer
        loss_module.register_forward_hook(self._check_loss)

    def _last_lr(self) -> float | None:
        scheduler = getattr(self.trainer, "lr_scheduler", None)
        if scheduler is not None:
            return float(scheduler.get_last_lr()[0])
        return None

    def _fail(self, what: str) -> None:
        kept = latest_checkpoint(self.output_dir)
        lr = self._last_lr()
        raise TrainingDiverged(
            f"training diverged at step {self.step}: {what} (last learning rate "
            f"{'unknown' if lr is None else f'{lr:.3g}'}). "
            + (f"The last good checkpoint is kept: {kept}. " if kept else "No checkpoint was written before it. ")
            + "Lower optimizer.lr, keep gradient clipping on (optimizer.max_grad_norm > 0) or use hardware=cpu "
              "(fp32), then start a fresh run.")

    def _check_loss(self, module, inputs, output) -> None:
        if not torch.is_grad_enabled():  # only training steps
            return
        value = float(output.detach().float())
        if not math.isfinite(value):
            self._fail(f"loss={value}")

    def on_step_begin(self, args, state, control, **kwargs):
        self.step = state.global_step + 1  # the step being computed

    def on_step_end(self, args, state, control, **kwargs):
        if not control.should_save or self.trainer is None:
            return
        for name, param in self.trainer.model.named_parameters():
            if param.requires_grad and not torch.isfinite(param).all():
                self._fail(f"weight {name} holds NaN/inf after the optimizer step")
