"""The admin commands create and list merchants, apps, stores and cashiers; secrets show once."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from jubao.cli import main


def run(data_dir: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_create_and_list_merchant_records(tmp_path: Path) -> None:
    created = run(
        tmp_path, "merchant", "create", "--name", "咖啡店", "--sub-mchid", "1900000101",
        "--sub-appid", "wx0000000000000001", "--callback-url", "https://m.example/notify",
    )  # fmt: skip
    merchant_id = re.search(r"merchant_id (\d+)", created)
    app_id = re.search(r"app_id\s+(\d{20})", created)
    secret = re.search(r"app_secret\s+([0-9a-f]{32})", created)
    assert merchant_id and app_id and secret, created

    store = re.search(
        r"store_id (\d+)",
        run(tmp_path, "store", "create", "--merchant-id", merchant_id[1], "--name", "一店"),
    )
    assert store
    cashier = re.search(
        r"cashier_id (\d+)",
        run(tmp_path, "cashier", "create", "--store-id", store[1], "--name", "小王"),
    )
    assert cashier

    assert "咖啡店" in run(tmp_path, "merchant", "list")
    apps = run(tmp_path, "app", "list")
    assert app_id[1] in apps
    assert secret[1] not in apps  # a secret is shown once, at creation
    assert "一店" in run(tmp_path, "store", "list", "--merchant-id", merchant_id[1])
    assert "小王" in run(tmp_path, "cashier", "list", "--store-id", store[1])

    rotated = re.search(
        r"app_secret\s+([0-9a-f]{32})", run(tmp_path, "app", "rotate-secret", app_id[1])
    )
    assert rotated and rotated[1] != secret[1]
    second = run(tmp_path, "app", "create", "--merchant-id", merchant_id[1])
    assert re.search(r"app_id\s+\d{20}", second)
