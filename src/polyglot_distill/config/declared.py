"""The constraints the schema declares, read back: as pydantic models (for :mod:`.validation`), as a list of
(key, rule, fix) for docs/errors.md and the tests, and as the fix a rejected field's message ends with."""
from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Annotated, Any, Literal, NamedTuple, Optional

import pydantic
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from polyglot_distill.config.constraints import Fix, OneOf, ZeroOrAtLeast, describe


class Constraint(NamedTuple):
    key: str          # "optimizer.lr"; an item of a list field ends in "[]"
    meta: Any         # Gt(0), OneOf(...), ZeroOrAtLeast(2) ...
    fix: str
    optional: bool    # null is allowed


def _split(hint) -> tuple[Any, tuple, bool]:
    """``Optional[Annotated[T, *meta]]`` -> (T, meta, optional)."""
    optional = False
    if typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional, hint = True, args[0]
    if typing.get_origin(hint) is Annotated:
        return typing.get_args(hint)[0], hint.__metadata__, optional
    return hint, (), optional


def _zero_or_at_least(minimum: int):
    def check(value: int) -> int:
        if value != 0 and value < minimum:
            raise PydanticCustomError("zero_or_at_least", "must be 0 (no cap) or >= {minimum}", {"minimum": minimum})
        return value
    return AfterValidator(check)


def _pydantic_type(hint):
    base, meta, optional = _split(hint)
    if dataclasses.is_dataclass(base):
        out = model(base)
    elif typing.get_origin(base) is list:
        out = list[_pydantic_type(typing.get_args(base)[0])]
    else:
        out, extra = base, []
        for item in meta:
            if isinstance(item, OneOf):
                out = Literal[item.choices]
            elif isinstance(item, ZeroOrAtLeast):
                extra.append(_zero_or_at_least(item.minimum))
            elif not isinstance(item, Fix):
                extra.append(item)
        if extra:
            out = Annotated[out, *extra]
    return Optional[out] if optional else out


@functools.cache
def model(schema: type) -> type[pydantic.BaseModel]:
    """A pydantic model of a schema dataclass: its fields' types with their declared constraints (unknown keys are
    :func:`.validation.check_known_keys`'s, which suggests the key meant)."""
    hints = typing.get_type_hints(schema, include_extras=True)
    fields = {f.name: (_pydantic_type(hints[f.name]), ...) for f in dataclasses.fields(schema)}
    return pydantic.create_model(f"{schema.__name__}Check", __config__=pydantic.ConfigDict(extra="ignore"), **fields)


def field_meta(schema: type, path: tuple) -> tuple:
    """The metadata declared on the field at ``path`` (names and list indices) of ``schema``; () if none."""
    meta: tuple = ()
    for part in path:
        if isinstance(part, int):
            continue
        if not dataclasses.is_dataclass(schema):
            return ()
        hint = typing.get_type_hints(schema, include_extras=True).get(part)
        if hint is None:
            return ()
        schema, meta, _ = _split(hint)
        if typing.get_origin(schema) is list:
            item, item_meta, _ = _split(typing.get_args(schema)[0])
            meta = meta + item_meta
    return meta


def constraints(schema: type, prefix: str) -> list[Constraint]:
    """Every declared rule of ``schema`` and its nested dataclasses, one per bound or choice."""
    out: list[Constraint] = []
    hints = typing.get_type_hints(schema, include_extras=True)
    for f in dataclasses.fields(schema):
        base, meta, optional = _split(hints[f.name])
        key = f"{prefix}.{f.name}"
        if dataclasses.is_dataclass(base):
            out += constraints(base, key)
            continue
        if typing.get_origin(base) is list:
            base, meta, _ = _split(typing.get_args(base)[0])
            key += "[]"
        fix = next((m.text for m in meta if isinstance(m, Fix)), "")
        out += [Constraint(key, m, fix, optional) for m in meta if describe(m) is not None]
    return out
