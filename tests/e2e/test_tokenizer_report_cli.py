"""`python -m polyglot_distill.evaluation.tokenizer_report` as a command (exit status and message); the
report itself is tests/unit/evaluation/test_tokenizer_report.py."""
from __future__ import annotations

import os
import subprocess
import sys

from helpers.paths import REPO


def test_the_command_rejects_an_unknown_language_with_exit_2():
    proc = subprocess.run([sys.executable, "-m", "polyglot_distill.evaluation.tokenizer_report", "--languages", "klingon"],
                          cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "error: --languages: 'klingon'" in proc.stderr, proc.stderr[-2000:]
