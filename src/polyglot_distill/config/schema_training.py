"""Schema of the optimizer and hardware groups and of ``distill``; defaults: optimizer=adamw, hardware=cpu."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Optional

from omegaconf import MISSING

from polyglot_distill.config.constraints import FRACTION, Fix, Ge, Gt, Le, OneOf


@dataclass
class OptimizerConfig:
    """AdamW. The seed (Reimers & Gurevych 2020; the Pinecone tutorial) uses lr 2e-5, eps 1e-6; on our assets that
    barely moves the student in one epoch (docs/results.md), so lr and eps differ from the seed's."""
    name: str = MISSING
    # 10x the seed's 2e-5: at 2e-5, 150 steps add +0.02 teacher-space retrieval over the least-squares head, 1e-4
    # +0.06; over the default epoch (455 steps) 2e-4 beats 1e-4 by +0.005 teacher retrieval, +0.013 STS.
    lr: Annotated[float, Gt(0), Fix("Use a positive learning rate: the default is 2e-4 (the seed uses 2e-5).")] = 2e-4
    # learning rate of the projection head (null: same as lr)
    head_lr: Optional[Annotated[float, Gt(0), Fix("Use a positive rate, or null for the same as optimizer.lr.")]] = None
    # The seed's 1e-6 is as large as the per-parameter gradients of an MSE on unit-norm 384-d targets (~1e-6),
    # which silently damps Adam's steps; 1e-8 (PyTorch's default) measured better at the same lr.
    eps: Annotated[float, Gt(0), Fix("Use a small positive epsilon such as 1e-8.")] = 1e-8
    weight_decay: Annotated[float, Ge(0), Fix("Use 0 (none) or a decay such as 0.01.")] = 0.01
    # The seed warms up over 10 % of the steps.
    warmup_ratio: Annotated[float, *FRACTION, Fix("Use a share of the steps such as 0.1.")] = 0.1
    # The seed's batch size (pairs; each pair gives two student inputs).
    batch_size: Annotated[int, Gt(0), Fix("Use a positive batch size: the default is 32 (the seed uses 32).")] = 32
    # Batches of similar-length pairs: random batches waste ~60 % of the student's compute on padding here.
    length_grouped: bool = True
    # The seed trains one epoch; 0 would train nothing. 2 here: with distill.interpolate=0.5 the test split gains
    # (teacher_retrieval mean .929 -> .944) and the UDHR holds (.894 / .798 -> .895 / .797) for ~250 s more on this
    # project's 2-core CPU in bf16 (docs/results.md, "Training for the data").
    epochs: Annotated[float, Gt(0), Fix("Use a positive number of epochs such as 1 (or set optimizer.max_steps).")] = 2.0
    # -1: as many steps as the epochs give.
    max_steps: Annotated[int, Ge(-1), Fix("Use -1 (the epochs decide) or a positive step count.")] = -1
    # Gradient clipping's norm; 0 turns clipping off (the Trainer's meaning: tests/e2e/test_run_status.py uses it).
    max_grad_norm: Annotated[float, Ge(0), Fix("Use a norm such as 1.0, or 0 for no clipping.")] = 1.0
    # Evaluate on dev (and keep a checkpoint) every N steps; 0: once per epoch. Each costs ~15 s with e5-small and
    # seed5 and keeps the default run inside 15 minutes; set 50 to see dev curves in MLflow.
    eval_steps: Annotated[int, Ge(0), Fix("Use 0 (once per epoch) or a step count such as 50.")] = 0
    # torch's fused AdamW: one kernel over all tensors. On 2 cores it updates e5-small's 21M trainable weights ~10x
    # faster than the per-tensor loop, ~0.03 s off each default-run step; false gives the loop back.
    fused: bool = True


@dataclass
class DistillConfig:
    # dropout probability while training (null keeps the student's own, 0.1 for e5-small and XLM-R). 0.0, measured
    # on the default run: test teacher_retrieval 0.937 vs 0.930, sts_teacher 0.847 vs 0.841, retrieval 0.966 vs
    # 0.960, and a 1.3x faster training step (docs/performance.md).
    dropout: Optional[Annotated[float, *FRACTION, Fix("Use a probability such as 0.1, or null for the student's own.")]] = 0.0
    # keep the untrained (least-squares) student when no checkpoint beats it on dev
    keep_baseline_if_better: bool = True
    # The kept student's weights averaged with its weights at step 0 (untrained encoder + least-squares head):
    # interpolate x trained + (1 - interpolate) x step 0, as WiSE-FT (Wortsman et al. 2022) does to keep what
    # fine-tuning on one domain costs elsewhere. 1: the trained student as it is. 0.5, measured on the default run
    # (2 epochs): UDHR teacher-space retrieval .856 / .777 -> .895 / .797 (trained / unseen languages), no UDHR
    # language below the least-squares head (3 before); the UI-string test split .957 -> .944 (docs/results.md).
    interpolate: Annotated[float, Gt(0), Le(1), Fix("Use a weight in (0, 1] such as 0.5, or 1 to keep the trained "
                                                   "student.")] = 0.5
    # Each distinct English sentence of the pairs trains its own column once per epoch, and every translation trains
    # alone against its English's teacher vector, instead of the English riding along with each of its
    # translations (the default corpus: 13,573 pairs hold 4,444 distinct English strings, each forwarded ~3 times
    # an epoch). The MSE terms are per sentence, so only the English side's weight changes (training/rows.py).
    # Default run, measured against false: padded tokens per epoch 619k -> 428k, peak RSS 4.50 -> 3.78 GB, test
    # teacher_retrieval .943 -> .952 (every language up), UDHR .896 / .800 -> .900 / .800 (docs/results.md).
    # false: Reimers & Gurevych's (English, translation) rows.
    english_once: bool = True
    # a full checkpoint (model, optimizer, scheduler, RNG) every N steps, besides one at each dev evaluation;
    # 0: only at dev evaluations. A killed run continues from the newest with resume= (docs/reliability.md)
    checkpoint_steps: Annotated[int, Ge(0), Fix("Use 0 (a checkpoint at each dev evaluation only) or N steps; the "
                                                "default is 100.")] = 100


@dataclass
class HardwareConfig:
    name: str = MISSING
    # "cpu" or "cuda" (torch's device string)
    device: str = "cpu"
    # null: torch's default (all cores)
    threads: Optional[Annotated[int, Gt(0), Fix("Use a positive thread count, or null for torch's default.")]] = None
    # auto: bf16 autocast where it is faster (CPUs with AMX or with AVX512-BF16 matmuls measured >= 2x fp32, GPUs
    # with bf16), fp32 on other CPUs, fp16 on older GPUs (training/precision.py has the measurements). bf16 autocast:
    # weights, optimizer state and evaluation stay fp32; the student's forward/backward matmuls run in bf16. fp16
    # needs CUDA.
    precision: Annotated[str, OneOf("auto", "fp32", "bf16", "fp16")] = "auto"
    dataloader_workers: Annotated[int, Ge(0), Fix("Use 0 (load in the main process) or a worker count.")] = 0
    # A batch over 1,024 padded student tokens (both columns) runs as micro-batches with one optimizer step
    # (training/microbatch.py): the same step, but the longest batches' activations no longer set the run's peak
    # memory. Default run: peak RSS 3.86 GB instead of 5.02 GB with the same scores (docs/performance.md). 0: never
    # split.
    max_batch_tokens: Annotated[int, Ge(0), Fix("Use 0 (never split) or a token budget such as 1024.")] = 1024
    # torchrun data parallelism: gloo (CPU), nccl (CUDA GPUs); null: one process (docs/scaling.md)
    distributed_backend: Optional[Annotated[str, OneOf("gloo", "nccl")]] = None
