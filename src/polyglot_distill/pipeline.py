"""One experiment, top to bottom: data → teacher → labels → student → baselines → distil → evaluate → log."""
from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from polyglot_distill.config import safety
from polyglot_distill.config.validation import preflight
from polyglot_distill.data.corpus import build_corpus, manifest_to_json
from polyglot_distill.errors import ConfigError
from polyglot_distill.evaluation import report, scoring, sts_benchmarks, tokenizer_report, zero_shot
from polyglot_distill.models import loading, vocabulary
from polyglot_distill.tracking import registry
from polyglot_distill.tracking.runs import tracked_run
from polyglot_distill.training import checkpoints, distill, distributed

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _prefixed(prefix: str, metrics: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}/{k}": v for k, v in metrics.items()}


def _student_encoder(cfg: DictConfig, model):
    """Evaluation embeddings of the student before training, in the precision it trains in: after a bf16 run the
    Trainer (accelerate) leaves the student's forward wrapped in bf16 autocast, so dev, test and UDHR scores of
    the trained student are bf16 ones; its baselines are scored the same way (and ~2x faster on CPU)."""
    bf16 = cfg.hardware.precision == "bf16"
    device = torch.device(cfg.hardware.device).type

    def encode(sentences: list[str]) -> np.ndarray:
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            return distill.encode(model, sentences, cfg.eval.batch_size)
    return encode


def _memo(encode):
    """``encode`` remembering every sentence's vector (the untrained student's: the lstsq baseline reuses them)."""
    seen: dict[str, np.ndarray] = {}

    def cached(sentences: list[str]) -> np.ndarray:
        new = sorted(set(sentences) - seen.keys())
        if new:
            seen.update(zip(new, encode(new)))
        return np.stack([seen[s] for s in sentences]) if sentences else encode(sentences)
    return cached


def _apply_head(head, encode):
    """The untrained student + its projection head, from the untrained vectors (no second encoder pass)."""
    def encode_with_head(sentences: list[str]) -> np.ndarray:
        with torch.inference_mode():
            x = torch.from_numpy(encode(sentences))
            return head({head.module_input_name: x})[head.module_output_name].float().numpy()
    return encode_with_head


def run(cfg: DictConfig, output_dir: str | Path, choices: dict[str, str] | None = None) -> float:
    """Run one experiment and return its dev selection score (higher is better)."""
    output_dir = Path(output_dir)
    preflight(cfg)
    resume_from = resume_run_id = None
    if cfg.resume:  # the run's own folder, its newest complete checkpoint and its MLflow run
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
    main = distributed.is_main()  # rank 0 (or the only process) loads the teacher, evaluates, logs and saves
    started = time.perf_counter()

    corpus = build_corpus(cfg.data, cfg.languages)  # raises ConfigError on bad languages/files
    langs = list(cfg.languages.targets)
    udhr_pairs = zero_shot.select(cfg.eval, cfg.cache_dir, langs)  # raises ConfigError before any model loads
    sts_tasks = sts_benchmarks.load_tasks(cfg.eval, langs)  # STS benchmarks (Hub or files): the same
    output_dir.mkdir(parents=True, exist_ok=True)
    if main:
        (output_dir / "data_manifest.json").write_text(manifest_to_json(corpus))
    if not cfg.resume and main:  # what resume= compares against
        (output_dir / checkpoints.CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg, resolve=True))

    with tracked_run(cfg, choices or {}, output_dir, resume_run_id) as tracker:
        tracker.log_artifact(output_dir / "data_manifest.json")
        tracker.log_metrics({f"data/{split}/{L}/pairs": len(p) for split, by in corpus.splits.items()
                             for L, p in by.items()} | {f"data/udhr/{L}/pairs": len(p) for L, p in udhr_pairs.items()})
        device = cfg.hardware.device
        teacher = loading.load_teacher(cfg.teacher, cfg.cache_dir, device) if main else None
        tracker.set_tags({"teacher.ends_in_normalize": str(main and loading.ends_in_normalize(teacher))})
        all_english = [en for by in corpus.splits.values() for p in by.values() for en, _ in p]
        t0 = time.perf_counter()
        # once per job: rank 0 encodes, the other ranks receive the vectors
        labels = distributed.broadcast(distill.TeacherLabels(
            teacher, all_english, cfg.teacher.batch_size, cfg.teacher_cache_dir if cfg.teacher.cache else None)
            if main else None)
        tracker.log_metrics({"time/teacher_encode_s": time.perf_counter() - t0}
                            | (labels.cache_stats.metrics() if labels.cache_stats else {}))

        train_pairs = [p for L in langs for p in corpus.splits["train"][L]]
        tiny_sentences = [s for pair in train_pairs for s in pair]
        student_cfg, tiny_dir = cfg.student, output_dir / "tiny-student-init"
        if cfg.student.model == "tiny" and not main:  # every rank must share rank 0's tokenizer: load its folder
            student_cfg = OmegaConf.merge(cfg.student, {"model": str(tiny_dir)})
        if not main:
            distributed.barrier()  # rank 0 loads (builds, downloads) the student first
        student = loading.load_student(student_cfg, cfg.cache_dir, device, tiny_sentences, tiny_dir=tiny_dir,
                                      vocab_sentences=vocabulary.run_text(corpus.splits, udhr_pairs)
                                      + sts_benchmarks.sentences(sts_tasks))
        if main:
            distributed.barrier()  # the other ranks may load it now
            tokenizer_report.preflight(teacher, student, corpus.splits["train"], cfg, output_dir, tracker)
        sets = {split: scoring.build_language_sets(corpus.splits[split], labels, cfg.eval.sts_pairs, cfg.seed)
                for split in ("dev", "test")}
        enc = lambda m: (lambda s: distill.encode(m, s, cfg.eval.batch_size))  # noqa: E731
        udhr_sets = zero_shot.build_sets(udhr_pairs, enc(teacher), cfg.eval.sts_pairs, cfg.seed) if main else []

        def score_test(encode, desc: str, teacher_side: bool = False) -> dict[str, float]:
            """The test split, then the UDHR languages (trained and unseen)."""
            fn = scoring.evaluate_teacher if teacher_side else scoring.evaluate
            return fn(encode, sets["test"], desc) | zero_shot.evaluate(encode, udhr_sets, langs, teacher_side,
                                                                       f"{desc}, UDHR") \
                | sts_benchmarks.evaluate(encode, sts_tasks, f"{desc}, STS benchmarks")

        metrics: dict[str, float] = {}
        if cfg.eval.baseline and main:
            metrics |= _prefixed("baseline/teacher", score_test(enc(teacher), "eval teacher", teacher_side=True))
        untrained = _memo(_student_encoder(cfg, student))  # the lstsq baseline reuses its vectors
        if cfg.eval.baseline and main:
            metrics |= _prefixed("baseline/student", score_test(untrained, "eval untrained"))
        student = _attach_projection(cfg, student, train_pairs, labels)
        if distill.projection_head(student) is not None and cfg.eval.baseline and main:
            head = _apply_head(distill.projection_head(student), untrained)
            metrics |= _prefixed("baseline/lstsq", score_test(head, "eval lstsq head"))
        initial_dev = scoring.evaluate(_student_encoder(cfg, student), sets["dev"], "eval dev, step 0") \
            if main else {}
        tracker.log_metrics(metrics)
        tracker.log_metrics(_prefixed("dev", initial_dev), step=0)
        initial_state = {k: v.detach().clone() for k, v in student.state_dict().items()} \
            if cfg.distill.keep_baseline_if_better else None

        facts = distill.distill(student, train_pairs, labels, sets["dev"], cfg, output_dir, tracker.log_metrics,
                                resume_from=resume_from)
        if not main:  # the other ranks' part ends with training
            return float("nan")
        final_dev = scoring.evaluate(enc(student), sets["dev"], "eval dev, best")
        if initial_state is not None and initial_dev.get("selection", -1) > final_dev.get("selection", -1):
            log.warning("no checkpoint beat the untrained student on dev (%.4f > %.4f): keeping the untrained one",
                        initial_dev["selection"], final_dev["selection"])
            student.load_state_dict(initial_state)
            final_dev, facts["best_step"] = initial_dev, 0
        # the kept student's dev scores, logged at the last step so that MLflow's latest dev/... value is the one
        # train.py returns (the Trainer's last evaluation need not be of the checkpoint it kept)
        tracker.log_metrics(_prefixed("dev", final_dev), step=int(facts["steps"]))
        metrics |= _prefixed("dev", final_dev)
        for split in cfg.eval.splits:
            if split == "test":
                metrics |= score_test(enc(student), "eval test")
            else:
                metrics |= _prefixed(split, scoring.evaluate(enc(student), sets[split], f"eval {split}"))
        metrics["time/total_s"] = time.perf_counter() - started
        metrics["train/best_step"] = float(facts["best_step"] or 0)
        metrics["train/split_steps"] = float(facts["split_steps"])  # steps run as micro-batches (max_batch_tokens)
        tracker.log_metrics({k: v for k, v in metrics.items() if not k.startswith("dev/")})  # dev/: logged above

        # evaluation is over: the saved and logged student gets back the full vocabulary (a no-op when untrimmed)
        vocabulary.untrim_student(student)
        if cfg.save_model:
            student.save(str(output_dir / "model"))
        if tracker.enabled and cfg.tracking.log_model:
            registry.log_student(student)
        rows = report.results_rows(metrics, langs)
        print("\n" + report.format_table(rows) + "\n")
        for path in report.write_results(rows, metrics, output_dir):
            tracker.log_artifact(path)
        tracker.log_artifact(report.plot_before_after(metrics, langs, output_dir / "before_after.png"))
        if udhr_sets:
            udhr_langs = [ls.lang for ls in udhr_sets]
            udhr_rows = report.results_rows(metrics, udhr_langs, "udhr/", ("mean_trained", "mean_unseen"))
            print("UDHR zero-shot (test):\n" + report.format_table(udhr_rows) + "\n")
            for path in report.write_results(udhr_rows, metrics, output_dir, "udhr_results"):
                tracker.log_artifact(path)
            tracker.log_artifact(report.plot_zero_shot(metrics, udhr_langs, langs, output_dir / "udhr_zero_shot.png"))
        for path in report.report_benchmarks(metrics, [t.name for t in sts_tasks], output_dir):
            tracker.log_artifact(path)
        (output_dir / "dev_history.json").write_text(json.dumps(facts["dev_history"], indent=1))
        tracker.log_artifact(output_dir / "dev_history.json")
        (output_dir / "config_resolved.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
        tracker.log_artifact(output_dir / "config_resolved.yaml")
        tracker.log_artifacts(output_dir / ".hydra", "hydra")
        log.info("results in %s%s", output_dir, f" (MLflow run {tracker.run_id})" if tracker.run_id else "")
        return float(final_dev.get("selection", 0.0))


def _attach_projection(cfg, student, train_pairs, labels):
    """Add the Dense head to the teacher's size when needed, initialised by least squares on English."""
    teacher_dim, student_dim = labels.dim, student.get_embedding_dimension()
    if not loading.needs_projection(cfg.student, student_dim, teacher_dim):
        return student
    weight = bias = None
    if cfg.student.projection_init == "lstsq":
        english = sorted({en for en, _ in train_pairs})
        rng = random.Random(cfg.seed)
        english = rng.sample(english, min(len(english), cfg.student.projection_fit_sentences))
        x = distill.encode(student, english, cfg.eval.batch_size, desc="least-squares head")
        w, b = distill.fit_lstsq(x, labels(english), ridge=cfg.student.projection_ridge)
        weight, bias = torch.from_numpy(w), torch.from_numpy(b)
    return loading.add_projection(student, teacher_dim, weight, bias)
