"""Every YAML option of every config group composes into the typed schema; typos fail at compose time."""
from __future__ import annotations

import dataclasses
import types
import typing

import pytest
from helpers.paths import CONF
from omegaconf import OmegaConf

from polyglot_distill.config import schema as schema

# conf/hydra/ holds options of Hydra's own groups (hydra/launcher=slurm...): tests/e2e/test_submitit.py composes them
GROUP_DIRS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "hydra")
OPTIONS = [(group, path.stem) for group in GROUP_DIRS for path in sorted((CONF / group).glob("*.yaml"))]
# a mandatory value (???) an option leaves to the command line, and what a user would give (quoted: a bare
# "{" is dictionary syntax in Hydra's override grammar)
MANDATORY = {("data", "tsv"): ['data.tsv_pattern="/data/ted-train-en-{lang}.tsv.gz"']}


def _check_type(value, hint, where: str) -> None:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None:
            assert type(None) in args, f"{where}: None for {hint}"
            return
        (hint,) = [a for a in args if a is not type(None)]
        origin = typing.get_origin(hint)
    if origin is list:
        assert isinstance(value, list), f"{where}: {value!r} is not a list"
        (item,) = typing.get_args(hint)
        for k, v in enumerate(value):
            _check_type(v, item, f"{where}[{k}]")
        return
    if origin is dict:
        assert isinstance(value, dict), f"{where}: {value!r} is not a dict"
        key_type, item = typing.get_args(hint)
        for k, v in value.items():
            _check_type(k, key_type, f"{where} key")
            _check_type(v, item, f"{where}[{k!r}]")
        return
    if hint is float:
        assert isinstance(value, float), f"{where}: {value!r} is not a float"
    elif hint is int:
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r} is not an int"
    else:
        assert isinstance(value, hint), f"{where}: {value!r} is not a {hint.__name__}"


def _check_dataclass(obj, where: str) -> None:
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            assert isinstance(value, hints[f.name]), f"{where}.{f.name}"
            _check_dataclass(value, f"{where}.{f.name}")
        else:
            _check_type(value, hints[f.name], f"{where}.{f.name}" if where else f.name)


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_composes_into_the_typed_schema(compose, group, option):
    cfg = compose([f"{group}={option}", *MANDATORY.get((group, option), [])])
    for name, node_type in schema.GROUPS.items():
        # a data source or the tiny student names its own schema, a subclass of the group's
        assert issubclass(OmegaConf.get_type(cfg[name]), node_type), f"{name} is not typed by {node_type.__name__}"
    if group in schema.GROUPS:
        # the file's keys are all schema fields (else compose would have failed), and its name is its option
        path = CONF / group / f"{option}.yaml"
        node = OmegaConf.load(path)
        if path.read_text().startswith("# @package _global_"):  # hardware=ddp*: the group's node and hydra.run.dir
            assert set(node) <= {group, "hydra"}, f"{path} sets more than {group} and hydra"
            node = node[group]
        keys = set(node)
        keys.discard("defaults")  # the option's own schema (data/gettext_schema ...)
        assert keys <= {f.name for f in dataclasses.fields(OmegaConf.get_type(cfg[group]))}
        assert cfg[group].name == option, f"conf/{group}/{option}.yaml says name: {cfg[group].name}"
    obj = OmegaConf.to_object(cfg)  # resolves interpolations, fails on any ??? left
    assert isinstance(obj, schema.Config)
    _check_dataclass(obj, "")


def test_every_group_with_options_has_a_schema():
    assert set(GROUP_DIRS) - {"experiment", "hparams_search"} == set(schema.GROUPS)  # both @package _global_


@pytest.mark.parametrize(
    ("override", "phrases"),
    [
        ("teacher.max_seq_lenght=3", ["teacher.max_seq_lenght", "Key 'max_seq_lenght' not in 'TeacherConfig'"]),
        ("optimizer.lr=abc", ["optimizer.lr", "Value 'abc'", "could not be converted to Float"]),
        ("student=nope", ["Could not find 'student/nope'", "Available options in 'student'",
                          *sorted(p.stem for p in (CONF / "student").glob("*.yaml"))]),
    ],
    ids=["misspelled-key", "wrong-type", "unknown-option"],
)
def test_bad_override_fails_at_compose_time_naming_the_key(compose, override, phrases):
    with pytest.raises(Exception) as err:
        compose([override])
    chain, exc = [], err.value
    while exc is not None:
        chain.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    message = "\n".join(chain)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in:\n{message}"


def test_experiment_values_override_the_primary_config(compose):
    cfg = compose(["experiment=smoke"])
    assert cfg.student.name == "tiny" and list(cfg.languages.targets) == ["de", "fr"]  # group values do apply
    assert cfg.save_model is False
