"""Checks of a composed config that need no model and no data: they fail in milliseconds, before anything loads."""
from __future__ import annotations

import dataclasses
import difflib

import torch
from omegaconf import DictConfig

from polyglot_distill.config import safety
from polyglot_distill.config.schema import GROUPS
from polyglot_distill.errors import ConfigError, check_choice
from polyglot_distill.models import loading
from polyglot_distill.training import distributed, teacher_cache


def check_known_keys(cfg: DictConfig) -> None:
    """``+teacher.max_seq_lenght=3`` adds a key that nothing reads: reject keys the schema does not have."""
    for group, schema in GROUPS.items():
        known = {f.name for f in dataclasses.fields(schema)}
        for key in sorted(set(cfg[group].keys()) - known):
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"Did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"{group}.{key}: unknown key (a leading '+' adds keys that nothing reads). {hint}"
                              f"Known keys of {group}: {', '.join(sorted(known))}.")


def preflight(cfg: DictConfig) -> None:
    """Checks that need no model and no data: fail in milliseconds, not after loading a teacher."""
    check_known_keys(cfg)
    check_choice("teacher.normalize", cfg.teacher.normalize, loading.NORMALIZE)
    check_choice("student.pooling", cfg.student.pooling, loading.POOLING)
    check_choice("student.projection", cfg.student.projection, loading.PROJECTION)
    check_choice("student.projection_init", cfg.student.projection_init, loading.PROJECTION_INIT)
    loading.check_model_spec(cfg.teacher.model, "teacher.model", loading.BUNDLED_TEACHERS)
    loading.check_model_spec(cfg.student.model, "student.model", loading.BUNDLED_STUDENTS, allow_tiny=True)
    teacher_dim = loading.known_dimension(cfg.teacher.model)
    student_dim = cfg.student.tiny_hidden_size if cfg.student.model == "tiny" \
        else loading.known_dimension(cfg.student.model)
    if teacher_dim and student_dim:
        loading.needs_projection(cfg.student, student_dim, teacher_dim)
    for name in ("max_dev_pairs", "max_test_pairs"):
        cap = cfg.data[name]
        if 0 < cap < 2:
            raise ConfigError(f"data.{name}: {cap} leaves a single pair; retrieval and STS need at least 2. "
                              f"Use a cap of 2 or more, or 0 for no cap.")
    if cfg.data.source == "udhr" and cfg.eval.udhr_languages:  # the same English paragraphs in every language
        raise ConfigError(f"eval.udhr_languages: {list(cfg.eval.udhr_languages)} scores the UDHR, but data=udhr trains "
                          f"on it (the same English paragraphs for every language), so it would score training "
                          f"text. Set eval.udhr_languages=[] with data=udhr.")
    if cfg.optimizer.lr <= 0:
        raise ConfigError(f"optimizer.lr: {cfg.optimizer.lr} must be > 0 (the seed uses 2e-5).")
    if cfg.distill.checkpoint_steps < 0:
        raise ConfigError(f"distill.checkpoint_steps: {cfg.distill.checkpoint_steps} must be >= 0 (0: a checkpoint "
                          f"at each dev evaluation only; the default is 100).")
    safety.check_targets(cfg)
    safety.check_tracking_store(cfg.tracking)
    if cfg.optimizer.batch_size <= 0:
        raise ConfigError(f"optimizer.batch_size: {cfg.optimizer.batch_size} must be > 0 (the seed uses 32).")
    check_choice("hardware.precision", cfg.hardware.precision, ("fp32", "bf16", "fp16"))
    if cfg.hardware.precision == "fp16" and cfg.hardware.device != "cuda":
        raise ConfigError(f"hardware.precision: 'fp16' needs a CUDA GPU (hardware.device is "
                          f"'{cfg.hardware.device}'). Use bf16 on CPU (hardware=cpu_bf16) or fp32.")
    distributed.check(cfg.hardware, cfg.optimizer.batch_size)
    if cfg.teacher.cache:
        teacher_cache.check_writable(cfg.teacher_cache_dir)
    if cfg.hardware.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("hardware.device: 'cuda' but torch sees no CUDA GPU here. Use hardware=cpu.")
    unknown = set(cfg.eval.splits) - {"dev", "test"}
    if unknown:
        raise ConfigError(f"eval.splits: {sorted(unknown)} are not splits; choose from dev, test.")
