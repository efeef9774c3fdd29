"""``hardware.precision=auto``: the training precision this machine runs fastest at.

- CUDA: bf16 autocast where the GPU has bf16 (Ampere or newer), fp16 (with the Trainer's loss scaling) before.
- CPU: bf16 autocast only where the CPU has AMX tiles (Intel Sapphire Rapids and newer). Measured on three CPUs
  (docs/performance.md#precision): with AMX a bf16 2048^3 matmul ran at 4.3x fp32 and a default-run training step
  1.5-1.7x faster; an Intel Xeon with AVX512-BF16 but no AMX ran bf16 matmuls at 0.4-0.8x fp32; an AMD EPYC without
  AVX-512 has no bf16 kernel at all (one 2048^3 matmul ~40 s, perf.py --quick at 0.32x fp32 pairs/s).

``fp32``, ``bf16`` and ``fp16`` are taken as given (``hardware=cpu_bf16`` forces bf16).
"""
from __future__ import annotations

import torch


def cpu_bf16_kind() -> str:
    """``amx``: AMX tiles (fast bf16), ``avx512``: AVX512 bf16 kernels (slower than fp32 on the CPU measured),
    ``none``: no native bf16 (emulated, very slow)."""
    if torch.cpu._is_amx_tile_supported():
        return "amx"
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "avx512"
    return "none"


def resolve(precision: str, device: str) -> tuple[str, str]:
    """The precision a run trains in, and why (for the log): ``auto`` becomes ``fp32``, ``bf16`` or ``fp16``."""
    if precision != "auto":
        return precision, "as configured"
    if torch.device(device).type == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", "this GPU has bf16"
        return "fp16", "this GPU has no bf16"
    kind = cpu_bf16_kind()
    if kind == "amx":
        return "bf16", "this CPU has AMX: bf16 autocast ~1.5x faster than fp32"
    return "fp32", (f"this CPU has no AMX ({'AVX512-BF16 only' if kind == 'avx512' else 'no native bf16'}): "
                    "bf16 autocast would be slower than fp32; hardware=cpu_bf16 forces it")
