"""Pure helpers: percentiles and the result figures (value, target, pass, unit)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Figure", "at_least", "at_most", "info", "percentile"]

Op = Literal[">=", "<="]


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) by linear interpolation between closest ranks, as numpy's
    default does. Raises ``ValueError`` on an empty sequence."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError("p must be within 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Figure:
    """One measured number. ``target``/``op`` are ``None`` for figures reported for context."""

    value: float
    unit: str
    target: float | None = None
    op: Op | None = None
    label: str = ""

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.op is None:
            return None
        if math.isnan(self.value):
            return False
        return self.value >= self.target if self.op == ">=" else self.value <= self.target

    def to_json(self) -> dict[str, Any]:
        value = None if math.isnan(self.value) else round(self.value, 4)
        return {
            "value": value,
            "target": self.target,
            "op": self.op,
            "pass": self.passed,
            "unit": self.unit,
            "label": self.label,
        }


def at_least(value: float, target: float, unit: str, label: str) -> Figure:
    return Figure(value, unit, target, ">=", label)


def at_most(value: float, target: float, unit: str, label: str) -> Figure:
    return Figure(value, unit, target, "<=", label)


def info(value: float, unit: str, label: str) -> Figure:
    return Figure(value, unit, None, None, label)
