"""Every name docs/quickstart.md imports from the SDK exists (the examples the tests run cover the
behaviour; this keeps the shorter snippets from drifting)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[2] / "docs" / "quickstart.md"
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
_IMPORT = re.compile(r"from (jubao\.client(?:\.v2)?) import \(?([^)]*?)\)?\n(?!\s)", re.DOTALL)


def imported_names() -> list[tuple[str, str]]:
    names: list[tuple[str, str]] = []
    for block in _BLOCK.findall(QUICKSTART.read_text("utf-8")):
        for module, listed in _IMPORT.findall(block + "\n"):
            names += [(module, name.strip()) for name in listed.split(",") if name.strip()]
    return names


def test_every_name_the_quickstart_imports_exists() -> None:
    names = imported_names()
    assert ("jubao.client.v2", "VendorCredentials") in names  # the 2.0 section is read
    assert ("jubao.client", "JubaoClient") in names
    missing = [
        f"{module}.{name}"
        for module, name in names
        if not hasattr(importlib.import_module(module), name)
    ]
    assert missing == []
