"""Pure rendering: the result JSON document, the Markdown table, and the marked section of
docs/benchmarks.md that each run regenerates."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from bench.stats import Figure

__all__ = [
    "END_MARK",
    "START_MARK",
    "dumps",
    "render_section",
    "render_table",
    "replace_section",
    "result_document",
]

START_MARK = "<!-- bench:start -->"
END_MARK = "<!-- bench:end -->"


def result_document(
    figures: Mapping[str, Figure], meta: Mapping[str, Any], details: Mapping[str, Any]
) -> dict[str, Any]:
    """``{"meta", "figures": {name: {value, target, op, pass, unit, label}}, "pass", "details"}``.

    ``pass`` is true when every figure that has a target passed."""
    verdicts = [figure.passed for figure in figures.values() if figure.passed is not None]
    return {
        "meta": dict(meta),
        "pass": all(verdicts),
        "figures": {name: figure.to_json() for name, figure in figures.items()},
        "details": dict(details),
    }


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def _verdict(figure: Figure) -> str:
    passed = figure.passed
    return "" if passed is None else ("pass" if passed else "**FAIL**")


def render_table(figures: Mapping[str, Figure]) -> str:
    lines = [
        "| figure | value | unit | target | result |",
        "|---|---:|---|---|---|",
    ]
    for name, figure in figures.items():
        target = "" if figure.target is None else f"{figure.op} {_number(figure.target)}"
        label = figure.label or name
        lines.append(
            f"| {label} | {_number(figure.value)} | {figure.unit} | {target} | {_verdict(figure)} |"
        )
    return "\n".join(lines) + "\n"


def render_section(document: Mapping[str, Any], figures: Mapping[str, Figure]) -> str:
    meta = document["meta"]
    verdict = "every target passed" if document["pass"] else "some targets missed"
    header = (
        f"Last run: {meta.get('finished', '?')}, {meta.get('mode', '?')} mode, "
        f"{meta.get('cpus', '?')} CPUs, Python {meta.get('python', '?')}, "
        f"load generator {meta.get('loadgen', '?')}: **{verdict}**.\n\n"
    )
    return header + render_table(figures)


def replace_section(text: str, section: str) -> str:
    """Put ``section`` between the markers, keeping everything outside them; append the markers
    (with the section) when the text has none."""
    block = f"{START_MARK}\n{section.rstrip()}\n{END_MARK}"
    start = text.find(START_MARK)
    end = text.find(END_MARK, start + 1) if start >= 0 else -1
    if start < 0 or end < 0:
        return text.rstrip() + ("\n\n" if text.strip() else "") + block + "\n"
    return text[:start] + block + text[end + len(END_MARK) :]


def dumps(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
