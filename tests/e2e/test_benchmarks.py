"""The benchmark scripts' bad arguments: one message naming the option, the value and the fix; non-zero exit.

(Their documented commands run in tests/e2e/test_docs.py.)"""
from __future__ import annotations

import subprocess
import sys

from helpers.paths import REPO


def _step_scan(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / "step_scan.py"), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_step_scan_rejects_batch_sizes_that_are_not_positive_numbers():
    for value in ("32,x", "0,32", ""):
        proc = _step_scan("--batch-sizes", value)
        assert proc.returncode == 2
        assert f"argument --batch-sizes: {value!r}: give positive whole numbers of pairs" in proc.stderr


def test_step_scan_names_the_pairs_a_run_lacks_before_loading_the_student():
    proc = _step_scan("--base", "student=tiny data.max_train_pairs=100", "--batch-sizes", "4,8", "--windows", "100")
    assert proc.returncode == 1
    assert "--batch-sizes/--windows: 100 runs of 8 pairs, but the run has 500 training pairs; ask for fewer" \
        in proc.stderr
    assert "Loading weights" not in proc.stderr
