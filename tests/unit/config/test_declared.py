"""The schema is the one source of defaults and constraints: the YAMLs only change it, every declared constraint
rejects a value just outside it (with a message naming the key), and docs/errors.md lists them all."""
from __future__ import annotations

import dataclasses
import re
import typing

import pytest
from annotated_types import Ge, Gt, Le, Lt
from helpers.paths import CONF, REPO
from omegaconf import OmegaConf

from polyglot_distill.config import declared, reference, schema, validation
from polyglot_distill.config.constraints import OneOf, ZeroOrAtLeast
from polyglot_distill.errors import ConfigError

# the overrides that compose a config typed by each schema (a data source or student's own, or the group's)
COMPOSED_BY = {
    schema.GettextDataConfig: ["data=gettext"],
    schema.TsvDataConfig: ["data=tsv", 'data.tsv_pattern="/data/en-{lang}.tsv"'],
    schema.HubDataConfig: ["data=ted"],
    schema.UdhrDataConfig: ["data=udhr", "eval.udhr_languages=[]"],
    schema.TinyStudentConfig: ["student=tiny"],
}
OPTION_FILES = [(group, path) for group in schema.GROUPS for path in sorted((CONF / group).glob("*.yaml"))]


def _option_node(group: str, path):
    """The group's values an option file sets, and the schema they merge into."""
    node = OmegaConf.to_container(OmegaConf.load(path))
    if path.read_text().startswith("# @package _global_"):
        node = node[group]
    node_schema = schema.GROUPS[group]
    for entry in node.pop("defaults", []):
        if entry != "_self_":
            node_schema = schema.OPTION_SCHEMAS[(group, entry)]
    return node, node_schema


def _leaves(node: dict, prefix=()):
    for key, value in node.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def _has_reason(lines: list[str], key_path: tuple, identity: set[str]) -> bool:
    """The key's line has a comment, or so has the block of consecutive keys it is in (a comment line above);
    a block does not reach over an identity key (name, model...): the file's header is not a reason."""
    indent = "  " * (len(key_path) - 1) + ("  " if lines and lines[0].startswith("# @package _global_") else "")
    pattern = re.compile(rf"^{re.escape(indent)}{re.escape(key_path[-1])}:")
    for i, line in enumerate(lines):
        if pattern.match(line):
            if " # " in line:
                return True
            j = i - 1
            while j >= 0 and lines[j].strip() and not lines[j].lstrip().startswith("#"):
                if lines[j].split(":")[0].strip() in identity:
                    return False
                j -= 1  # a key of the same block
            return j >= 0 and lines[j].lstrip().startswith("#")
    return False


@pytest.mark.parametrize(("group", "path"), OPTION_FILES, ids=[f"{g}={p.stem}" for g, p in OPTION_FILES])
def test_an_option_file_states_only_what_it_changes_with_a_reason(group, path):
    node, node_schema = _option_node(group, path)
    defaults = OmegaConf.to_container(OmegaConf.structured(node_schema))
    lines = path.read_text().splitlines()
    identity = {key for key, value in defaults.items() if value == "???"}
    for key_path, value in _leaves(node):
        default = defaults
        for part in key_path:
            default = default[part]
        where = f"{path.relative_to(REPO)}: {'.'.join(key_path)}"
        assert value != default, f"{where}: {value!r} repeats the schema's default"
        if default != "???":  # a mandatory value (name, model, source...) is the option's identity, not a change
            assert _has_reason(lines, key_path, identity), f"{where}: {value!r} changes the default {default!r} without a reason"


def _outside(meta, base: type):
    """A value just outside the rule ``meta`` declares."""
    step = 1 if base is int else 0.5
    if isinstance(meta, Gt):
        return meta.gt
    if isinstance(meta, Ge):
        return meta.ge - step
    if isinstance(meta, Lt):
        return meta.lt
    if isinstance(meta, Le):
        return meta.le + step
    if isinstance(meta, OneOf):
        return "not-a-choice"
    if isinstance(meta, ZeroOrAtLeast):
        return meta.minimum - 1
    raise AssertionError(f"no value outside {meta!r}: teach this test the new kind of constraint")


def _own_constraints():
    """(schema, constraint) for every declared rule; a subclass schema contributes only the fields it declares."""
    out = []
    for group, node, _ in reference.schemas():
        own = set(vars(node).get("__annotations__", {}))
        for c in declared.constraints(node, group):
            if node in COMPOSED_BY and c.key.split(".")[1].rstrip("[]") not in own:
                continue
            out.append((node, c))
    return out


CONSTRAINTS = _own_constraints()


@pytest.mark.parametrize(("node", "constraint"), CONSTRAINTS,
                         ids=[f"{n.__name__}:{c.key}:{type(c.meta).__name__}" for n, c in CONSTRAINTS])
def test_every_declared_constraint_rejects_a_value_just_outside_it(compose, node, constraint):
    field_path = constraint.key.split(".")[1:]
    leaf_schema = node
    for part in field_path[:-1]:
        leaf_schema = {f.name: f for f in dataclasses.fields(leaf_schema)}[part].default_factory
    leaf_type = typing.get_type_hints(leaf_schema)[field_path[-1].rstrip("[]")]
    base = int if leaf_type in (int, typing.Optional[int]) else float
    value = _outside(constraint.meta, base)
    if constraint.key.endswith("[]"):
        override, shown = f"{constraint.key[:-2]}=[{value}]", constraint.key[:-2] + "[0]"
    else:
        override, shown = f"{constraint.key}={value}", constraint.key
    cfg = compose([*COMPOSED_BY.get(node, []), override])
    with pytest.raises(ConfigError, match=rf"^{re.escape(shown)}: "):
        validation.validate(cfg)


# What a user may type that is out of range: each is rejected before anything loads (the message is the CLI's,
# exit 2: tests/e2e/test_bad_input.py runs two of them through train.py)
USER_VALUES = [
    ("optimizer.lr=0", "optimizer.lr: 0.0 must be > 0. Use a positive learning rate"),
    ("optimizer.batch_size=0", "optimizer.batch_size: 0 must be > 0."),
    ("optimizer.epochs=0", "optimizer.epochs: 0.0 must be > 0."),
    ("optimizer.warmup_ratio=1.5", "optimizer.warmup_ratio: 1.5 must be <= 1."),
    ("data.max_train_pairs=-5", "data.max_train_pairs: -5 must be >= 0. Use 0 for no cap"),
    ("data.dev_fraction=1.2", "data.dev_fraction: 1.2 must be < 1."),
    ("eval.sts_pairs=0", "eval.sts_pairs: 0 must be > 0."),
    ("hardware.threads=0", "hardware.threads: 0 must be > 0. Use a positive thread count, or null"),
    ("teacher.batch_size=0", "teacher.batch_size: 0 must be > 0."),
    ("student.max_seq_length=0", "student.max_seq_length: 0 must be > 0."),
    ("distill.dropout=1.5", "distill.dropout: 1.5 must be <= 1."),
    ("eval.udhr_min_pairs=-1", "eval.udhr_min_pairs: -1 must be >= 2."),
    ("eval.splits=[dev,tset]", "eval.splits[1]: 'tset' is not one of dev, test."),
    ("data.test_fraction=0", "data.test_fraction: 0.0 must be > 0."),
]


@pytest.mark.parametrize(("override", "message"), USER_VALUES, ids=[o for o, _ in USER_VALUES])
def test_out_of_range_values_a_user_may_type_are_rejected(compose, override, message):
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        validation.validate(compose([override]))


CROSS_FIELD = {  # rule key -> (overrides that break it, the message's start)
    "hardware.precision": (["hardware.precision=fp16"], "hardware.precision: 'fp16' needs a CUDA GPU"),
    "eval.udhr_languages": (["data=udhr"], "eval.udhr_languages: ['trained'"),
    "data.dev_fraction + data.test_fraction": (["data.dev_fraction=0.5", "data.test_fraction=0.5"],
                                               "data.dev_fraction + data.test_fraction: 0.5 + 0.5"),
    "eval.local_sts.score_min": (["eval=[offline,local_sts]", "eval.local_sts.score_min=5"],
                                 "eval.local_sts: score_min 5 must be below score_max 5."),
}


def test_every_cross_field_rule_has_a_case():
    assert {rule.key for rule in validation.RULES} == set(CROSS_FIELD)


@pytest.mark.parametrize("key", list(CROSS_FIELD))
def test_cross_field_rules(compose, key):
    overrides, message = CROSS_FIELD[key]
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        validation.validate(compose(overrides))


@pytest.mark.parametrize("overrides", [[], *COMPOSED_BY.values()], ids=["default", *(n.__name__ for n in COMPOSED_BY)])
def test_the_defaults_pass(compose, overrides):
    validation.check_values(compose(overrides))


def test_docs_errors_table_is_generated_from_the_declarations():
    text = (REPO / "docs" / "errors.md").read_text()
    assert reference.table() in text, "run: python -m polyglot_distill.config.reference"
    for _, c in CONSTRAINTS:
        assert f"| `{c.key}`" in text
