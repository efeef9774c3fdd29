"""Secure defaults that need the real tools: the Makefile's servers bind loopback unless HOST is given (`make -n`).
(Moved out of tests/unit/config/test_safety.py: the unit tier runs no make.)"""
from __future__ import annotations

import os
import re
import subprocess

from helpers.paths import REPO


def test_servers_bind_loopback_unless_a_host_is_given(monkeypatch, tmp_path):
    def dry_run(*args: str) -> str:
        env = {k: v for k, v in os.environ.items() if k != "HOST"}  # csh exports HOST (the machine's name)
        proc = subprocess.run(["make", "-n", *args], cwd=REPO, capture_output=True, text=True, timeout=30, env=env)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert re.search(r"mlflow ui .*--host 127\.0\.0\.1 ", dry_run("ui"))
    assert re.search(r"polyglot_distill\.tracking\.server start --host 127\.0\.0\.1 ", dry_run("mlflow-server"))
    assert re.search(r"polyglot_distill\.tracking\.server start --host 0\.0\.0\.0 ", dry_run("mlflow-server", "HOST=0.0.0.0"))
    # python -m polyglot_distill.tracking.server without --host: the host that reaches start() (stopped right there)
    from polyglot_distill.tracking import server

    hosts = []

    def record(lay, host, *args):
        hosts.append(host)
        raise server.ServerError("not started by this test")

    monkeypatch.setattr(server, "start", record)
    assert server.main(["start", "--state", str(tmp_path / "state")]) == 1
    assert server.main(["start", "--state", str(tmp_path / "state"), "--host", "0.0.0.0"]) == 1
    assert hosts == ["127.0.0.1", "0.0.0.0"]
