"""hardware.precision=auto: bf16 only where it is faster (AMX CPUs, bf16 GPUs); explicit values stay."""
from __future__ import annotations

import pytest
import torch

from polyglot_distill.training import precision


@pytest.mark.parametrize("value", ["fp32", "bf16", "fp16"])
def test_explicit_precision_is_kept(value):
    assert precision.resolve(value, "cpu") == (value, "as configured")


@pytest.mark.parametrize(("amx", "mkldnn_bf16", "speedup", "expected", "kind"),
                         [(True, True, None, "bf16", "amx"), (False, True, 4.2, "bf16", "avx512"),
                          (False, True, 0.6, "fp32", "avx512"), (False, False, None, "fp32", "none")])
def test_auto_on_cpu_picks_bf16_where_it_is_faster(monkeypatch, amx, mkldnn_bf16, speedup, expected, kind):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: mkldnn_bf16)
    probed = []
    monkeypatch.setattr(precision, "bf16_matmul_speedup", lambda: probed.append(1) or speedup)
    assert precision.cpu_bf16_kind() == kind
    chosen, why = precision.resolve("auto", "cpu")
    assert chosen == expected
    assert bool(probed) == (kind == "avx512")  # only an AVX512-BF16 CPU without AMX is measured
    assert ("cpu_bf16" in why) == (expected == "fp32")
    assert ("AMX" in why) == (kind == "amx") and (f"{speedup}x" in why if speedup else True)


def test_the_speedup_probe_measures_this_cpu():
    speedup = precision.bf16_matmul_speedup(n=128, repeats=2)
    assert 0 < speedup < 100


def test_auto_on_this_machine_matches_its_cpu():
    chosen, _ = precision.resolve("auto", "cpu")
    kind = precision.cpu_bf16_kind()
    fast = kind == "amx" or (kind == "avx512" and precision.bf16_matmul_speedup() >= precision.MIN_SPEEDUP)
    assert chosen == ("bf16" if fast else "fp32")


@pytest.mark.parametrize(("bf16", "expected"), [(True, "bf16"), (False, "fp16")])
def test_auto_on_cuda(monkeypatch, bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert precision.resolve("auto", "cuda:0")[0] == expected


def test_the_cpu_probe_runs_once_per_machine_and_is_kept(tmp_path, monkeypatch):
    """Two jobs of one sweep must not decide differently on a noisy probe: the first measurement is kept."""
    readings = iter([2.1, 1.9])
    calls = []
    monkeypatch.setattr(precision, "bf16_matmul_speedup", lambda: calls.append(1) or next(readings))
    assert precision.measured_speedup(tmp_path) == 2.1
    assert precision.measured_speedup(tmp_path) == 2.1 and len(calls) == 1  # the kept reading, not 1.9
    monkeypatch.setattr(precision, "_cpu_identity", lambda: "another CPU")
    assert precision.measured_speedup(tmp_path) == 1.9 and len(calls) == 2  # another machine measures its own
