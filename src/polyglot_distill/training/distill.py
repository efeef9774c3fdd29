"""Distillation: teacher labels, the projection head, and the sentence-transformers Trainer wiring.

The student is trained with ``MSELoss`` on two text columns (English, translation) whose label is the
teacher's embedding of the English sentence: both student embeddings are pulled to the same target (both
columns in one forward pass: ``loss.PairMSELoss``). Which rows an epoch holds: ``training/rows.py``.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import math
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.evaluation import SentenceEvaluator
from sentence_transformers.sentence_transformer.modules import Dense
from sentence_transformers.sentence_transformer.training_args import SentenceTransformerTrainingArguments
from transformers import TrainerCallback

from polyglot_distill.evaluation import scoring
from polyglot_distill.training import checkpoints, distributed, teacher_cache
from polyglot_distill.training.batching import LengthGroupedBatchSampler, grouping_lengths
from polyglot_distill.training.guard import FiniteGuard
from polyglot_distill.training.loss import PairMSELoss
from polyglot_distill.training.microbatch import MicroBatchTrainer
from polyglot_distill.training.rows import Row, training_rows

log = logging.getLogger(__name__)


def encode(model: SentenceTransformer, sentences: list[str], batch_size: int, desc: str | None = None) -> np.ndarray:
    """Embed sentences in eval mode as float32 numpy (a progress bar when ``desc`` is given)."""
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        out = model.encode(sentences, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=bool(desc))
    model.train(was_training)
    return np.asarray(out, dtype=np.float32)


class TeacherLabels:
    """Teacher embeddings of every distinct English sentence of the run, computed once.

    With ``cache_dir`` they come from the persistent teacher-embedding cache (:mod:`teacher_cache`), which
    encodes only the sentences no earlier run with this teacher encoded; ``cache_stats`` says how it went."""

    def __init__(self, teacher: SentenceTransformer, sentences: list[str], batch_size: int,
                 cache_dir: str | Path | None = None):
        unique = sorted(set(sentences))
        self.cache_stats: teacher_cache.Stats | None = None
        if not unique:
            vectors = np.zeros((0, 1), np.float32)
        elif cache_dir is not None:
            vectors, self.cache_stats = teacher_cache.encode_cached(
                cache_dir, teacher, unique, lambda s: encode(teacher, s, batch_size, desc="teacher"),
                teacher.get_embedding_dimension())
        else:
            vectors = encode(teacher, unique, batch_size, desc="teacher")
        self.index = {s: k for k, s in enumerate(unique)}
        self.vectors = vectors

    def __call__(self, sentences: list[str]) -> np.ndarray:
        return self.vectors[[self.index[s] for s in sentences]]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]


def fit_lstsq(student_en: np.ndarray, teacher_en: np.ndarray, ridge: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Closed-form ridge least-squares map ``teacher ≈ student @ W.T + b``; returns (W, b) in Dense's layout."""
    x_mean, y_mean = student_en.mean(0), teacher_en.mean(0)
    x, y = student_en - x_mean, teacher_en - y_mean
    gram = x.T @ x
    gram += ridge * np.trace(gram) / gram.shape[0] * np.eye(gram.shape[0])
    w = np.linalg.solve(gram, x.T @ y)  # (student_dim, teacher_dim)
    b = y_mean - x_mean @ w
    return w.T.astype(np.float32), b.astype(np.float32)


def set_dropout(model: torch.nn.Module, p: float) -> int:
    """Set every dropout probability in the model to ``p``; returns how many modules changed."""
    n = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = p
            n += 1
    for module in model.modules():  # attention dropout in HF models is a config float, not a module
        config = getattr(module, "config", None)
        if config is not None and hasattr(config, "attention_probs_dropout_prob"):
            config.attention_probs_dropout_prob = p
            config.hidden_dropout_prob = p
    for module in model.modules():
        if hasattr(module, "dropout") and isinstance(getattr(module, "dropout"), float):
            module.dropout = p
    return n


def attention_kernels(device: str):
    """On CPU, attention as plain matmul + softmax: torch's CPU flash-attention backward (what SDPA picks
    without dropout) costs ~30 ms a layer here, 15x the matmul path. Elsewhere: SDPA's own choice."""
    if device != "cpu":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel
    return sdpa_kernel([SDPBackend.MATH])


def projection_head(model: SentenceTransformer) -> Dense | None:
    return model[-1] if isinstance(model[-1], Dense) else None


def build_optimizer(model: SentenceTransformer, opt_cfg) -> torch.optim.Optimizer:
    """AdamW with the encoder at ``lr`` and the projection head at ``head_lr`` (no decay on biases/norms)."""
    head = projection_head(model)
    head_ids = {id(p) for p in head.parameters()} if head is not None else set()
    groups: dict[tuple[float, float], list] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lr = opt_cfg.head_lr if (id(param) in head_ids and opt_cfg.head_lr) else opt_cfg.lr
        decay = 0.0 if (param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name) else opt_cfg.weight_decay
        groups.setdefault((lr, decay), []).append(param)
    param_groups = [{"params": ps, "lr": lr, "weight_decay": wd} for (lr, wd), ps in groups.items()]
    return torch.optim.AdamW(param_groups, lr=opt_cfg.lr, eps=opt_cfg.eps, fused=opt_cfg.fused)


class DevEvaluator(SentenceEvaluator):
    """Scores the student on the dev split during training; its ``selection`` picks the best checkpoint."""

    def __init__(self, sets: list[scoring.LanguageSet], batch_size: int, history: list | None = None):
        super().__init__()
        self.sets, self.batch_size = sets, batch_size
        self.primary_metric = "selection"
        self.history = history if history is not None else []
        self.seconds = 0.0  # spent scoring, summed over the run's dev evaluations

    def __call__(self, model, output_path=None, epoch: int = -1, steps: int = -1) -> dict[str, float]:
        started = time.perf_counter()
        metrics = scoring.evaluate(lambda s: encode(model, s, self.batch_size), self.sets)
        self.history.append({"step": steps, **metrics})
        self.seconds += time.perf_counter() - started
        return metrics


class MetricsCallback(TrainerCallback):
    """Forwards the Trainer's logs (loss, lr, dev metrics) to a ``log_metrics(dict, step)`` function."""

    def __init__(self, log_metrics):
        self.log_metrics = log_metrics

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs:
            return
        out = {}
        for key, value in logs.items():
            if not isinstance(value, (int, float)) or key in ("epoch",):
                continue
            if key.startswith("eval_"):
                out["dev/" + key.removeprefix("eval_")] = float(value)
            else:
                out["train/" + key.removeprefix("train_")] = float(value)
        if out:
            self.log_metrics(out, state.global_step)


def train_dataset(rows: list[Row], labels: TeacherLabels) -> Dataset:
    """The Trainer's dataset: the two text columns of each row (``training/rows.py``; named as
    sentence-transformers' parallel-sentence sets name them, though with ``distill.english_once`` a row's columns
    may both hold its translation) and the teacher's vector of the row's English."""
    return Dataset.from_dict({"english": [a for _, a, _ in rows], "non_english": [b for _, _, b in rows],
                              "label": labels([en for en, _, _ in rows]).tolist()})


def distill(student: SentenceTransformer, train_pairs: list[tuple[str, str]], labels: TeacherLabels,
            dev_sets: list[scoring.LanguageSet], cfg, output_dir: Path, log_metrics,
            resume_from: Path | None = None) -> dict:
    """Train the student in place; loads the best dev checkpoint at the end. Returns training facts.

    ``resume_from``: a full checkpoint (see :mod:`polyglot_distill.training.checkpoints`) to continue from.
    """
    opt = cfg.optimizer
    if cfg.distill.dropout is not None:
        set_dropout(student, cfg.distill.dropout)
    rows = training_rows(train_pairs, cfg.distill.english_once)
    steps_per_epoch = math.ceil(len(rows) / opt.batch_size)
    total_steps = opt.max_steps if opt.max_steps > 0 else max(1, math.ceil(steps_per_epoch * opt.epochs))
    eval_steps = opt.eval_steps if opt.eval_steps > 0 else max(1, min(steps_per_epoch, total_steps))
    history: list = checkpoints.load_history(resume_from)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        num_train_epochs=opt.epochs,
        max_steps=total_steps,
        # torchrun: each of the N processes takes 1/N of every batch, so a step sees optimizer.batch_size pairs
        per_device_train_batch_size=opt.batch_size // distributed.world_size(),
        warmup_steps=int(round(opt.warmup_ratio * total_steps)),
        max_grad_norm=opt.max_grad_norm,
        seed=cfg.seed,
        data_seed=cfg.seed,
        eval_strategy="steps",
        eval_steps=eval_steps,
        save_strategy="steps",
        save_steps=eval_steps,
        save_total_limit=2,  # the best and the newest
        save_only_model=False,  # optimizer, scheduler and RNG states too: a killed run can resume
        load_best_model_at_end=True,
        metric_for_best_model="eval_selection",
        greater_is_better=True,
        logging_steps=max(1, min(10, total_steps // 10)),
        report_to="none",
        disable_tqdm=False,
        dataloader_num_workers=cfg.hardware.dataloader_workers,
        use_cpu=cfg.hardware.device == "cpu",
        ddp_backend=cfg.hardware.get("distributed_backend") if distributed.world_size() > 1 else None,
        bf16=cfg.hardware.precision == "bf16",
        fp16=cfg.hardware.precision == "fp16",
        **({"batch_sampler": _length_grouped(student, rows)} if opt.length_grouped else {}),
    )
    if opt.length_grouped:  # under torchrun sentence-transformers turns drop_last on; the length-grouped sampler
        args.dataloader_drop_last = False  # gives every rank as many batches, so keep the short ones as 1 process does
    loss = PairMSELoss(student)  # English and translation in one forward pass (loss.py)
    guard = FiniteGuard(output_dir)
    dev_evaluator = DevEvaluator(dev_sets, cfg.eval.batch_size, history)
    trainer = MicroBatchTrainer(
        model=student,
        args=args,
        train_dataset=train_dataset(rows, labels),
        loss=loss,
        evaluator=dev_evaluator,
        optimizers=(build_optimizer(student, opt), None),
        callbacks=[MetricsCallback(log_metrics), checkpoints.CheckpointCallback(cfg.distill.checkpoint_steps, history),
                   guard],
        max_batch_tokens=cfg.hardware.max_batch_tokens,
    )
    guard.watch(trainer, loss)
    with attention_kernels(cfg.hardware.device):
        result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    student.eval()
    facts = {"steps": total_steps, "train_seconds": result.metrics.get("train_runtime"),
             "best_step": _best_step(trainer), "dev_history": history, "split_steps": trainer.split_steps,
             "dev_eval_seconds": dev_evaluator.seconds}
    # the best checkpoint is loaded into ``student``; the folders (~0.5 GB each for e5-small) are spent
    distributed.barrier()  # every rank has loaded the best checkpoint
    if distributed.is_main():
        shutil.rmtree(output_dir / "checkpoints", ignore_errors=True)
    return facts


def _length_grouped(student: SentenceTransformer, rows: list[Row]):
    """The Trainer's batch sampler: batches grouped by the student's padded length of each row (batching.py),
    one-text rows after all others, so that their batches run one column (loss.py)."""
    columns = [(a, b) for _, a, b in rows]
    return functools.partial(LengthGroupedBatchSampler,
                             lengths=grouping_lengths(student.tokenizer, columns, student.max_seq_length))


def _best_step(trainer) -> int | None:
    best = trainer.state.best_model_checkpoint
    return int(best.rsplit("-", 1)[-1]) if best else None
