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
from polyglot_distill.errors import ConfigError
from polyglot_distill.evaluation import suite, tokenizer_report
from polyglot_distill.models import loading
from polyglot_distill.stages import read_data
from polyglot_distill.tracking.runs import tracked_run

log = logging.getLogger(__name__)

BUNDLED = {**loading.BUNDLED_TEACHERS, **loading.BUNDLED_STUDENTS}


def model_spec(name: str) -> str:
    """``e5-small`` -> ``bundled:e5-small``; folders and Hub ids unchanged."""
    return f"bundled:{name}" if name in BUNDLED else name


def check_config(cfg: DictConfig) -> None:
    if OmegaConf.is_missing(cfg, "model"):
        raise ConfigError(f"model: not set. Name the model to score: model=e5-small or model=minilm-l6 (bundled: "
                          f"{', '.join(BUNDLED)}), a local folder, or a Hugging Face Hub id.")
    loading.check_model_spec(model_spec(cfg.model), "model", BUNDLED)
    loading.check_model_spec(cfg.teacher.model, "teacher.model", loading.BUNDLED_TEACHERS)
    check_values(cfg)


def run(cfg: DictConfig, output_dir: str | Path, choices: dict[str, str] | None = None) -> dict[str, float]:
    """Evaluate ``cfg.model``; returns its metrics (also printed, written under ``output_dir`` and logged)."""
    output_dir = Path(output_dir)
    check_config(cfg)
    loading.set_threads(cfg.hardware.threads)
    started = time.perf_counter()
    data = read_data(cfg, with_corpus=bool(cfg.eval.splits))  # ConfigError before any model loads
    output_dir.mkdir(parents=True, exist_ok=True)
    if cfg.tracking.run_name is None:
        cfg.tracking.run_name = f"evaluate-{cfg.model}"

    with tracked_run(cfg, choices or {}, output_dir) as tracker:
        tracker.set_tags({"run_type": "evaluation", "evaluated_model": str(cfg.model)})
        tracker.log_metrics({k: v for k, v in data.pair_counts().items() if k.startswith("data/udhr/")})
        device, batch = cfg.hardware.device, cfg.eval.batch_size
        teacher = loading.load_teacher(cfg.teacher, cfg.cache_dir, device)
        model = loading.load_sentence_transformer(model_spec(cfg.model), "model", cfg.cache_dir, BUNDLED, device,
                                                  trust_remote_code=False)
        model.max_seq_length = cfg.max_seq_length
        teacher_enc = suite.encoder(teacher, batch)
        held_out = {split: data.corpus.splits[split] for split in cfg.eval.splits} if data.corpus else {}
        if held_out:
            tokenizer_report.write_report(teacher, model, held_out[cfg.eval.splits[0]], cfg, output_dir, tracker)
        sets = suite.build_suite(held_out, teacher_enc, data.udhr_pairs, teacher_enc, data.sts_tasks, data.langs,
                                 cfg.eval, cfg.seed)
        metrics = sets.score(suite.encoder(model, batch), f"eval {cfg.model}", held_out)
        if cfg.eval.baseline:
            metrics |= suite.prefixed("baseline/teacher", sets.score(teacher_enc, "eval teacher", held_out, True))
        metrics["time/total_s"] = time.perf_counter() - started
        tracker.log_metrics(metrics)
        suite.write_reports(metrics, sets, output_dir, tracker, suite.Layout.evaluated(str(cfg.model)))
        suite.save_resolved_config(cfg, output_dir, tracker)
        log.info("results in %s%s", output_dir, f" (MLflow run {tracker.run_id})" if tracker.run_id else "")
        return metrics
