"""``--json`` on every list command: one JSON array, the same records as the text, no secret."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.support.cli import jubao


def run(data_dir: Path, *args: str) -> str:
    result = jubao("--data-dir", str(data_dir), *args)
    assert result.exit_code == 0, result.output
    return result.output


def listed(data_dir: Path, *args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(run(data_dir, *args, "--json"))
    return rows


def test_every_list_command_speaks_json(tmp_path: Path) -> None:
    created = run(
        tmp_path, "merchant", "create", "--name", "咖啡店", "--sub-mchid", "1900000101",
        "--sub-appid", "wx0000000000000001", "--callback-url", "https://m.example/notify",
    )  # fmt: skip
    merchant_id = int(re.findall(r"merchant_id (\d+)", created)[0])
    app_id = re.findall(r"app_id\s+(\S+)", created)[0]
    secret = re.findall(r"app_secret\s+(\S+)", created)[0]
    store = run(tmp_path, "store", "create", "--merchant-id", str(merchant_id), "--name", "一店")
    store_id = int(re.findall(r"store_id (\d+)", store)[0])
    run(tmp_path, "cashier", "create", "--store-id", str(store_id), "--name", "小王")

    assert listed(tmp_path, "merchant", "list") == [
        {"merchant_id": merchant_id, "name": "咖啡店", "sub_mchid": "1900000101",
         "sub_appid": "wx0000000000000001", "alipay_pid": "", "vendor_sn": None}
    ]  # fmt: skip
    assert listed(tmp_path, "app", "list") == [
        {"app_id": app_id, "merchant_id": merchant_id, "callback_url": "https://m.example/notify"}
    ]
    assert secret not in run(tmp_path, "app", "list", "--json")
    assert listed(tmp_path, "store", "list") == [
        {"store_id": store_id, "merchant_id": merchant_id, "name": "一店"}
    ]
    (cashier,) = listed(tmp_path, "cashier", "list", "--store-id", str(store_id))
    assert cashier["name"] == "小王" and cashier["store_id"] == store_id
    assert listed(tmp_path, "notify", "list") == []
    # the text form is unchanged
    assert run(tmp_path, "store", "list").startswith(f"{store_id}\tmerchant_id={merchant_id}\t")
