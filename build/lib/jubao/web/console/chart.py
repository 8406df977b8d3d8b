"""A small bar chart, laid out in Python and drawn as inline SVG by the template."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from jubao.money import fen_to_yuan_text

__all__ = ["Bar", "BarChart", "bar_chart"]

WIDTH, HEIGHT = 560, 200
TOP, BOTTOM, SIDE = 24, 28, 8  # room for value labels above and day labels below


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # the day, MM-DD
    value: str  # yuan text
    center: float


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]


def bar_chart(points: list[tuple[date, int]]) -> BarChart:
    """One bar per day; heights scale to the largest value (empty days draw a hairline)."""
    peak = max((fen for _, fen in points), default=0) or 1
    slot = (WIDTH - 2 * SIDE) / max(len(points), 1)
    usable = HEIGHT - TOP - BOTTOM
    baseline = HEIGHT - BOTTOM
    bars = []
    for index, (day, fen) in enumerate(points):
        height = max(1.0, usable * fen / peak)
        x = SIDE + index * slot + slot * 0.15
        bars.append(
            Bar(
                x=round(x, 1),
                y=round(baseline - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label=day.strftime("%m-%d"),
                value=fen_to_yuan_text(fen),
                center=round(x + slot * 0.35, 1),
            )
        )
    return BarChart(WIDTH, HEIGHT, baseline, bars)
