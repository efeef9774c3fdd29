"""Constraints declared on the schema's fields, read by the one validation pass (:mod:`.validation`).

A field states its rule and its fix next to its default, in the same ``Annotated`` type Hydra reads::

    lr: Annotated[float, Gt(0), Fix("the default is 2e-4, the seed's 2e-5")] = 2.0e-4

OmegaConf sees ``float`` (``typing.get_type_hints`` drops ``Annotated``'s metadata); :mod:`.validation` turns the
metadata into a pydantic model and maps its errors to ``<field>: <value> <rule>. <fix>``. ``Gt``/``Ge``/``Lt``/``Le``
are ``annotated_types``' (pydantic reads them natively); :class:`OneOf` and :class:`ZeroOrAtLeast` are ours, as
OmegaConf 2.3 rejects ``Literal`` annotations.
"""
from __future__ import annotations

from dataclasses import dataclass

from annotated_types import Ge, Gt, Le, Lt

__all__ = ["Fix", "Ge", "Gt", "Le", "Lt", "OneOf", "ZeroOrAtLeast", "describe", "FRACTION", "POSITIVE"]


@dataclass(frozen=True)
class Fix:
    """How to correct a rejected value: the end of the message (and of its row in docs/errors.md)."""
    text: str


@dataclass(frozen=True)
class OneOf:
    """The value is one of ``choices`` (a ``Literal`` for pydantic)."""
    choices: tuple

    def __init__(self, *choices) -> None:
        object.__setattr__(self, "choices", tuple(choices))


@dataclass(frozen=True)
class ZeroOrAtLeast:
    """A cap: 0 (no cap) or at least ``minimum`` (a cap of 1 leaves a single pair, which retrieval cannot rank)."""
    minimum: int


POSITIVE = Gt(0)
# "a fraction in [0, 1]" is two bounds
FRACTION = (Ge(0), Le(1))


def describe(meta) -> str | None:
    """The rule a metadata item states, as the messages and docs/errors.md word it; None for :class:`Fix`."""
    if isinstance(meta, Gt):
        return f"must be > {meta.gt}"
    if isinstance(meta, Ge):
        return f"must be >= {meta.ge}"
    if isinstance(meta, Lt):
        return f"must be < {meta.lt}"
    if isinstance(meta, Le):
        return f"must be <= {meta.le}"
    if isinstance(meta, OneOf):
        return f"is not one of {', '.join(map(str, meta.choices))}"
    if isinstance(meta, ZeroOrAtLeast):
        return f"must be 0 (no cap) or >= {meta.minimum}"
    return None
