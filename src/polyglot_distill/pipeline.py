"""One experiment, top to bottom: prepare -> data -> teacher labels -> student -> baselines -> distil -> keep the
best -> final scores -> save and report (the stages: :mod:`polyglot_distill.stages`).

Under torchrun, rank 0 runs :func:`_main_rank`: it loads the teacher, labels, evaluates, logs the one MLflow run
and saves. Ranks 1..N-1 run :func:`_worker`: they receive the labels and train beside it. This module is the one
place where the two flows part.
"""
from __future__ import annotations

import logging
import math
import time
from pathlib import Path

from omegaconf import DictConfig

from polyglot_distill import stages
from polyglot_distill.config.validation import validate
from polyglot_distill.evaluation import tokenizer_report
from polyglot_distill.models import loading
from polyglot_distill.tracking.runs import Tracker, tracked_run
from polyglot_distill.training import distill, distributed

__all__ = ["run", "validate"]  # validate: the checks run() starts with, for callers that only check

log = logging.getLogger(__name__)


def run(cfg: DictConfig, output_dir: str | Path, choices: dict[str, str] | None = None) -> float:
    """Run one experiment and return its dev selection score (higher is better)."""
    validate(cfg)  # checks that need no model and no data: milliseconds
    prepared = stages.prepare(cfg, Path(output_dir))
    data = stages.read_data(cfg)  # bad languages, files, UDHR tags, STS sets: before any model loads
    prepared.dir.mkdir(parents=True, exist_ok=True)
    if not distributed.is_main():
        return _worker(cfg, prepared, data)
    stages.write_run_files(cfg, prepared, data)
    with tracked_run(cfg, choices or {}, prepared.dir, prepared.resume_run_id) as tracker:
        return _main_rank(cfg, prepared, data, tracker)


def _main_rank(cfg: DictConfig, run: stages.Prepared, data: stages.RunData, tracker: Tracker) -> float:
    """Rank 0, or the only process: everything, and training together with the other ranks."""
    tracker.log_artifact(run.dir / "data_manifest.json")
    tracker.set_tags({"data.content_sha256": data.corpus.manifest["content_sha256"]})  # equal hashes, equal corpora
    tracker.log_metrics(data.pair_counts())
    teacher = loading.load_teacher(cfg.teacher, cfg.cache_dir, cfg.hardware.device)
    tracker.set_tags({"teacher.ends_in_normalize": str(loading.ends_in_normalize(teacher))})
    labels = _timed_labels(cfg, data, teacher, tracker)
    clock = stages.StageClock()
    with clock("student_load"):
        student = stages.load_student(cfg, run, data)
    distributed.barrier()  # the other ranks may load it now
    tokenizer_report.write_report(teacher, student, data.corpus.splits["train"], cfg, run.dir, tracker)
    with clock("baselines"):  # the teacher's side of every evaluation set, the baselines, dev at step 0
        teacher_encode = stages.TeacherForEval(cfg, data, teacher)  # through the teacher cache
        suite = stages.eval_suite(cfg, data, labels, teacher_encode)
        student, base = stages.baselines(cfg, teacher_encode, student, suite, labels, data.train_pairs)
    tracker.log_metrics(base.metrics | teacher_encode.cache_metrics())
    tracker.log_metrics(base.dev, step=0)

    with clock("train"):
        facts = distill.distill(student, data.train_pairs, labels, suite.splits["dev"], cfg, run.dir,
                                tracker.log_metrics, resume_from=run.resume_from)
    with clock("final_eval"):
        final_dev = stages.keep_best(cfg, student, suite, base, facts)
        # the kept student's dev scores, logged at the last step so that MLflow's latest dev/... value is the one
        # train.py returns (the Trainer's last evaluation need not be of the checkpoint it kept)
        tracker.log_metrics(final_dev, step=int(facts["steps"]))
        metrics = stages.final_scores(cfg, student, suite, run, base, final_dev, facts)
    metrics |= clock.shares(metrics["time/total_s"], facts["dev_eval_seconds"])
    tracker.log_metrics({k: v for k, v in metrics.items() if not k.startswith("dev/")})  # dev/: logged above
    stages.save_and_report(cfg, run, student, metrics, suite, facts, tracker)
    log.info("results in %s%s", run.dir, f" (MLflow run {tracker.run_id})" if tracker.run_id else "")
    return float(final_dev.get("dev/selection", 0.0))


def _worker(cfg: DictConfig, run: stages.Prepared, data: stages.RunData) -> float:
    """Ranks 1..N-1 of a torchrun job: the teacher's labels from rank 0, the student after rank 0 loaded it,
    training; no MLflow run, no evaluation, nothing saved. Their part ends with training."""
    labels = stages.teacher_labels(cfg, data, None)
    distributed.barrier()  # rank 0 loads (builds, downloads) the student first
    student = stages.load_student(cfg, run, data, from_rank0=True)
    student = stages.attach_projection(cfg, student, data.train_pairs, labels)
    distill.distill(student, data.train_pairs, labels, stages.dev_sets(cfg, data, labels), cfg, run.dir,
                    Tracker(enabled=False).log_metrics, resume_from=run.resume_from)
    return math.nan


def _timed_labels(cfg: DictConfig, data: stages.RunData, teacher, tracker: Tracker) -> distill.TeacherLabels:
    started = time.perf_counter()
    labels = stages.teacher_labels(cfg, data, teacher)
    tracker.log_metrics({"time/teacher_encode_s": time.perf_counter() - started}
                        | (labels.cache_stats.metrics() if labels.cache_stats else {}))
    return labels
