"""App secrets sealed in the database (SQLite and PostgreSQL): what is stored, reading, legacy
plaintext, rotation across master keys with ``jubao secrets rotate``, ``status``; the sandbox's
generated master key; encrypted WeChat private keys."""

from __future__ import annotations

import asyncio
import dataclasses
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jubao.cli import main
from jubao.cli.secrets import reseal_all
from jubao.config import Settings
from jubao.errors import SealingError
from jubao.merchants import repository as repo
from jubao.merchants.directory import MerchantDirectory
from jubao.runtime import production_channel
from jubao.security.keys import private_key_pem
from jubao.security.sealing import MasterKey, Sealer, key_id_of, new_master_key_text
from jubao.storage.database import Database, open_database
from jubao.storage.sql import Tx, execute, fetch_all
from tests.support.sandbox import running_sandbox

K1, K2 = new_master_key_text(), new_master_key_text()
ID1, ID2 = MasterKey.parse(K1).key_id, MasterKey.parse(K2).key_id


def stored_secrets() -> Tx[dict[str, str]]:
    rows = (yield fetch_all("SELECT app_id, app_secret FROM apps")).rows
    return {row["app_id"]: row["app_secret"] for row in rows}


async def _merchant(db: Database) -> int:
    merchant = await MerchantDirectory(db).create_merchant("m", "1900000101", "wx0000000000000001")
    return merchant.merchant_id


async def test_secrets_are_sealed_bound_to_their_app_and_readable(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        sealed = MerchantDirectory(db, sealer=Sealer.from_config(K1))
        merchant_id = await _merchant(db)
        one = await sealed.create_app(merchant_id)
        two = await sealed.create_app(merchant_id)
        raw = await db.read(stored_secrets)
        assert raw[one.app.app_id].startswith(f"v1:{ID1}:")
        assert one.app_secret not in raw[one.app.app_id]
        fresh = MerchantDirectory(db, sealer=Sealer.from_config(K1))
        found = await fresh.app(one.app.app_id)
        assert found is not None and found.app_secret == one.app_secret

        rotated = await sealed.rotate_secret(one.app.app_id)
        assert rotated is not None
        assert key_id_of((await db.read(stored_secrets))[one.app.app_id]) == ID1
        found = await MerchantDirectory(db, sealer=Sealer.from_config(K1)).app(one.app.app_id)
        assert found is not None and found.app_secret == rotated

        # without the key the value cannot be read; a value copied to another row fails too
        with pytest.raises(SealingError):
            await MerchantDirectory(db).app(one.app.app_id)
        copied = raw[two.app.app_id]
        await db.write(
            lambda: repo_execute(
                "UPDATE apps SET app_secret = ? WHERE app_id = ?", copied, one.app.app_id
            )
        )
        with pytest.raises(SealingError, match="authentication"):
            await MerchantDirectory(db, sealer=Sealer.from_config(K1)).app(one.app.app_id)
    finally:
        await db.close()


def repo_execute(sql: str, *params: object) -> Tx[None]:
    yield execute(sql, *params)


async def test_legacy_plaintext_then_rotation_across_keys(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        merchant_id = await _merchant(db)
        legacy = [await MerchantDirectory(db).create_app(merchant_id) for _ in range(5)]
        assert all(
            key_id_of(value) == "plaintext" for value in (await db.read(stored_secrets)).values()
        )
        # a keyed gateway reads the legacy plaintext values as they are
        keyed = MerchantDirectory(db, sealer=Sealer.from_config(K1))
        for item in legacy:
            found = await keyed.app(item.app.app_id)
            assert found is not None and found.app_secret == item.app_secret

        assert await reseal_all(db, Sealer.from_config(K1), batch=2) == 5
        assert await reseal_all(db, Sealer.from_config(K1), batch=2) == 0  # idempotent
        assert {key_id_of(v) for v in (await db.read(stored_secrets)).values()} == {ID1}

        assert await reseal_all(db, Sealer.from_config(K2, K1), batch=3) == 5
        assert {key_id_of(v) for v in (await db.read(stored_secrets)).values()} == {ID2}
        only_new = MerchantDirectory(db, sealer=Sealer.from_config(K2))
        for item in legacy:
            found = await only_new.app(item.app.app_id)
            assert found is not None and found.app_secret == item.app_secret
    finally:
        await db.close()


def test_secrets_cli_status_and_rotate(tmp_path: Path, database_url: str) -> None:
    vendor_sns: list[str] = []
    vendor_secrets: list[str] = []

    async def prepare() -> list[str]:
        db = await open_database(database_url)
        try:
            merchant_id = await _merchant(db)
            await MerchantDirectory(db).create_app(merchant_id)
            await MerchantDirectory(db, sealer=Sealer.from_config(K1)).create_app(merchant_id)
            # a vendor's secret is sealed, counted and re-sealed like an app's
            vendor = await MerchantDirectory(db, sealer=Sealer.from_config(K1)).create_vendor("v")
            vendor_sns.append(vendor.vendor.vendor_sn)
            vendor_secrets.append(vendor.vendor_secret)
            return list((await db.read(stored_secrets)).keys())
        finally:
            await db.close()

    app_ids = asyncio.run(prepare())
    global_options = ["--data-dir", str(tmp_path), "--database-url", database_url]

    def jubao(*args: str, key: str = "", old: str = "") -> Result:
        env = {"JUBAO_MASTER_KEY": key, "JUBAO_MASTER_KEY_OLD": old}
        return CliRunner(env=env).invoke(main, [*global_options, *args])

    status = jubao("secrets", "status", key=K1)
    assert status.exit_code == 0, status.output
    assert f"current key: {ID1}" in status.output
    assert "plaintext\t1\tlegacy" in status.output and f"{ID1}\t2\tcurrent" in status.output

    assert jubao("secrets", "rotate").exit_code != 0  # no key: refused
    rotated = jubao("secrets", "rotate", "--batch", "1", key=K2, old=K1)
    assert rotated.exit_code == 0, rotated.output
    assert f"3 secret(s) re-sealed under key {ID2}" in rotated.output
    status = jubao("secrets", "status", key=K2)
    assert f"{ID2}\t3\tcurrent" in status.output

    async def vendor_under_new_key() -> str | None:
        db = await open_database(database_url)
        try:
            found = await MerchantDirectory(db, sealer=Sealer.from_config(K2)).vendor(vendor_sns[0])
            return found.vendor_secret if found else None
        finally:
            await db.close()

    assert asyncio.run(vendor_under_new_key()) == vendor_secrets[0]
    for secret_text in (K1, K2):
        assert secret_text not in status.output + rotated.output

    new_key = jubao("secrets", "new-key")
    assert MasterKey.parse(new_key.output.strip())

    assert jubao("app", "set-strict-nonce", app_ids[0], "on", key=K2).exit_code == 0
    missing = jubao("app", "set-strict-nonce", "nope", "on", key=K2)
    assert missing.exit_code != 0 and "no app nope" in missing.output

    async def strict_flags() -> set[bool]:
        db = await open_database(database_url)
        try:
            apps = await db.read(lambda: repo.list_apps(Sealer.from_config(K2)))
            return {app.strict_nonce for app in apps if app.app_id == app_ids[0]}
        finally:
            await db.close()

    assert asyncio.run(strict_flags()) == {True}


async def test_the_sandbox_seals_with_a_generated_master_key(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path / "data") as running:
        key_file = tmp_path / "data" / "keys" / "master_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key_id = MasterKey.parse(key_file.read_text()).key_id
        raw = await running.runtime.db.read(stored_secrets)
        assert key_id_of(raw[running.info["app_id"]]) == key_id
        assert running.info["app_secret"] not in raw[running.info["app_id"]]
        assert (await running.call("openapi.get.time", {}))["result_code"] == 200
    # restarting keeps the key and the data
    async with running_sandbox(tmp_path / "data") as again:
        assert (
            tmp_path / "data" / "keys" / "master_key"
        ).read_text().strip() == key_file.read_text().strip()
        assert (await again.call("openapi.get.time", {}))["result_code"] == 200


def test_encrypted_private_key_pem(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encrypted = tmp_path / "apiclient_key.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"correct horse"),
        )
    )
    assert b"ENCRYPTED PRIVATE KEY" in encrypted.read_bytes()
    opened = serialization.load_pem_private_key(private_key_pem(encrypted, "correct horse"), None)
    assert opened.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    with pytest.raises(SealingError, match="PASSPHRASE"):
        private_key_pem(encrypted, "")
    with pytest.raises(SealingError, match="wrong passphrase"):
        private_key_pem(encrypted, "wrong")
    plain = tmp_path / "plain.pem"
    plain.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert private_key_pem(plain, "") == plain.read_bytes()


def test_production_channel_opens_an_encrypted_key(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "apiclient_key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"pass phrase"),
        )
    )
    public_file = tmp_path / "wechatpay_pub.pem"
    public_file.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings = dataclasses.replace(
        Settings(),
        sp_mchid="1900000001",
        sp_appid="wx0000000000000000",
        sp_serial_no="ABC",
        sp_private_key_file=str(key_file),
        apiv3_key="a" * 32,
        wechat_public_key_file=str(public_file),
        wechat_public_key_id="PUB_KEY_ID_0000",
    )
    with pytest.raises(SystemExit, match="JUBAO_SP_PRIVATE_KEY_PASSPHRASE"):
        production_channel(settings)
    channel = production_channel(
        dataclasses.replace(settings, sp_private_key_passphrase="pass phrase")
    )
    asyncio.run(channel.aclose())


def test_settings_read_the_keys_and_never_print_them() -> None:
    env = {
        "JUBAO_MASTER_KEY": K1,
        "JUBAO_MASTER_KEY_OLD": f"{K2},",
        "JUBAO_SP_PRIVATE_KEY_PASSPHRASE": "pass phrase",
        "JUBAO_RATE_LIMIT_PER_SECOND": "12.5",
        "JUBAO_RATE_LIMIT_BURST": "30",
        "JUBAO_REQUEST_TIMEOUT_SECONDS": "2.5",
    }
    settings = Settings.from_env(env)
    assert (settings.master_key, settings.master_key_old) == (K1, f"{K2},")
    assert (settings.rate_limit_per_second, settings.rate_limit_burst) == (12.5, 30)
    assert settings.request_timeout_seconds == 2.5
    assert Sealer.from_config(settings.master_key, settings.master_key_old).key_ids == [ID1, ID2]
    for secret_text in (K1, K2, "pass phrase"):
        assert secret_text not in repr(settings)
