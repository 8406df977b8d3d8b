"""The installed command (``jubao.__main__:run``) loads the commands with the collector off and
freezes what they built, and leaves the collector on for the command it runs."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_command_is_run() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["scripts"]["jubao"] == "jubao.__main__:run"


def test_run_freezes_the_loaded_commands_and_leaves_the_collector_on() -> None:
    probe = (
        "import gc, sys\n"
        "from jubao.__main__ import run\n"
        "sys.argv = ['jubao', '--version']\n"
        "try:\n"
        "    run()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "print(gc.isenabled(), gc.get_freeze_count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    enabled, frozen = done.stdout.split()[-2:]
    assert enabled == "True"
    assert int(frozen) > 10_000  # the commands' modules, classes and functions


def test_python_dash_m_jubao_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jubao", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "0." in done.stdout
