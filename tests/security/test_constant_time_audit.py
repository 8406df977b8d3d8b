"""The constant-time audit as a test: no ``==``/``!=`` in jubao's code compares a value whose name
says it is a signature, token, secret or MAC. Such comparisons go through
``hmac.compare_digest`` (``protocol/signing.verify``, ``web/admin``, ``web/console/auth``); RSA and
AES-GCM verification happen inside ``cryptography``. Names of public constants and lengths are
not secrets and are allowed (see ``PUBLIC``)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import jubao

SOURCE = Path(jubao.__file__).parent
SENSITIVE = re.compile(
    r"(^|_)(sign|signature|paysign|token|secret|mac|digest|passphrase|password)($|_)", re.I
)
# identifiers that contain a sensitive word but name public things: algorithm and scheme names
PUBLIC = {"sign_type", "sign_method", "SIGNATURE_TYPE", "signType"}


def _identifiers(node: ast.AST) -> Iterator[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == "len":
            return  # comparing a length reveals nothing the length check does not
        if isinstance(sub, ast.Name):
            yield sub.id
        elif isinstance(sub, ast.Attribute):
            yield sub.attr
        elif (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.slice, ast.Constant)
            and isinstance(sub.slice.value, str)
        ):
            yield sub.slice.value


def variable_time_comparisons() -> list[str]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                continue
            operands = [node.left, *node.comparators]
            names = {name for operand in operands for name in _identifiers(operand)}
            suspicious = {n for n in names if SENSITIVE.search(n) and n not in PUBLIC}
            if suspicious:
                where = path.relative_to(SOURCE.parent)
                found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_secret_is_compared_with_equality() -> None:
    assert variable_time_comparisons() == []


def test_the_audit_would_catch_one() -> None:
    tree = ast.parse("ok = received_sign == expected\nfine = len(token) == 32\n")
    compares = [node for node in ast.walk(tree) if isinstance(node, ast.Compare)]
    names = [set(_identifiers(node)) for node in compares]
    assert any(SENSITIVE.search(name) for name in names[0])
    assert names[1] == set()
