"""Declared hyper-parameter constraints: a detector states them once, the base checks them in `fit`.

A detector sets `parameter_constraints = {"epochs": Integer(1), "lr": Real(0, inclusive=False),
"mining": OneOf("mean", "hard"), ...}`; `check_parameters` raises one `ParameterError` (a
ValueError) per bad value, always worded "<detector>: <name> must be <what>, got <value>".
Checks that tie parameters to each other or to the data stay in the detector.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mmadbench.errors import ParameterError


class Constraint:
    """One parameter's allowed values: `accepts(value)` and a phrase for the error message."""

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _bounds(low: float | None, high: float | None, inclusive: bool, high_inclusive: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>=' if inclusive else '>'} {low}")
    if high is not None:
        parts.append(f"{'<=' if high_inclusive else '<'} {high}")
    return " and ".join(parts)


@dataclass(frozen=True)
class Integer(Constraint):
    """An integer (not a bool) within [low, high]."""

    low: int | None = None
    high: int | None = None

    def accepts(self, value: Any) -> bool:
        return _is_int(value) and (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self) -> str:
        bounds = _bounds(self.low, self.high, True, True)
        return f"an integer {bounds}".rstrip()


@dataclass(frozen=True)
class Real(Constraint):
    """A real number (integers too, not bools) within bounds; `inclusive` applies to `low`,
    `high_inclusive` to `high`."""

    low: float | None = None
    high: float | None = None
    inclusive: bool = True
    high_inclusive: bool = True

    def accepts(self, value: Any) -> bool:
        if not _is_real(value) or value != value:  # NaN is never allowed
            return False
        if self.low is not None and (value < self.low or (value == self.low and not self.inclusive)):
            return False
        return self.high is None or value < self.high or (value == self.high and self.high_inclusive)

    def describe(self) -> str:
        bounds = _bounds(self.low, self.high, self.inclusive, self.high_inclusive)
        return f"a number {bounds}".rstrip()


@dataclass(frozen=True)
class OneOf(Constraint):
    """One of a fixed set of values."""

    choices: tuple[Any, ...]

    def __init__(self, *choices: Any) -> None:
        object.__setattr__(self, "choices", tuple(choices))

    def accepts(self, value: Any) -> bool:
        return any(value == c and type(value) is type(c) for c in self.choices)

    def describe(self) -> str:
        return f"one of {self.choices}"


@dataclass(frozen=True)
class Boolean(Constraint):
    """True or False."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "True or False"


@dataclass(frozen=True)
class Optional(Constraint):
    """None, or a value the inner constraint accepts."""

    inner: Constraint

    def accepts(self, value: Any) -> bool:
        return value is None or self.inner.accepts(value)

    def describe(self) -> str:
        return f"None or {self.inner.describe()}"


@dataclass(frozen=True)
class IntTuple(Constraint):
    """A non-empty tuple of integers, each at least `low`."""

    low: int = 1

    def accepts(self, value: Any) -> bool:
        return isinstance(value, tuple) and bool(value) and all(_is_int(v) and v >= self.low for v in value)

    def describe(self) -> str:
        return f"a non-empty tuple of integers >= {self.low}"


@dataclass(frozen=True)
class Device(Constraint):
    """A torch device name: "auto", "cpu", "cuda" or "cuda:<index>"."""

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        head, _, index = value.partition(":")
        return value in ("auto", "cpu", "cuda") or (head == "cuda" and index.isdigit())

    def describe(self) -> str:
        return "'auto', 'cpu', 'cuda' or 'cuda:<index>'"


SEED = Optional(Integer(0))  # random_state: None or a non-negative integer


def check_parameters(owner: str, values: Mapping[str, Any], constraints: Mapping[str, Constraint]) -> None:
    """Raise ParameterError for the first value of `values` its constraint rejects."""
    for name, constraint in constraints.items():
        if name not in values:
            raise ParameterError(f"{owner}: a constraint names {name!r}, which is not a parameter")
        value = values[name]
        if not constraint.accepts(value):
            raise ParameterError(f"{owner}: {name} must be {constraint.describe()}, got {value!r}")


def require(ok: bool, owner: str, message: str) -> None:
    """A check between parameters, or between a parameter and the data, in the same wording."""
    if not ok:
        raise ParameterError(f"{owner}: {message}")
