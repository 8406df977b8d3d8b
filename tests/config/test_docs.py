"""docs/deploy.md has ONE table of settings, naming every Settings field and nothing else."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from jubao.config import SECRET_FIELDS, Settings, env_var

DEPLOY = Path(__file__).parents[2] / "docs" / "deploy.md"


def settings_table() -> list[str]:
    text = DEPLOY.read_text("utf-8")
    section = text.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `JUBAO_")]
    tables = re.findall(r"\n\| variable \| default \| meaning \|", section)
    assert len(tables) == 1, "the settings belong in one table"
    return rows


def test_every_setting_is_in_the_one_table() -> None:
    documented = [
        re.findall(r"`(JUBAO_[A-Z0-9_]+)`", row.split("|")[1]) for row in settings_table()
    ]
    names = [name for row in documented for name in row]
    expected = [env_var(item.name) for item in fields(Settings)]
    assert sorted(names) == sorted(expected)
    assert len(names) == len(set(names))


def test_every_secret_says_it_may_come_from_a_file() -> None:
    rows = {row.split("`")[1]: row for row in settings_table()}
    for name in SECRET_FIELDS:
        assert "_FILE" in rows[env_var(name)], name
