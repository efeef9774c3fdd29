"""The one validation pass over a composed config: checks that need no model and no data, run before anything loads.

:func:`validate` checks, in order: unknown keys (``+teacher.max_seq_lenght=3``: "Did you mean"), every constraint
declared on the schema's fields (:mod:`.constraints`, checked by pydantic over the resolved config), the cross-field
:data:`RULES`, then what needs the machine but no model: model specs, the tracking store, the teacher cache, CUDA.
A rejected value is one :class:`ConfigError`: ``<group>.<field>: <value> <rule>. <fix>``.
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Callable, NamedTuple

import pydantic
import torch
from omegaconf import DictConfig, OmegaConf

from polyglot_distill.config import declared, safety
from polyglot_distill.config.constraints import Fix, Ge, Gt, Le, Lt, OneOf, describe
from polyglot_distill.config.schema import GROUPS
from polyglot_distill.errors import ConfigError
from polyglot_distill.models import loading
from polyglot_distill.training import distributed, teacher_cache

# groups of a composed config that the pass checks; EvaluateConfig has no student, optimizer or distill
CHECKED = (*GROUPS, "distill")
# pydantic's error type -> the declared bound it reports
BOUNDS = {"greater_than": Gt, "greater_than_equal": Ge, "less_than": Lt, "less_than_equal": Le}


class Rule(NamedTuple):
    """A rule over several fields: ``check(cfg)`` returns the message, or None when the config obeys it."""
    key: str
    rule: str
    check: Callable[[DictConfig], str | None]


def _fp16(cfg) -> str | None:
    if cfg.hardware.precision == "fp16" and cfg.hardware.device != "cuda":
        return (f"hardware.precision: 'fp16' needs a CUDA GPU (hardware.device is '{cfg.hardware.device}'). "
                f"Use bf16 on CPU (hardware=cpu_bf16) or fp32.")
    return None


def _udhr_twice(cfg) -> str | None:
    if cfg.data.source == "udhr" and cfg.eval.udhr_languages:  # the same English paragraphs in every language
        return (f"eval.udhr_languages: {list(cfg.eval.udhr_languages)} scores the UDHR, but data=udhr trains on it "
                f"(the same English paragraphs for every language), so it would score training text. Set "
                f"eval.udhr_languages=[] with data=udhr.")
    return None


def _split_sum(cfg) -> str | None:
    dev, test = cfg.data.dev_fraction, cfg.data.test_fraction
    if dev + test >= 1:
        return (f"data.dev_fraction + data.test_fraction: {dev} + {test} leaves nothing to train on. Keep their sum "
                f"below 1, e.g. 0.1 and 0.1.")
    return None


def _sts_scale(cfg) -> str | None:
    local = cfg.eval.local_sts
    if local.enabled and not local.score_min < local.score_max:
        return (f"eval.local_sts: score_min {local.score_min:g} must be below score_max {local.score_max:g}. State "
                f"the scale of your files' scores, e.g. eval.local_sts.score_min=0 eval.local_sts.score_max=5.")
    return None


RULES = (
    Rule("hardware.precision", "'fp16' needs hardware.device=cuda", _fp16),
    Rule("eval.udhr_languages", "must be [] with data=udhr (it would score training text)", _udhr_twice),
    Rule("data.dev_fraction + data.test_fraction", "must be < 1 (a training split is left)", _split_sum),
    Rule("eval.local_sts.score_min", "must be below eval.local_sts.score_max", _sts_scale),
)


def check_known_keys(cfg: DictConfig) -> None:
    """``+teacher.max_seq_lenght=3`` adds a key that nothing reads: reject keys the schema does not have."""
    for group in GROUPS:
        if group not in cfg:
            continue
        schema = OmegaConf.get_type(cfg[group])
        known = {f.name for f in dataclasses.fields(schema)}
        for key in sorted(set(cfg[group].keys()) - known):
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"Did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"{group}.{key}: unknown key (a leading '+' adds keys that nothing reads). {hint}"
                              f"Known keys of {group}: {', '.join(sorted(known))}.")


def _message(group: str, schema: type, error: dict) -> str:
    path = error["loc"]
    key = group + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    meta = declared.field_meta(schema, path)
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "literal_error":
        choices = next((m.choices for m in meta if isinstance(m, OneOf)), ())
        rule = f"is not one of {', '.join(map(str, choices))}"
    elif kind in BOUNDS:  # the bound as declared (pydantic's ctx has it converted to the field's type: 0.0)
        rule = next((describe(m) for m in meta if isinstance(m, BOUNDS[kind])), f"must be {kind} {ctx}")
    else:
        rule = error["msg"]
    fix = next((m.text for m in meta if isinstance(m, Fix)), "")
    return f"{key}: {error['input']!r} {rule}." + (f" {fix}" if fix else "")


def check_declared(cfg: DictConfig) -> None:
    """Every constraint the schema declares on its fields, over the resolved values of each group."""
    for group in CHECKED:
        if group not in cfg:
            continue
        schema = OmegaConf.get_type(cfg[group])
        values = OmegaConf.to_container(cfg[group], resolve=True)
        try:
            declared.model(schema).model_validate(values)
        except pydantic.ValidationError as err:
            raise ConfigError(_message(group, schema, err.errors()[0])) from None


def check_values(cfg: DictConfig) -> None:
    """The checks of the values alone (train.py's and evaluate.py's configs): keys, declared constraints, RULES."""
    check_known_keys(cfg)
    check_declared(cfg)
    for rule in RULES:
        message = rule.check(cfg)
        if message:
            raise ConfigError(message)


def validate(cfg: DictConfig) -> None:
    """The validation pass: fails in milliseconds, not after loading a teacher."""
    check_values(cfg)
    loading.check_model_spec(cfg.teacher.model, "teacher.model", loading.BUNDLED_TEACHERS)
    loading.check_model_spec(cfg.student.model, "student.model", loading.BUNDLED_STUDENTS, allow_tiny=True)
    teacher_dim = loading.known_dimension(cfg.teacher.model)
    student_dim = cfg.student.get("tiny_hidden_size") if cfg.student.model == "tiny" \
        else loading.known_dimension(cfg.student.model)
    if teacher_dim and student_dim:
        loading.needs_projection(cfg.student, student_dim, teacher_dim)
    safety.check_targets(cfg)
    safety.check_tracking_store(cfg.tracking)
    distributed.check(cfg.hardware, cfg.optimizer.batch_size)
    if cfg.teacher.cache:
        teacher_cache.check_writable(cfg.teacher_cache_dir)
    if cfg.hardware.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("hardware.device: 'cuda' but torch sees no CUDA GPU here. Use hardware=cpu.")


# other modules still import the old name (pipeline.py, benchmarks): an alias until their branches are merged
