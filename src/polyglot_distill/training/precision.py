"""``hardware.precision=auto``: the training precision this machine runs fastest at.

- CUDA: bf16 autocast where the GPU has bf16 (Ampere or newer), fp16 (with the Trainer's loss scaling) before.
- CPU: bf16 autocast where the CPU has AMX tiles (Intel Sapphire Rapids and newer), or where it has AVX512-BF16
  kernels that measure at least :data:`MIN_SPEEDUP` x the fp32 matmul rate (a ~0.2 s probe, once per machine:
  :func:`measured_speedup`). Measured on four CPUs (docs/performance.md#precision): with AMX a bf16 2048^3 matmul ran at 4.3x fp32 and
  a default-run training step 1.5-1.7x faster; an AMD EPYC with AVX512-BF16 (no AMX) ran bf16 matmuls at ~4x
  fp32; an Intel Xeon with AVX512-BF16 but no AMX at 0.4-0.8x; an AMD EPYC without AVX-512 has no bf16 kernel at
  all (one 2048^3 matmul ~40 s, perf.py --quick at 0.32x fp32 pairs/s).

``fp32``, ``bf16`` and ``fp16`` are taken as given (``hardware=cpu_bf16`` forces bf16).
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path

import torch

from polyglot_distill import locking

#: bf16 autocast pays on an AVX512-BF16 CPU from this matmul speed-up on: a training step gains ~1.5x where the
#: matmul gains ~4x (AMX), and the CPUs measured sit far from it on either side (0.4-0.8x, ~4x).
MIN_SPEEDUP = 2.0


def cpu_bf16_kind() -> str:
    """``amx``: AMX tiles (fast bf16), ``avx512``: AVX512 bf16 kernels (slower than fp32 on the CPU measured),
    ``none``: no native bf16 (emulated, very slow)."""
    if torch.cpu._is_amx_tile_supported():
        return "amx"
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "avx512"
    return "none"


def bf16_matmul_speedup(n: int = 1024, repeats: int = 3) -> float:
    """How many times faster a bf16 ``n``^3 matmul runs than an fp32 one on this CPU (best of ``repeats``)."""
    def best(dtype) -> float:
        a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
        a @ b  # warm-up: the kernel's first call allocates and dispatches
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - started)
        return min(times)

    return best(torch.float32) / best(torch.bfloat16)


def measured_speedup(cache_dir: str | Path | None) -> float:
    """:func:`bf16_matmul_speedup`, measured once per machine and kept in ``<cache_dir>/bf16-speedup.json`` (keyed
    by the CPU, its flags and torch's version). The probe is noisy: this project's AMD EPYC measured ~4.5x one day
    and 2.0-3.0x the next (2026-12-08, alone and beside a second probe), around :data:`MIN_SPEEDUP`, and two jobs
    of one sweep decided differently (the shared embedding cache held two fingerprints of one untrained student).
    Every run of a machine now takes the first decision; delete the file to measure again."""
    if cache_dir is None:
        return bf16_matmul_speedup()
    key = hashlib.sha256(f"{_cpu_identity()}|torch {torch.__version__}".encode()).hexdigest()[:16]
    path = Path(cache_dir) / "bf16-speedup.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    with locking.exclusive(path.with_suffix(".lock")):
        known = json.loads(path.read_text()) if path.is_file() else {}
        if key not in known:
            known[key] = bf16_matmul_speedup()
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(known, indent=1))
            os.replace(tmp, path)
    return float(known[key])


def _cpu_identity() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    return " ".join(fields.get(k, "").strip() for k in ("model name", "flags"))


def resolve(precision: str, device: str, cache_dir: str | Path | None = None) -> tuple[str, str]:
    """The precision a run trains in, and why (for the log): ``auto`` becomes ``fp32``, ``bf16`` or ``fp16``.
    ``cache_dir``: where the CPU probe's result is kept (:func:`measured_speedup`); None measures anew."""
    if precision != "auto":
        return precision, "as configured"
    if torch.device(device).type == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", "this GPU has bf16"
        return "fp16", "this GPU has no bf16"
    kind = cpu_bf16_kind()
    if kind == "amx":
        return "bf16", "this CPU has AMX: bf16 autocast ~1.5x faster than fp32"
    if kind == "avx512":
        speedup = measured_speedup(cache_dir)
        if speedup >= MIN_SPEEDUP:
            return "bf16", f"this CPU's AVX512-BF16 matmuls measured {speedup:.1f}x fp32's"
        return "fp32", (f"this CPU's AVX512-BF16 matmuls measured {speedup:.1f}x fp32's (bf16 pays from "
                        f"{MIN_SPEEDUP:.0f}x): bf16 autocast would not be faster; hardware=cpu_bf16 forces it")
    return "fp32", "this CPU has no native bf16: bf16 autocast would be far slower; hardware=cpu_bf16 forces it"
