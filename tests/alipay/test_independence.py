"""The Alipay channel and its simulator are independent implementations of one wire format:
neither may import the other, so a mistake in one cannot be mirrored by the other unseen."""

from __future__ import annotations

import ast
from pathlib import Path

import jubao.channels.alipay
import jubao.channels.alipay_simulator

CHANNEL = Path(jubao.channels.alipay.__file__).parent
SIMULATOR = Path(jubao.channels.alipay_simulator.__file__).parent
# Besides itself, the channel needs only the contract, the error tree and the HTTP clients.
CHANNEL_ALLOWED = (
    "jubao.channels.alipay.",
    "jubao.channels.base",
    "jubao.channels.offload",
    "jubao.channels.outbound",
    "jubao.errors",
    "jubao.http1",
    "jubao.httppool",
    "jubao.kinds",
    "jubao.private_keys",
)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative imports hide what is imported"
            assert node.module is not None
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_channel_never_imports_the_simulator() -> None:
    sources = sorted(CHANNEL.glob("*.py"))
    assert len(sources) >= 5
    for source in sources:
        for name in _imports(source):
            assert "simulator" not in name, f"{source.name} imports {name}"


def test_channel_imports_only_the_contract_from_jubao() -> None:
    for source in sorted(CHANNEL.glob("*.py")):
        for name in _imports(source):
            if name.split(".")[0] == "jubao" and name != "jubao.channels.alipay":
                assert name.startswith(CHANNEL_ALLOWED), f"{source.name} imports {name}"


def test_simulator_never_imports_the_channel() -> None:
    sources = sorted(SIMULATOR.glob("*.py"))
    assert len(sources) >= 5
    for source in sources:
        for name in _imports(source):
            assert not (
                name == "jubao.channels.alipay" or name.startswith("jubao.channels.alipay.")
            ), f"{source.name} imports {name}"
            assert not name.startswith(("jubao.channels.base", "jubao.errors")), (
                f"{source.name} imports jubao's channel contract {name}"
            )
