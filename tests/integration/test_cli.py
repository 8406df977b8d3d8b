"""The admin commands create and list merchants, apps, stores and cashiers; secrets show once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.support.cli import jubao


def run(data_dir: Path, *args: str) -> str:
    result = jubao("--data-dir", str(data_dir), *args)
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


def test_global_options_go_before_or_after_the_command(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    created = jubao(
        "merchant", "create", "--name", "甲店", "--sub-mchid", "1900000201",
        "--sub-appid", "wx0000000000000201", "--data-dir", str(one),
    )  # fmt: skip
    assert created.exit_code == 0, created.output

    def listed(*args: str) -> str:
        result = jubao(*args)
        assert result.exit_code == 0, result.output
        return result.output

    assert "甲店" in listed("--data-dir", str(one), "merchant", "list")
    assert "甲店" in listed("merchant", "list", "--data-dir", str(one))
    assert "甲店" in listed("merchant", "--data-dir", str(one), "list")  # on the group, too
    assert "甲店" not in listed("--data-dir", str(one), "merchant", "list", "--data-dir", str(two))
    database = f"sqlite:///{one / 'jubao.sqlite3'}"
    assert "甲店" in listed("merchant", "list", "--data-dir", str(two), "--database-url", database)
    other = f"sqlite:///{two / 'jubao.sqlite3'}"
    assert "甲店" not in listed(
        "--database-url", database, "merchant", "list", "--database-url", other
    )


@pytest.mark.parametrize("command", ["sandbox", "simulator", "serve", "worker", "migrate", "pay"])
def test_every_server_command_takes_the_global_options(command: str) -> None:
    """``jubao sandbox --database-url postgresql://...`` was refused with "No such option"."""
    result = jubao(command, "--database-url", "postgresql://u@127.0.0.1/x", "--help")
    assert result.exit_code == 0, result.output
    assert "--data-dir" in result.output and "--database-url" in result.output


def test_vendor_commands_and_a_vendors_merchant(tmp_path: Path) -> None:
    created = run(tmp_path, "vendor", "create", "--name", "好服务商")
    vendor_sn = re.search(r"vendor_sn\s+(\d{19}[a-z])", created)
    secret = re.search(r"vendor_secret\s+([0-9a-f]{32})", created)
    assert vendor_sn and secret, created

    listed = run(tmp_path, "vendor", "list")
    assert vendor_sn[1] in listed and "好服务商" in listed and "merchants=0" in listed
    assert secret[1] not in listed  # shown once, at creation

    merchant = run(
        tmp_path, "merchant", "create", "--name", "服务商的店", "--sub-mchid", "1900000301",
        "--sub-appid", "wx0000000000000301", "--vendor", vendor_sn[1],
    )  # fmt: skip
    assert f"vendor_sn   {vendor_sn[1]}" in merchant
    rows = json.loads(run(tmp_path, "vendor", "list", "--json"))
    assert rows == [
        {
            "vendor_sn": vendor_sn[1],
            "name": "好服务商",
            "merchants": 1,
            "created_at": rows[0]["created_at"],
        }
    ]
    merchants = json.loads(run(tmp_path, "merchant", "list", "--json"))
    assert [m["vendor_sn"] for m in merchants] == [vendor_sn[1]]

    unknown = jubao(
        "--data-dir", str(tmp_path), "merchant", "create", "--name", "x", "--sub-mchid", "1",
        "--sub-appid", "wx1", "--vendor", "nope",
    )  # fmt: skip
    assert unknown.exit_code != 0 and "no vendor nope" in unknown.output

    rotated = re.search(
        r"vendor_secret\s+([0-9a-f]{32})", run(tmp_path, "vendor", "rotate-secret", vendor_sn[1])
    )
    assert rotated and rotated[1] != secret[1]
    missing = jubao("--data-dir", str(tmp_path), "vendor", "rotate-secret", "nope")
    assert missing.exit_code != 0 and "no vendor nope" in missing.output
