"""Every command in a ```bash block of README.md and docs/*.md works as documented.

- ``python train.py ...`` / ``.venv/bin/python train.py ...``: composed with ``--cfg job`` appended (Hydra prints
  the config and stops); a sweep (``-m a=x,y``) is composed once per job. A command whose comment says it
  ``fails`` must fail, naming the key it overrides.
- ``python -c "..."``: run for real, from the repository root.
- ``benchmarks/ablate.py ...``: run with ``--dry-run`` (every variant's overrides compose, nothing trains).
- ``benchmarks/perf.py ...``: run with ``--quick`` (2 steps, one round, the tiny student; every section runs) and
  its ``--json`` figures checked.
- ``benchmarks/step_scan.py ...``: run with ``--quick`` (the tiny student, batches of 4 and 8 pairs) and its table
  checked.
- ``python evaluate.py ...``: composed with ``--cfg job`` appended, like ``train.py`` (nothing is scored).
- ``python -m polyglot_distill.evaluation.tokenizer_report ...``: run for real (it loads tokenizers only).
- ``make <target> [NAME=value]``: the target exists in the Makefile (running it would recurse into ``make test``)
  and reads each variable given.
- ``torchrun ... train.py ...`` (after optional ``NAME=value`` assignments): torch's own argument parser accepts the
  launcher's options, the overrides pick a distributed ``hardware`` and are composed like ``python train.py``.
Anything else fails the test, so a new kind of documented command gets a rule here.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from helpers.paths import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PYTHONS = {"python", "python3", ".venv/bin/python", "./.venv/bin/python"}


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S)


def _commands(block: str) -> list[tuple[str, list[str]]]:
    """``(source text, argv)`` per shell command; a command may span lines (``\\`` or an open quote)."""
    out, buf = [], ""
    for line in block.splitlines():
        buf = f"{buf}\n{line}" if buf else line
        if buf.rstrip().endswith("\\"):
            buf = buf.rstrip()[:-1]
            continue
        try:
            argv = shlex.split(buf, comments=True)
        except ValueError:  # a quote is still open: the command goes on
            continue
        if argv:
            out.append((buf, argv))
        buf = ""
    assert not buf.strip(), f"unterminated command: {buf!r}"
    return out


def _documented():
    for doc in DOCS:
        for b, block in enumerate(_bash_blocks(doc.read_text())):
            for c, (source, argv) in enumerate(_commands(block)):
                yield pytest.param(source, argv, id=f"{doc.relative_to(REPO)}:{b}.{c}:{' '.join(' '.join(argv).split())[:50]}")


COMMANDS = list(_documented())


def test_docs_have_commands():
    assert any(argv[:2] == [".venv/bin/python", "train.py"] for _, argv in (p.values for p in COMMANDS))
    assert any(argv[1:2] == ["-c"] for _, argv in (p.values for p in COMMANDS))


def _sweep_jobs(overrides: list[str]) -> list[list[str]]:
    """Hydra's basic sweep: ``key=a,b`` (outside brackets and quotes) gives one job per value."""
    choices = []
    for arg in overrides:
        key, sep, value = arg.partition("=")
        if sep and "," in value and not re.search(r"[\[\]{}()'\"]", value):
            choices.append([f"{key}={v}" for v in value.split(",")])
        else:
            choices.append([arg])
    return [list(job) for job in itertools.product(*choices)]


def _run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=REPO, env=dict(os.environ), capture_output=True, text=True, timeout=timeout)


def _torchrun_as_python(argv: list[str]) -> list[str]:
    """``torchrun <options> train.py <overrides>`` -> ``python train.py <overrides>``, its options checked."""
    from torch.distributed.run import get_args_parser

    args = get_args_parser().parse_args(argv[1:])  # an unknown or malformed option exits (SystemExit)
    assert args.training_script == "train.py", f"torchrun runs {args.training_script!r}, not train.py"
    overrides = list(args.training_script_args)
    assert any(o in ("hardware=ddp", "hardware=ddp_cuda") for o in overrides), \
        "under torchrun a one-process hardware is refused: add hardware=ddp or hardware=ddp_cuda"
    return ["python", "train.py", *overrides]


@pytest.mark.parametrize(("source", "argv"), COMMANDS)
def test_documented_command(source, argv):
    while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", argv[0]):  # OMP_NUM_THREADS=2 torchrun ...
        argv = argv[1:]
    if argv[0] == "torchrun":
        argv = _torchrun_as_python(argv)
    if argv[0] == "make":
        makefile = (REPO / "Makefile").read_text()
        for target in argv[1:]:
            name, is_variable, _ = target.partition("=")
            if is_variable:  # make mlflow-server HOST=0.0.0.0: a variable the Makefile reads
                assert re.search(rf"\$\$?[({{]{re.escape(name)}\b", makefile), f"the Makefile reads no {name}"
                continue
            assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), f"no make target {target!r}"
        return
    assert argv[0] in PYTHONS, f"no rule for documented command {source!r}: extend tests/e2e/test_docs.py"
    if argv[1] == "-c":
        proc = _run([sys.executable, "-c", argv[2]])
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.strip(), "the snippet printed nothing"
        return
    if argv[1] == "benchmarks/perf.py":  # the whole benchmark, cut to 2 steps with the tiny student
        json_path = Path(tempfile.mkdtemp()) / "perf.json"
        args = [a for a in argv[2:] if not a.endswith(".json") and a != "--json"]
        proc = _run([sys.executable, argv[1], *args, "--quick", "--json", str(json_path)], timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        figures = json.loads(json_path.read_text())
        for key in ("ratio_pairs_per_s", "mfu_ours", "sweep_teacher_ratio", "scaling_2x_time_ratio",
                    "dev_score_ours", "dev_score_st"):
            assert isinstance(figures[key], float) and math.isfinite(figures[key]), (key, figures.get(key))
        assert "(b)/(a):" in proc.stdout
        return
    if argv[1] == "benchmarks/step_scan.py":  # the documented precision, the tiny student and two small batch sizes
        proc = _run([sys.executable, *argv[1:], "--quick"], timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        table = re.findall(r"^ +(\d+) +[\d.]+ +[\d.]+ +(\d+) +([\d.]+) %$", proc.stdout, flags=re.M)
        assert [int(size) for size, _, _ in table] == [4, 8], proc.stdout
        assert all(int(gflops) > 0 and 0 < float(mfu) < 100 for _, gflops, mfu in table), proc.stdout
        return
    if argv[1] == "benchmarks/ablate.py":  # compose every variant, train nothing
        proc = _run([sys.executable, *argv[1:], "--dry-run"])
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "variants compose" in proc.stdout
        return
    if argv[1] == "evaluate.py":  # composed like train.py: conf/evaluate.yaml with the overrides
        proc = _run([sys.executable, str(REPO / "evaluate.py"), *argv[2:], "--cfg", "job"])
        assert proc.returncode == 0, f"{source}:\n{proc.stderr[-3000:]}"
        assert "model:" in proc.stdout and "eval:" in proc.stdout
        return
    if argv[1:3] == ["-m", "polyglot_distill.evaluation.tokenizer_report"]:  # run for real: tokenizers and UDHR text only
        proc = _run([sys.executable, *argv[1:]])
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "unk_rate" in proc.stdout and "teacher" in proc.stdout
        return
    assert argv[1] == "train.py", f"no rule for documented command {source!r}"
    overrides = [a for a in argv[2:] if a not in ("-m", "--multirun")]
    must_fail = re.search(r"#.*\bfails?\b", source) is not None
    for job in _sweep_jobs(overrides) if len(overrides) < len(argv) - 2 else [overrides]:
        proc = _run([sys.executable, str(REPO / "train.py"), *job, "--cfg", "job"])
        if must_fail:
            assert proc.returncode != 0, f"documented to fail but composed: {source}"
            for arg in job:
                assert arg.split("=", 1)[0].lstrip("+~") in proc.stderr, proc.stderr[-2000:]
        else:
            assert proc.returncode == 0, f"{' '.join(job)}:\n{proc.stderr[-3000:]}"
            assert "teacher:" in proc.stdout and "student:" in proc.stdout
