"""The README's hand-signed request and the `jubao pay` command work as written."""

from __future__ import annotations

import ast
import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.integration.test_mina import verify_pay_sign
from tests.support.sandbox import running_sandbox

pytestmark = pytest.mark.slow

README = Path(__file__).parents[2] / "README.md"


def readme_python_block(index: int = 0) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text("utf-8"), re.S)
    assert len(blocks) > index, "README lost its hand-signed examples"
    return str(blocks[index])


async def test_readme_example_and_pay_command(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path / ".jubao") as sandbox:
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", readme_python_block()],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        answer = ast.literal_eval(result.stdout.strip())
        assert answer["result_code"] == 200, answer
        verify_pay_sign(answer["data"]["sign_params"], sandbox.info["sp_public_key"])

        paid = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "jubao", "--data-dir", str(tmp_path / ".jubao"), "pay",
             answer["data"]["order_sn"]],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
        assert paid.returncode == 0, paid.stdout + paid.stderr
        for _ in range(100):  # the simulator notifies the gateway in the background
            query = await sandbox.call(
                "openapi.payment.order.query", {"order_sn": answer["data"]["order_sn"]}
            )
            if query["data"]["trade_state"] == "SUCCESS":
                break
            await asyncio.sleep(0.05)
        assert query["data"]["trade_state"] == "SUCCESS"


async def test_readme_open_api_2_example(tmp_path: Path) -> None:
    """The second block: a vendor-signed fbpay.order.pay at /gateway/agent."""
    async with running_sandbox(tmp_path / ".jubao"):
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", readme_python_block(1)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        answer = ast.literal_eval(result.stdout.strip())
        assert answer["result_code"] == 200, answer
        assert answer["data"]["order_status"] == "SUCCESS"
        assert answer["data"]["merchant_order_sn"] == "demo-2"
