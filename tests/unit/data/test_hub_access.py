"""One Hub reachability probe (polyglot_distill.hub_access), used by the model loaders and the data readers alike:
the data layer no longer imports the model layer for it."""
from __future__ import annotations

import subprocess
import sys

import pytest

from polyglot_distill import hub_access
from polyglot_distill.data import hub, hub_datasets
from polyglot_distill.evaluation import tokenizer_report
from polyglot_distill.models import loading


def test_every_reader_asks_the_same_probe():
    assert loading.hub_reachable is hub_datasets.hub_reachable is hub.hub_reachable is hub_access.hub_reachable
    assert "hub_reachable" not in vars(tokenizer_report)  # it imports the probe where it needs it, from hub_access


def test_the_data_layer_does_not_import_the_model_layer():
    code = ("import sys, polyglot_distill.data.corpus, polyglot_distill.data.hub_datasets; "
            "print(sorted(m for m in sys.modules if m.startswith('polyglot_distill.models')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_offline_answers_at_once(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hub_access.socket, "create_connection",
                        lambda *a, **k: pytest.fail("HF_HUB_OFFLINE=1 must not open a connection"))
    assert hub_access.hub_reachable() is False


def test_a_refused_connection_is_unreachable(monkeypatch):
    from huggingface_hub import constants

    def refuse(address, timeout):
        assert address[1] == 443 and timeout == 3.0
        raise ConnectionRefusedError

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub_access.socket, "create_connection", refuse)
    assert hub_access.hub_reachable() is False
