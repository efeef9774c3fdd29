"""What perf.py measures with: peak RSS, a bf16 matmul peak sampled through the run, optimizer-step time, FLOPs.

The CPU's bf16 matmul peak is not steady on a shared 2-core VM: the same 2048^3 product measured 530 to 1,830
GFLOP/s within and across processes here. :class:`MatmulPeak` therefore samples it at the start and between
phases and keeps the best, and MFU is computed against that best at the end, never against a low sample.
"""
from __future__ import annotations

import ctypes
import gc
import os
import platform
import subprocess
import threading
import time

import psutil
import torch
from transformers import TrainerCallback

from polyglot_distill.training import precision


def release_memory() -> None:
    """Collect garbage and hand freed heap pages back to the OS, so one phase's peak RSS is not the last's."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


class PeakRSS:
    """Peak resident set size (bytes) of this process while the ``with`` block runs, sampled every 20 ms."""

    def __enter__(self):
        release_memory()
        self.proc, self.peak, self._stop = psutil.Process(), 0, threading.Event()
        self.start = self.proc.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            self._stop.wait(0.02)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def matmul_peak(dtype: torch.dtype, n: int = 2048, seconds: float = 3.0, shape: tuple | None = None) -> float:
    """Best FLOP/s of an ``n x n`` by ``n x n`` matmul (or ``(m, k, n)``: ``m x k`` by ``k x n``) in ``dtype`` over
    ~``seconds`` (torch's threads)."""
    m, k, n = shape or (n, n, n)
    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    torch.matmul(a, b)
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        torch.matmul(a, b)
        best = max(best, 2 * m * k * n / (time.perf_counter() - t0))
    return best


class MatmulPeak:
    """The best bf16 (and fp32) matmul FLOP/s seen in samples taken through the run (``sample()`` between phases).

    ``bf16_step_shape``: a bf16 matmul of the shape the student's step is made of (a merged batch of ~1,000 token
    rows through a 384 x 1536 feed-forward weight): what the kernels reach at that size, not a peak; MFU is
    against the 2048^3 peak."""

    STEP_SHAPE = (1024, 384, 1536)

    def __init__(self, seconds: float, n: int = 2048):
        # n: the square matmul's size; --quick uses a small one (a CPU without native bf16, e.g. an AMD EPYC
        # without AVX-512, runs one bf16 2048^3 matmul in ~30 s: measured 2026-12-07)
        self.seconds, self.n, self.samples = seconds, n, {"bf16": [], "fp32": [], "bf16_step_shape": []}

    def sample(self) -> None:
        small = self.n < 1024
        self.samples["bf16"].append(matmul_peak(torch.bfloat16, n=self.n, seconds=self.seconds))
        self.samples["fp32"].append(matmul_peak(torch.float32, n=self.n, seconds=self.seconds / 2))
        self.samples["bf16_step_shape"].append(matmul_peak(torch.bfloat16, seconds=self.seconds / 2,
                                                           shape=(128, 384, 384) if small else self.STEP_SHAPE))

    def best(self, kind: str = "bf16") -> float:
        return max(self.samples[kind])

    def figures(self) -> dict:
        return {"matmul_peak_bf16_gflops": self.best() / 1e9, "matmul_peak_fp32_gflops": self.best("fp32") / 1e9,
                "matmul_bf16_step_shape_gflops": self.best("bf16_step_shape") / 1e9,
                "matmul_peak_bf16_samples_gflops": [x / 1e9 for x in self.samples["bf16"]]}


class StepTimer(TrainerCallback):
    """Sums the wall time of the Trainer's optimizer steps (forward, backward, update; not data loading)."""

    def __init__(self):
        self.seconds, self.steps, self._t0 = 0.0, 0, None

    def on_step_begin(self, args, state, control, **kwargs):
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.seconds += time.perf_counter() - self._t0
        self.steps += 1


def matmul_weights(model: torch.nn.Module) -> int:
    """Weights of the Linear layers a sentence passes through (the unused pooler excluded)."""
    return sum(m.weight.numel() for name, m in model.named_modules()
               if isinstance(m, torch.nn.Linear) and "pooler" not in name)


def real_tokens(model, pairs: list[tuple[str, str]]) -> int:
    texts = [s for pair in pairs for s in pair]
    ids = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]
    return sum(len(row) for row in ids)


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return (f"{model}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"bf16 kernels: {precision.cpu_bf16_kind()}")


class timed_trainer:
    """Add ``timer`` to every SentenceTransformerTrainer built inside the block (ours builds its own)."""

    def __init__(self, timer):
        self.timer = timer

    def __enter__(self):
        from sentence_transformers import SentenceTransformerTrainer

        self.cls, self.init = SentenceTransformerTrainer, SentenceTransformerTrainer.__init__
        timer, init = self.timer, self.init

        def patched(trainer, *args, callbacks=None, **kwargs):
            callbacks = list(callbacks or [])
            if timer not in callbacks:
                callbacks.append(timer)
            init(trainer, *args, callbacks=callbacks, **kwargs)

        self.cls.__init__ = patched

    def __exit__(self, *exc):
        self.cls.__init__ = self.init
