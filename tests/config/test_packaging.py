"""`pip install jubao` is the merchant SDK alone: its required dependencies are the SDK's, and
jubao.client signs, sends and parses in a fresh venv holding nothing else."""

from __future__ import annotations

import importlib.metadata as metadata
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).parents[2]
SDK_DEPENDENCIES = {"httpx", "sniffio"}
SERVER_DEPENDENCIES = {"starlette", "uvicorn", "cryptography", "click", "asyncpg", "pydantic"}

SDK_SCRIPT = textwrap.dedent(
    """
    import hashlib, importlib.util, json
    import httpx
    from jubao.client import JubaoClient, OrderQueryRequest
    from jubao.client import v2

    for server in ("starlette", "uvicorn", "cryptography", "click", "pydantic", "asyncpg"):
        assert importlib.util.find_spec(server) is None, server

    SECRET = "0123456789abcdef0123456789abcdef"

    def gateway(request):
        params = json.loads(request.content)
        base = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign")
        assert params["sign"] == hashlib.md5((base + SECRET).encode()).hexdigest().upper()
        if request.url.path == "/gateway/agent":  # 2.0, service-provider level
            assert params["vendor_sn"] == "2018113015321682303a"
            assert params["biz_content"] == '{"merchant_id":7,"order_sn":"20240101000000000001"}'
            data = ('{"merchant_order_sn":"M1","order_sn":"20240101000000000001",'
                    '"order_status":"SUCCESS","total_amount":0.03,"pay_type":"wxpay"}')
        else:
            assert json.loads(params["biz_content"]) == {"order_sn": "20240101000000000001"}
            data = ('{"merchant_order_sn":"M1","order_sn":"20240101000000000001",'
                    '"trade_state":"SUCCESS","total_fee":0.03}')
        body = '{"result_code":200,"result_message":"ok","data":' + data + '}'
        return httpx.Response(200, content=body.encode())

    with JubaoClient("20240101000000000042", SECRET, "http://gw.test",
                     transport=httpx.MockTransport(gateway)) as client:
        order = client.query(OrderQueryRequest(order_sn="20240101000000000001"))
    print(order.trade_state, order.total_fee)
    vendor = v2.VendorCredentials("2018113015321682303a", SECRET, merchant_id=7)
    with v2.JubaoV2Client(vendor, "http://gw.test",
                          transport=httpx.MockTransport(gateway)) as client:
        order = client.query(v2.OrderQueryRequest(order_sn="20240101000000000001"))
    print(order.order_status, order.total_amount_fen)
    """
)


def required(distribution: str) -> list[Requirement]:
    """The dependencies a plain install of ``distribution`` brings (no extras)."""
    found = [Requirement(text) for text in metadata.requires(distribution) or []]
    return [req for req in found if req.marker is None or req.marker.evaluate({"extra": ""})]


def test_a_plain_install_requires_only_the_sdks_dependencies() -> None:
    names = {req.name for req in required("jubao")}
    assert names == SDK_DEPENDENCIES
    server = {req.name for req in map(Requirement, metadata.requires("jubao") or []) if req.marker}
    assert server >= SERVER_DEPENDENCIES | {"pydantic-settings"}


def _closure(names: set[str]) -> set[str]:
    """``names`` and everything they require, as installed here."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [req.name for req in required(name)]
    return seen


def _copy_installed(distribution: str, site_packages: Path) -> None:
    """Put an installed distribution's files into another venv (offline, as pip would)."""
    dist = metadata.distribution(distribution)
    for file in dist.files or []:
        if file.parts[0] == "..":  # console scripts
            continue
        target = site_packages / file
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(Path(str(dist.locate_file(file))), target)


@pytest.mark.slow
def test_the_sdk_works_in_a_venv_without_the_server_dependencies(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), ROOT],
        check=True,
        timeout=300,
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    (wheel,) = wheels.glob("jubao-*.whl")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel],
        check=True,
        timeout=120,
    )
    site_packages = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    sdk_closure = _closure(SDK_DEPENDENCIES)
    assert not sdk_closure & SERVER_DEPENDENCIES
    for name in sdk_closure:
        _copy_installed(name, site_packages)

    checked = subprocess.run(
        [python, "-m", "pip", "check"], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout  # jubao's own requirements are all there
    ran = subprocess.run(
        [python, "-I", "-c", SDK_SCRIPT], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["SUCCESS", "0.03", "SUCCESS", "3"]
    server = subprocess.run(
        [python, "-I", "-c", "import jubao.cli"], capture_output=True, text=True, timeout=60
    )
    assert server.returncode != 0 and "ModuleNotFoundError" in server.stderr
