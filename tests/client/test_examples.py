"""Every example of docs/quickstart.md runs, as written, against a running sandbox."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

try:
    from tests.support.sandbox import RunningSandbox, running_sandbox
except ImportError as exc:  # pragma: no cover - only while the simulator is not in the tree
    pytest.skip(f"the sandbox is not available: {exc}", allow_module_level=True)

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
QUICKSTART = REPO / "docs" / "quickstart.md"


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[RunningSandbox]:
    async with running_sandbox(
        tmp_path / "data", simulator_overrides={"time_scale": 0.05}
    ) as running:
        yield running


async def run(sandbox: RunningSandbox, *command: str, seconds: float = 90) -> str:
    """Run a command in a subprocess while this loop keeps serving the sandbox."""
    env = {**os.environ, "JUBAO_SANDBOX_JSON": str(sandbox.settings.data_dir / "sandbox.json")}
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=REPO,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), seconds)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    text = output.decode("utf-8", "replace")
    assert process.returncode == 0, f"{' '.join(command)} failed:\n{text}"
    return text


def example(name: str) -> tuple[str, str]:
    return (sys.executable, str(EXAMPLES / name))


def test_the_quickstart_names_every_example() -> None:
    text = QUICKSTART.read_text("utf-8")
    scripts = sorted(
        path.name for path in EXAMPLES.glob("*.py") if path.name != "sandbox_config.py"
    )
    assert scripts == [
        "create_order.py",
        "notify_handler.py",
        "open_api_v2.py",
        "pay_and_query.py",
        "refund.py",
        "till.py",
    ]
    for script in scripts:
        assert f"examples/{script}" in text


async def test_create_order_then_jubao_pay(sandbox: RunningSandbox) -> None:
    output = await run(sandbox, *example("create_order.py"))
    assert '"paySign"' in output
    match = re.search(r"^order_sn\s+(\d{20})$", output, re.MULTILINE)
    assert match, output
    order_sn = match.group(1)
    jubao = str(Path(sys.executable).parent / "jubao")
    paid = await run(sandbox, jubao, "--data-dir", str(sandbox.settings.data_dir), "pay", order_sn)
    assert re.search(r"^200 .*requestPayment:ok", paid, re.MULTILINE), paid
    answer = await sandbox.call("openapi.payment.order.query", {"order_sn": order_sn})
    for _ in range(100):
        if answer["data"]["trade_state"] == "SUCCESS":
            break
        await asyncio.sleep(0.1)
        answer = await sandbox.call("openapi.payment.order.query", {"order_sn": order_sn})
    assert answer["data"]["trade_state"] == "SUCCESS"


async def test_pay_and_query(sandbox: RunningSandbox) -> None:
    output = await run(sandbox, *example("pay_and_query.py"))
    assert re.search(r"^state\s+SUCCESS$", output, re.MULTILINE), output
    assert re.search(r"^amount\s+0\.03 yuan \(3 fen\)$", output, re.MULTILINE), output


async def test_refund(sandbox: RunningSandbox) -> None:
    output = await run(sandbox, *example("refund.py"))
    assert re.search(r"^settled\s+REFUND_SUCCESS", output, re.MULTILINE), output
    assert re.search(r"^left\s+0\.02 yuan", output, re.MULTILINE), output


async def test_notify_handler(sandbox: RunningSandbox) -> None:
    output = await run(sandbox, *example("notify_handler.py"))
    assert re.search(r"^verified \d{20} is SUCCESS$", output, re.MULTILINE), output


async def test_till_swipe_wait_reverse(sandbox: RunningSandbox) -> None:
    output = await run(sandbox, *example("till.py"))
    assert re.search(r"^swipe\s+134567890123451111 -> \d{20} USERPAYING$", output, re.M), output
    assert re.search(r"^paid\s+\d{20} 2\.50 yuan$", output, re.MULTILINE), output
    assert re.search(r"^swipe\s+134567890123454444 -> \d{20} USERPAYING$", output, re.M), output
    assert re.search(r"^reversed\s+\d{20} REVOKED$", output, re.MULTILINE), output


async def test_till_declined_code(sandbox: RunningSandbox) -> None:
    output = await run(sandbox, *example("till.py"), "134567890123452222")
    assert re.search(r"^declined 134567890123452222 BALANCE_NOT_ENOUGH: ", output, re.M), output


async def test_open_api_v2_as_vendor_then_merchant(sandbox: RunningSandbox) -> None:
    output = await run(sandbox, *example("open_api_v2.py"))
    paid = re.search(r"^paid\s+(\d{20}) SUCCESS 0\.05 yuan wxpay$", output, re.MULTILINE)
    assert paid, output
    order_sn = paid.group(1)
    assert re.search(rf"^notified {order_sn} SUCCESS \(vendor secret\)$", output, re.M), output
    assert re.search(r"^refund\s+\d+ REFUND_SUCCESS 0\.02 yuan$", output, re.MULTILINE), output
    assert re.search(rf"^merchant {order_sn} SUCCESS finished 20\d\d-", output, re.M), output
