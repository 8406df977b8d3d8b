"""The channel and the simulator are independent implementations of one wire format: neither may
import the other, so a mistake in one cannot be mirrored by the other and pass unseen."""

from __future__ import annotations

import ast
from pathlib import Path

import jubao.channels.wechatpay

PACKAGE = Path(jubao.channels.wechatpay.__file__).parent
# Besides itself, the channel needs only the contract, the error tree and the version string.
ALLOWED_PREFIXES = (
    "jubao.channels.offload",
    "jubao.channels.outbound",
    "jubao.channels.wechatpay",
    "jubao.channels.base",
    "jubao.errors",
    "jubao.http1",
    "jubao.httppool",
    "jubao.kinds",
    "jubao.private_keys",
)
ALLOWED_NAMES = {"jubao", "jubao.__version__"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_channel_never_imports_the_simulator() -> None:
    sources = sorted(PACKAGE.glob("*.py"))
    assert sources
    for source in sources:
        for name in _imports(source):
            assert "simulator" not in name, f"{source.name} imports {name}"


def test_channel_imports_only_the_contract_from_jubao() -> None:
    for source in sorted(PACKAGE.glob("*.py")):
        jubao_imports = {name for name in _imports(source) if name.split(".")[0] == "jubao"}
        for name in jubao_imports:
            allowed = name in ALLOWED_NAMES or name.startswith(ALLOWED_PREFIXES)
            assert allowed, f"{source.name} imports {name}"
