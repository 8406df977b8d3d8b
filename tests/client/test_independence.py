"""jubao.client imports nothing of jubao's server code: a merchant can use it alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import jubao.client

ALLOWED = ("jubao.client", "jubao.protocol", "jubao.money", "jubao.errors", "jubao.kinds")
CLIENT_DIR = Path(jubao.client.__file__).parent
PROTOCOL_DIR = CLIENT_DIR.parent / "protocol"


def _allowed(module: str) -> bool:
    return module in ("jubao", "jubao.__version__") or any(
        module == root or module.startswith(root + ".") for root in ALLOWED
    )


def test_importing_the_sdk_loads_no_server_module() -> None:
    script = (
        "import sys, jubao.client, jubao.client.v2\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.split('.')[0] == 'jubao')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = result.stdout.split()
    assert "jubao.client" in loaded
    assert "jubao.client.v2.sync_client" in loaded
    assert "jubao.protocol.signing" in loaded  # the scan sees real imports
    assert [name for name in loaded if not _allowed(name)] == []
    for server in ("starlette", "uvicorn", "asyncpg", "click", "cryptography"):
        assert server not in result.stdout


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append("<relative import>")
    return names


def test_no_source_file_of_the_sdk_or_the_protocol_imports_server_code() -> None:
    files = sorted(CLIENT_DIR.rglob("*.py")) + sorted(PROTOCOL_DIR.glob("*.py"))
    assert CLIENT_DIR / "v2" / "credentials.py" in files  # the 2.0 client is checked too
    assert len(files) >= 10
    offending = {
        str(path.relative_to(CLIENT_DIR.parent)): name
        for path in files
        for name in _imports(path)
        if name.startswith(("jubao", "<")) and not _allowed(name)
    }
    assert offending == {}
