"""The stages of one training run, in the order :func:`polyglot_distill.pipeline.run` calls them: prepare ->
data -> teacher labels -> student -> baselines -> distil -> keep the best -> final scores -> save and report.

Each stage is a function of the config and of what the earlier stages built, carried in small dataclasses
(:class:`Prepared`, :class:`RunData`, :class:`Baselines`, the evaluation sets' :class:`EvalSuite`). Rank 0 and
the other torchrun ranks call the same stages (``pipeline.py`` holds the one place where their flows part).
"""
from __future__ import annotations

import contextlib
import json
import logging
import random
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from polyglot_distill.config import safety
from polyglot_distill.data.corpus import ParallelCorpus, build_corpus, manifest_to_json
from polyglot_distill.errors import ConfigError
from polyglot_distill.evaluation import scoring, sts_benchmarks, zero_shot
from polyglot_distill.evaluation.suite import (
    EvalSuite,
    Layout,
    build_suite,
    encoder,
    prefixed,
    save_resolved_config,
    write_reports,
)
from polyglot_distill.models import loading, vocabulary
from polyglot_distill.tracking import registry
from polyglot_distill.training import checkpoints, distill, distributed, precision, teacher_cache

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class StageClock:
    """Seconds per stage of a run, logged as ``time/<stage>_s``, and ``time/eval_fraction``: the share of the run
    spent scoring (baselines, dev evaluations during training, final scores), where the time goes on CPU."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = time.perf_counter() - started

    def shares(self, total_s: float, dev_eval_s: float) -> dict[str, float]:
        metrics = {f"time/{stage}_s": s for stage, s in self.seconds.items()} | {"time/dev_eval_s": dev_eval_s}
        scoring_s = self.seconds.get("baselines", 0.0) + dev_eval_s + self.seconds.get("final_eval", 0.0)
        return metrics | {"time/eval_fraction": scoring_s / total_s if total_s > 0 else 0.0}


# --- prepare -------------------------------------------------------------------------------------------------------

@dataclass
class Prepared:
    """The run's folder and, with ``resume=``, where it continues from."""

    dir: Path
    resume_from: Path | None  # the newest complete checkpoint
    resume_run_id: str | None  # the MLflow run it reattaches
    started: float  # time.perf_counter() at the start: time/total_s


def prepare(cfg: DictConfig, output_dir: Path) -> Prepared:
    """The training precision (``auto`` resolved, written into ``cfg``: the saved config, MLflow params and a
    resume see what ran), the run's folder (``resume=``: the killed run's, its newest checkpoint and MLflow run),
    seeds, threads, and under torchrun the process group and this rank's own log file."""
    cfg.hardware.precision, why = precision.resolve(cfg.hardware.precision, cfg.hardware.device, cfg.cache_dir)
    log.info("training precision %s (%s)", cfg.hardware.precision, why)
    resume_from = resume_run_id = None
    if cfg.resume:
        output_dir = checkpoints.find_run_dir(cfg.resume, output_dir)
        resume_from, resume_run_id = checkpoints.check_resumable(cfg, output_dir)
        log.info("resuming %s from %s", output_dir, resume_from.name)
    elif checkpoints.latest_checkpoint(output_dir) is not None:
        raise ConfigError(f"output_dir: {output_dir} holds checkpoints of an unfinished run. Continue it with "
                          f"resume={output_dir}, or give the new run another folder.")
    safety.check_output_dir(output_dir)
    seed_everything(cfg.seed)
    loading.set_threads(cfg.hardware.threads)
    distributed.init(cfg.hardware)  # torchrun: join the other ranks (docs/scaling.md)
    distributed.separate_worker_log()
    return Prepared(output_dir, resume_from, resume_run_id, time.perf_counter())


# --- data ----------------------------------------------------------------------------------------------------------

@dataclass
class RunData:
    """What a run reads before any model loads: its corpus, UDHR pairs and STS benchmark tasks."""

    corpus: ParallelCorpus | None  # None: evaluate.py with eval.splits=[]
    langs: list[str]
    udhr_pairs: dict[str, list[tuple[str, str]]]
    sts_tasks: list[sts_benchmarks.StsTask]

    @cached_property
    def train_pairs(self) -> list[tuple[str, str]]:
        """Every language's training pairs, then the English prose as (sentence, sentence)."""
        return [p for L in self.langs for p in self.corpus.splits["train"][L]] + [(s, s) for s in self.corpus.prose]

    @cached_property
    def english(self) -> list[str]:
        """The English side of every split and the prose: what the teacher labels, once per job."""
        return [en for by in self.corpus.splits.values() for pairs in by.values() for en, _ in pairs] \
            + self.corpus.prose

    def pair_counts(self) -> dict[str, float]:
        splits = self.corpus.splits.items() if self.corpus else []
        return {f"data/{split}/{L}/pairs": len(p) for split, by in splits for L, p in by.items()} \
            | {f"data/udhr/{L}/pairs": len(p) for L, p in self.udhr_pairs.items()} \
            | ({"data/train/prose/sentences": len(self.corpus.prose)} if self.corpus else {})


def read_data(cfg: DictConfig, with_corpus: bool = True) -> RunData:
    """Corpus, UDHR pairs and STS tasks; each raises :class:`ConfigError` (bad languages, files, UDHR tags, STS
    sets) before any model loads."""
    langs = list(cfg.languages.targets)
    corpus = build_corpus(cfg.data, cfg.languages, cfg.cache_dir) if with_corpus else None
    return RunData(corpus, langs, zero_shot.select(cfg.eval, cfg.cache_dir, langs),
                   sts_benchmarks.load_tasks(cfg.eval, langs))


def write_run_files(cfg: DictConfig, run: Prepared, data: RunData) -> None:
    """``data_manifest.json``, and for a new run the config that ``resume=`` compares against (rank 0)."""
    (run.dir / "data_manifest.json").write_text(manifest_to_json(data.corpus))
    if not cfg.resume:
        (run.dir / checkpoints.CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg, resolve=True))


# --- teacher labels and student ------------------------------------------------------------------------------------

def teacher_labels(cfg: DictConfig, data: RunData, teacher) -> distill.TeacherLabels:
    """Every English sentence of the job encoded once: by rank 0 (``teacher``), received by the other ranks
    (``teacher`` None)."""
    return distributed.broadcast(None if teacher is None else distill.TeacherLabels(
        teacher, data.english, cfg.teacher.batch_size, cfg.teacher_cache_dir if cfg.teacher.cache else None))


def load_student(cfg: DictConfig, run: Prepared, data: RunData, from_rank0: bool = False):
    """The student without its projection. ``from_rank0``: a torchrun worker, loading after rank 0 did; with
    ``student=tiny`` it loads rank 0's folder, so that every rank has the same tokenizer."""
    student_cfg, tiny_dir = cfg.student, run.dir / "tiny-student-init"
    if from_rank0 and cfg.student.model == "tiny":
        student_cfg = OmegaConf.merge(cfg.student, {"model": str(tiny_dir)})
    return loading.load_student(student_cfg, cfg.cache_dir, cfg.hardware.device,
                                [s for pair in data.train_pairs for s in pair], tiny_dir=tiny_dir,
                                vocab_sentences=vocabulary.run_text(data.corpus.splits, data.udhr_pairs)
                                + data.corpus.prose + sts_benchmarks.sentences(data.sts_tasks))


def lstsq_sentences(cfg: DictConfig, train_pairs: list[tuple[str, str]]) -> list[str]:
    """The English sentences the least-squares head is fitted on: a seeded sample of the training English."""
    english = sorted({en for en, _ in train_pairs})
    return random.Random(cfg.seed).sample(english, min(len(english), cfg.student.projection_fit_sentences))


def attach_projection(cfg: DictConfig, student, train_pairs: list[tuple[str, str]], labels, encode=None):
    """Add the Dense head to the teacher's size when needed, initialised by least squares on English.
    ``encode``: the untrained student's encoder (default: ``student`` itself, in fp32)."""
    teacher_dim, student_dim = labels.dim, student.get_embedding_dimension()
    if not loading.needs_projection(cfg.student, student_dim, teacher_dim):
        return student
    weight = bias = None
    if cfg.student.projection_init == "lstsq":
        english = lstsq_sentences(cfg, train_pairs)
        x = encode(english) if encode is not None \
            else distill.encode(student, english, cfg.eval.batch_size, desc="least-squares head")
        w, b = distill.fit_lstsq(x, labels(english), ridge=cfg.student.projection_ridge)
        weight, bias = torch.from_numpy(w), torch.from_numpy(b)
    return loading.add_projection(student, teacher_dim, weight, bias)


# --- evaluation sets and baselines ---------------------------------------------------------------------------------

def dev_sets(cfg: DictConfig, data: RunData, labels) -> list[scoring.LanguageSet]:
    """The dev split scored during training (every rank takes part in the Trainer's evaluation)."""
    return scoring.build_language_sets(data.corpus.splits["dev"], labels, cfg.eval.sts_pairs, cfg.seed)


class TeacherForEval:
    """The teacher's embeddings for evaluation: the UDHR's English paragraphs, and with ``eval.baseline`` what
    ``baseline/teacher`` scores (the UDHR and test translations, the STS sentences). All are encoded at the first
    call, through the teacher cache when ``teacher.cache`` (as the training labels are: a sweep or a rerun encodes
    them once). A sentence outside them is encoded directly."""

    def __init__(self, cfg: DictConfig, data: RunData, teacher):
        self.cfg, self.teacher, self.labels = cfg, teacher, None
        self.sentences = [en for pairs in data.udhr_pairs.values() for en, _ in pairs]
        if cfg.eval.baseline:
            self.sentences += [xx for pairs in data.udhr_pairs.values() for _, xx in pairs] \
                + [xx for pairs in data.corpus.splits["test"].values() for _, xx in pairs] \
                + sts_benchmarks.sentences(data.sts_tasks)

    def __call__(self, sentences: list[str]) -> np.ndarray:
        if self.labels is None:
            self.labels = distill.TeacherLabels(self.teacher, self.sentences, self.cfg.teacher.batch_size,
                                                self.cfg.teacher_cache_dir if self.cfg.teacher.cache else None)
        if all(s in self.labels.index for s in sentences):
            return self.labels(sentences)
        return distill.encode(self.teacher, sentences, self.cfg.eval.batch_size)

    def cache_metrics(self) -> dict[str, float]:
        """``teacher_cache/eval_hits``, ``eval_misses``, ... (the labels' are ``teacher_cache/hits``, ...)."""
        stats = self.labels.cache_stats if self.labels is not None else None
        return {k.replace("teacher_cache/", "teacher_cache/eval_"): v for k, v in stats.metrics().items()} \
            if stats else {}


def eval_suite(cfg: DictConfig, data: RunData, labels, teacher_encode) -> EvalSuite:
    """dev and test labelled by the run's teacher labels, the UDHR paragraphs by ``teacher_encode`` (a
    :class:`TeacherForEval`), the STS tasks."""
    held_out = {split: data.corpus.splits[split] for split in ("dev", "test")}
    return build_suite(held_out, labels, data.udhr_pairs, teacher_encode, data.sts_tasks,
                       data.langs, cfg.eval, cfg.seed)


@dataclass
class StudentEncoder:
    """Evaluation embeddings of the student before training, in the precision it trains in: after a bf16 run the
    Trainer (accelerate) leaves the student's forward wrapped in bf16 autocast, so dev, test and UDHR scores of
    the trained student are bf16 ones; its baselines are scored the same way (and ~2x faster on CPU)."""

    model: object
    batch_size: int
    device: str  # the device type autocast takes: cpu, cuda
    bf16: bool
    desc: str | None = None  # a progress bar's label

    @classmethod
    def of(cls, cfg: DictConfig, model, desc: str | None = None) -> StudentEncoder:
        return cls(model, cfg.eval.batch_size, torch.device(cfg.hardware.device).type,
                   cfg.hardware.precision == "bf16", desc)

    def __call__(self, sentences: list[str]) -> np.ndarray:
        with torch.autocast(self.device, dtype=torch.bfloat16, enabled=self.bf16):
            return distill.encode(self.model, sentences, self.batch_size, desc=self.desc)


class Memo:
    """An encoder remembering every sentence's vector (the untrained student's: the lstsq baseline reuses them).
    :meth:`prefill` takes what it will be asked through the embedding cache, as the teacher's labels are."""

    def __init__(self, encode):
        self.encode, self.seen = encode, {}
        self.cache_stats = None

    def prefill(self, sentences: list[str], model, cache_dir: str | None, variant: str = "") -> None:
        """Encode ``sentences`` at once: with ``cache_dir``, only those no earlier run with the same ``model``
        (weights, vocabulary, ``variant``) encoded."""
        new = sorted(set(sentences) - self.seen.keys())
        if not new:
            return
        if cache_dir is None:
            self(new)
            return
        vectors, self.cache_stats = teacher_cache.encode_cached(
            cache_dir, model, new, self.encode, model.get_embedding_dimension(), variant)
        self.seen.update(zip(new, vectors))

    def __call__(self, sentences: list[str]) -> np.ndarray:
        new = sorted(set(sentences) - self.seen.keys())
        if new:
            self.seen.update(zip(new, self.encode(new)))
        return np.stack([self.seen[s] for s in sentences]) if sentences else self.encode(sentences)


@dataclass
class HeadOnVectors:
    """The untrained student + its projection head, from the untrained vectors (no second encoder pass)."""

    head: object  # the Dense projection
    encode: object  # the untrained student's (memoised) encoder

    def __call__(self, sentences: list[str]) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(self.encode(sentences))
            return self.head({self.head.module_input_name: x})[self.head.module_output_name].float().numpy()


@dataclass
class Baselines:
    metrics: dict[str, float]  # baseline/teacher/..., baseline/student/..., baseline/lstsq/...
    dev: dict[str, float]  # dev/... of the student with its projection, before training (step 0)
    state: dict[str, torch.Tensor] | None  # its weights, kept with distill.keep_baseline_if_better


def baselines(cfg: DictConfig, teacher_encode, student, suite: EvalSuite, labels,
              train_pairs: list[tuple[str, str]]):
    """The teacher's ceiling (``teacher_encode``: a :class:`TeacherForEval`), the untrained student, its
    least-squares head (test, UDHR, STS benchmarks, with ``eval.baseline``) and dev at step 0. Returns the student
    with its projection attached, and the scores."""
    test = ["test"]
    encode = StudentEncoder.of(cfg, student, desc="untrained student")  # all its sentences at once: one bar
    untrained = Memo(encode)  # the lstsq fit, the lstsq baseline and dev at step 0 reuse its vectors
    untrained.prefill(suite.sentences(test if cfg.eval.baseline else [], cfg.eval.baseline)
                      + suite.sentences(["dev"], udhr_and_sts=False) + lstsq_sentences(cfg, train_pairs),
                      student, cfg.teacher_cache_dir if cfg.teacher.cache else None,
                      "autocast bf16" if encode.bf16 else "")
    stats = untrained.cache_stats  # baseline_cache/hits, misses, saved_s: the untrained student's vectors
    metrics = {k.replace("teacher_cache/", "baseline_cache/"): v for k, v in stats.metrics().items()} if stats else {}
    if cfg.eval.baseline:
        metrics |= prefixed("baseline/teacher", suite.score(teacher_encode, "eval teacher", test, teacher_side=True))
        metrics |= prefixed("baseline/student", suite.score(untrained, "eval untrained", test))
    student = attach_projection(cfg, student, train_pairs, labels, untrained)
    head = distill.projection_head(student)
    at_step0 = untrained if head is None else HeadOnVectors(head, untrained)
    if head is not None and cfg.eval.baseline:
        metrics |= prefixed("baseline/lstsq", suite.score(at_step0, "eval lstsq head", test))
    dev = suite.held_out(at_step0, "dev", "eval dev, step 0")
    state = {k: v.detach().clone() for k, v in student.state_dict().items()} \
        if cfg.distill.keep_baseline_if_better or cfg.distill.interpolate < 1 else None
    return student, Baselines(metrics, dev, state)


# --- after training ------------------------------------------------------------------------------------------------

def keep_best(cfg: DictConfig, student, suite: EvalSuite, base: Baselines, facts: dict) -> dict[str, float]:
    """The kept student's dev scores: the best checkpoint's, or the untrained student's where it beat every
    checkpoint (``distill.keep_baseline_if_better``; ``facts['best_step']`` becomes 0). The best checkpoint's
    are those the Trainer scored it with (its dev history), so the kept student is not scored a second time.
    ``facts['dev_rescored']``: whether the returned scores come from scoring the kept student after training."""
    scored = [h for h in facts["dev_history"] if h.get("step") == facts["best_step"]]
    facts["dev_rescored"] = cfg.distill.interpolate < 1 or not scored
    if cfg.distill.interpolate < 1:
        interpolate(student, base.state, cfg.distill.interpolate)
        final_dev = suite.held_out(encoder(student, cfg.eval.batch_size), "dev", "eval dev, interpolated")
    elif scored:
        final_dev = prefixed("dev", {k: v for k, v in scored[-1].items() if k != "step"})
    else:
        final_dev = suite.held_out(encoder(student, cfg.eval.batch_size), "dev", "eval dev, best")
    if cfg.distill.keep_baseline_if_better and base.dev.get("dev/selection", -1) > final_dev.get("dev/selection", -1):
        log.warning("no checkpoint beat the untrained student on dev (%.4f > %.4f): keeping the untrained one",
                    base.dev["dev/selection"], final_dev["dev/selection"])
        student.load_state_dict(base.state)
        final_dev, facts["best_step"], facts["dev_rescored"] = base.dev, 0, False
    return final_dev


def interpolate(student, start: dict[str, torch.Tensor], weight: float) -> None:
    """``student``'s floating-point weights become ``weight`` x theirs + (1 - weight) x ``start``'s."""
    with torch.no_grad():
        for name, tensor in student.state_dict().items():
            if tensor.is_floating_point():
                tensor.mul_(weight).add_(start[name].to(tensor.device, tensor.dtype), alpha=1 - weight)


def final_scores(cfg: DictConfig, student, suite: EvalSuite, run: Prepared, base: Baselines,
                 final_dev: dict[str, float], facts: dict) -> dict[str, float]:
    """The baselines, the kept student's dev and (``eval.splits`` with test) test, UDHR and STS benchmark scores,
    the run's time and training facts."""
    metrics, encode = base.metrics | final_dev, encoder(student, cfg.eval.batch_size)
    # scored again without autocast, as the test split is, unless keep_best just did (or fp32: the same scores)
    if "dev" in cfg.eval.splits and cfg.hardware.precision != "fp32" and not facts.get("dev_rescored"):
        metrics |= suite.held_out(encode, "dev", "eval dev")
    if "test" in cfg.eval.splits:
        metrics |= suite.score(encode, "eval student", ["test"])
    metrics["time/total_s"] = time.perf_counter() - run.started
    metrics["train/best_step"] = float(facts["best_step"] or 0)
    metrics["train/split_steps"] = float(facts["split_steps"])  # steps run as micro-batches (max_batch_tokens)
    return metrics


def save_and_report(cfg: DictConfig, run: Prepared, student, metrics: dict[str, float], suite: EvalSuite,
                    facts: dict, tracker) -> None:
    """The model (``save_model``, ``tracking.log_model``), the results tables and charts, the dev history and the
    resolved and Hydra configs, each logged as an artifact."""
    # evaluation is over: the saved and logged student gets back the full vocabulary (a no-op when untrimmed)
    vocabulary.untrim_student(student)
    if cfg.save_model:
        student.save(str(run.dir / "model"))
    if tracker.enabled and cfg.tracking.log_model:
        registry.log_student(student)
    write_reports(metrics, suite, run.dir, tracker, Layout.distilled())
    (run.dir / "dev_history.json").write_text(json.dumps(facts["dev_history"], indent=1))
    tracker.log_artifact(run.dir / "dev_history.json")
    save_resolved_config(cfg, run.dir, tracker)
    tracker.log_artifacts(run.dir / ".hydra", "hydra")
