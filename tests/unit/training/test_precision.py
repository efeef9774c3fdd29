"""hardware.precision=auto: bf16 only where it is faster (AMX CPUs, bf16 GPUs); explicit values stay."""
from __future__ import annotations

import pytest
import torch

from polyglot_distill.training import precision


@pytest.mark.parametrize("value", ["fp32", "bf16", "fp16"])
def test_explicit_precision_is_kept(value):
    assert precision.resolve(value, "cpu") == (value, "as configured")


@pytest.mark.parametrize(("amx", "mkldnn_bf16", "expected", "kind"),
                         [(True, True, "bf16", "amx"), (False, True, "fp32", "avx512"), (False, False, "fp32", "none")])
def test_auto_on_cpu_picks_bf16_only_with_amx(monkeypatch, amx, mkldnn_bf16, expected, kind):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: mkldnn_bf16)
    assert precision.cpu_bf16_kind() == kind
    chosen, why = precision.resolve("auto", "cpu")
    assert chosen == expected
    assert ("AMX" in why) and ("cpu_bf16" in why) == (expected == "fp32")


def test_auto_on_this_machine_matches_its_cpu():
    chosen, _ = precision.resolve("auto", "cpu")
    assert chosen == ("bf16" if torch.cpu._is_amx_tile_supported() else "fp32")


@pytest.mark.parametrize(("bf16", "expected"), [(True, "bf16"), (False, "fp16")])
def test_auto_on_cuda(monkeypatch, bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert precision.resolve("auto", "cuda:0")[0] == expected
