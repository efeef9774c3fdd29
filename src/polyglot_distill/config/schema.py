"""Typed schema of every config group, registered in Hydra's ConfigStore: the one source of defaults and types.

``conf/config.yaml`` starts its defaults list with ``config_schema``; every group's YAML then merges into a
typed node, so a misspelled key or a value of the wrong type fails when Hydra composes the config, before
anything loads. The defaults are the default experiment's (teacher=minilm-l6, student=e5-small, data=catalogs
(the gettext schema with pinned catalogs), languages=seed5, optimizer=adamw, hardware=cpu, eval=offline,
tracking=mlflow); a group's YAML states only what its option changes. Data sources and the tiny student have their own schema, which their YAML names in its
defaults list (``data/gettext_schema`` ...). Each field's constraints (range, choices, fix) are declared on it
(:mod:`.constraints`) and checked by :func:`polyglot_distill.config.validation.validate`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from polyglot_distill.config.schema_data import (
    DATA_SCHEMAS,
    DataConfig,
    GettextDataConfig,
    HubDataConfig,
    LanguagesConfig,
    TsvDataConfig,
    UdhrDataConfig,
)
from polyglot_distill.config.schema_eval import EvalConfig, LocalStsConfig, Sts17Config, StsbMultiConfig, TrackingConfig
from polyglot_distill.config.schema_models import StudentConfig, TeacherConfig, TinyStudentConfig
from polyglot_distill.config.schema_training import DistillConfig, HardwareConfig, OptimizerConfig

__all__ = ["Config", "DataConfig", "DistillConfig", "EvalConfig", "EvaluateConfig", "GettextDataConfig", "GROUPS",
           "HardwareConfig", "HubDataConfig", "LanguagesConfig", "LocalStsConfig", "OPTION_SCHEMAS",
           "OptimizerConfig", "Sts17Config", "StsbMultiConfig", "StudentConfig", "TeacherConfig",
           "TinyStudentConfig", "TrackingConfig", "TsvDataConfig", "UdhrDataConfig", "register_configs",
           "saved_group_schema"]

_CACHE = "${oc.env:POLYGLOT_DISTILL_CACHE,.cache/polyglot-distill}"


@dataclass
class Config:
    teacher: TeacherConfig = MISSING
    student: StudentConfig = MISSING
    data: DataConfig = MISSING
    languages: LanguagesConfig = MISSING
    optimizer: OptimizerConfig = MISSING
    hardware: HardwareConfig = MISSING
    eval: EvalConfig = MISSING
    tracking: TrackingConfig = MISSING
    distill: DistillConfig = field(default_factory=DistillConfig)
    output_dir: Optional[str] = None
    # continue a killed run: null (a fresh run), "last", or the run's output folder (docs/reliability.md)
    resume: Optional[str] = None
    # Converted models, tokenizers and other derived assets are cached here (git-ignored).
    cache_dir: str = _CACHE
    # Teacher embeddings reused by later runs and sweep jobs (teacher.cache=false turns it off; docs/performance.md).
    teacher_cache_dir: str = "${cache_dir}/teacher-embeddings"
    # Keep the best student under <run output dir>/model (set false for throwaway sweeps).
    save_model: bool = True
    # Seeds Python, NumPy and torch for the whole run, the Trainer's data order and the sampling of STS pairs.
    seed: int = 42


@dataclass
class EvaluateConfig:
    """``evaluate.py`` (conf/evaluate.yaml): score one model with the eval group, no training."""
    # a bundled name (e5-small, minilm-l6, mpnet-base, or bundled:<name>), a local folder or a Hub model id
    model: str = MISSING
    # Longer inputs are truncated; 128 as the trained students use.
    max_seq_length: int = 128
    teacher: TeacherConfig = MISSING
    data: DataConfig = MISSING
    languages: LanguagesConfig = MISSING
    hardware: HardwareConfig = MISSING
    eval: EvalConfig = MISSING
    tracking: TrackingConfig = MISSING
    output_dir: Optional[str] = None
    # Converted models and the UDHR are cached here (git-ignored).
    cache_dir: str = _CACHE
    # Seeds the sampling of teacher-referenced STS pairs.
    seed: int = 42


# each group's schema; an option may name a subclass in its defaults list (OPTION_SCHEMAS)
GROUPS = {
    "teacher": TeacherConfig,
    "student": StudentConfig,
    "data": DataConfig,
    "languages": LanguagesConfig,
    "optimizer": OptimizerConfig,
    "hardware": HardwareConfig,
    "eval": EvalConfig,
    "tracking": TrackingConfig,
}
# ConfigStore entries that a group option lists first in its defaults: conf/data/ted.yaml -> data/hub_schema
OPTION_SCHEMAS = {("data", f"{name}_schema"): node for name, node in DATA_SCHEMAS.items()}
OPTION_SCHEMAS[("student", "tiny_schema")] = TinyStudentConfig


def saved_group_schema(group: str, node) -> type:
    """The schema a saved (resolved) group node was composed with: the tiny student's, a data source's."""
    if group == "student":
        return TinyStudentConfig if node.get("model") == "tiny" else StudentConfig
    if group == "data":
        source = node.get("source")
        return DATA_SCHEMAS["hub" if source in ("ted", "parallel_sentences") else source]
    return GROUPS[group]


def register_configs() -> None:
    """Register the schema; ``conf/config.yaml`` lists ``config_schema`` first in its defaults."""
    store = ConfigStore.instance()
    store.store(name="config_schema", node=Config)
    store.store(name="evaluate_schema", node=EvaluateConfig)
    for (group, name), node in OPTION_SCHEMAS.items():
        store.store(group=group, name=name, node=node)
