"""Score any model without training: the eval group of ``train.py`` on one model, logged as an MLflow run.

``python evaluate.py model=<e5-small | minilm-l6 | bundled:<name> | folder | Hub id> eval=...`` (the seed's
last section: how good are pretrained multilingual models as they are?). The model's metrics carry no prefix
(as a trained student's final scores do); with ``eval.baseline`` the teacher's ceiling is logged beside them as
``baseline/teacher/...``. The run is tagged ``run_type=evaluation`` and ``evaluated_model=<spec>``.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from polyglot_distill.config.validation import check_values
from polyglot_distill.data.corpus import build_corpus
from polyglot_distill.errors import ConfigError
from polyglot_distill.evaluation import report, scoring, sts_benchmarks, tokenizer_report, zero_shot
from polyglot_distill.models import loading
from polyglot_distill.tracking.runs import tracked_run
from polyglot_distill.training import distill

log = logging.getLogger(__name__)

BUNDLED = {**loading.BUNDLED_TEACHERS, **loading.BUNDLED_STUDENTS}


def model_spec(name: str) -> str:
    """``e5-small`` -> ``bundled:e5-small``; folders and Hub ids unchanged."""
    return f"bundled:{name}" if name in BUNDLED else name


def preflight(cfg: DictConfig) -> None:
    if OmegaConf.is_missing(cfg, "model"):
        raise ConfigError(f"model: not set. Name the model to score: model=e5-small or model=minilm-l6 (bundled: "
                          f"{', '.join(BUNDLED)}), a local folder, or a Hugging Face Hub id.")
    loading.check_model_spec(model_spec(cfg.model), "model", BUNDLED)
    loading.check_model_spec(cfg.teacher.model, "teacher.model", loading.BUNDLED_TEACHERS)
    check_values(cfg)


def run(cfg: DictConfig, output_dir: str | Path, choices: dict[str, str] | None = None) -> dict[str, float]:
    """Evaluate ``cfg.model``; returns its metrics (also printed, written under ``output_dir`` and logged)."""
    output_dir = Path(output_dir)
    preflight(cfg)
    loading.set_threads(cfg.hardware.threads)
    started = time.perf_counter()
    langs = list(cfg.languages.targets)
    corpus = build_corpus(cfg.data, cfg.languages) if cfg.eval.splits else None  # ConfigError before any model
    udhr_pairs = zero_shot.select(cfg.eval, cfg.cache_dir, langs)
    sts_tasks = sts_benchmarks.load_tasks(cfg.eval, langs)
    output_dir.mkdir(parents=True, exist_ok=True)
    if cfg.tracking.run_name is None:
        cfg.tracking.run_name = f"evaluate-{cfg.model}"

    with tracked_run(cfg, choices or {}, output_dir) as tracker:
        tracker.set_tags({"run_type": "evaluation", "evaluated_model": str(cfg.model)})
        tracker.log_metrics({f"data/udhr/{L}/pairs": len(p) for L, p in udhr_pairs.items()})
        device, batch = cfg.hardware.device, cfg.eval.batch_size
        teacher = loading.load_teacher(cfg.teacher, cfg.cache_dir, device)
        model = loading.load_sentence_transformer(model_spec(cfg.model), "model", cfg.cache_dir, BUNDLED, device,
                                                  trust_remote_code=False)
        model.max_seq_length = cfg.max_seq_length
        enc = lambda m: (lambda s: distill.encode(m, s, batch))  # noqa: E731
        teacher_enc = enc(teacher)
        held_out = {split: corpus.splits[split] for split in cfg.eval.splits} if corpus else {}
        if held_out:
            tokenizer_report.preflight(teacher, model, held_out[cfg.eval.splits[0]], cfg, output_dir, tracker)
        sets = {split: scoring.build_language_sets(pairs, teacher_enc, cfg.eval.sts_pairs, cfg.seed)
                for split, pairs in held_out.items()}
        udhr_sets = zero_shot.build_sets(udhr_pairs, teacher_enc, cfg.eval.sts_pairs, cfg.seed)

        def score(encode, desc: str, teacher_side: bool = False) -> dict[str, float]:
            fn = scoring.evaluate_teacher if teacher_side else scoring.evaluate
            out = {}
            for split, split_sets in sets.items():
                scores = fn(encode, split_sets, f"{desc}, {split}")
                out |= scores if split == "test" else {f"{split}/{k}": v for k, v in scores.items()}
            return out | zero_shot.evaluate(encode, udhr_sets, langs, teacher_side, f"{desc}, UDHR") \
                | sts_benchmarks.evaluate(encode, sts_tasks, f"{desc}, STS benchmarks")

        metrics = score(enc(model), f"eval {cfg.model}")
        if cfg.eval.baseline:
            metrics |= {f"baseline/teacher/{k}": v for k, v in score(teacher_enc, "eval teacher", True).items()}
        metrics["time/total_s"] = time.perf_counter() - started
        tracker.log_metrics(metrics)
        _write_reports(metrics, langs, udhr_sets, sts_tasks, output_dir, tracker, str(cfg.model))
        (output_dir / "config_resolved.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
        tracker.log_artifact(output_dir / "config_resolved.yaml")
        log.info("results in %s%s", output_dir, f" (MLflow run {tracker.run_id})" if tracker.run_id else "")
        return metrics


def _write_reports(metrics, langs, udhr_sets, sts_tasks, output_dir: Path, tracker, name: str) -> None:
    labels = {"final": name, "baseline/teacher": "teacher"}
    rows = report.results_rows(metrics, langs)
    if rows:
        print("\nHeld-out test pairs:\n" + report.format_table(rows, labels) + "\n")
        for path in report.write_results(rows, metrics, output_dir):
            tracker.log_artifact(path)
    if udhr_sets:
        udhr_langs = [ls.lang for ls in udhr_sets]
        udhr_rows = report.results_rows(metrics, udhr_langs, "udhr/", ("mean_trained", "mean_unseen"))
        print(f"UDHR zero-shot, {len(udhr_langs)} languages:\n" + report.format_table(udhr_rows, labels) + "\n")
        for path in report.write_results(udhr_rows, metrics, output_dir, "udhr_results"):
            tracker.log_artifact(path)
        # the model's own en <-> xx retrieval: a pretrained model does not live in the teacher's space
        tracker.log_artifact(report.plot_zero_shot(metrics, udhr_langs, langs, output_dir / "udhr_zero_shot.png",
                                                   family="retrieval"))
    for path in report.report_benchmarks(metrics, [t.name for t in sts_tasks], output_dir, labels):
        tracker.log_artifact(path)
