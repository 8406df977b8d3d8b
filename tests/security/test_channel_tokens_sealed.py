"""A merchant's channel token (Alipay's app_auth_token) is sealed at rest like an app secret:
the stored value is ciphertext bound to its merchant and channel, and reads open it."""

from __future__ import annotations

import pytest

from jubao.errors import SealingError
from jubao.kinds import ChannelName
from jubao.merchants.directory import MerchantDirectory
from jubao.merchants.models import MerchantChannel
from jubao.security.sealing import PLAINTEXT, MasterKey, Sealer, key_id_of, new_master_key_text
from jubao.storage.database import open_database
from jubao.storage.sql import Row, Tx, execute, fetch_one

TOKEN = "202611BBa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5"


def stored_token(merchant_id: int) -> Tx[Row | None]:
    return (
        yield fetch_one(
            "SELECT merchant_id, channel, auth_token FROM merchant_channels "
            "WHERE merchant_id = ? AND channel = 'alipay'",
            merchant_id,
        )
    ).first


async def test_alipay_tokens_are_sealed_and_bound_to_their_merchant(database_url: str) -> None:
    db = await open_database(database_url)
    try:
        directory = MerchantDirectory(db, sealer=Sealer(MasterKey.parse(new_master_key_text())))
        first = await directory.create_merchant("甲", "1900000001", "wx01")
        second = await directory.create_merchant("乙", "1900000002", "wx02")
        for merchant in (first, second):
            binding = MerchantChannel(ChannelName.ALIPAY, "2088000000000001", auth_token=TOKEN)
            await directory.bind_channel(merchant.merchant_id, binding)

        row = await db.read(lambda: stored_token(first.merchant_id))
        assert row is not None and TOKEN not in row["auth_token"]
        assert key_id_of(row["auth_token"]) != PLAINTEXT
        opened = await directory.merchant(first.merchant_id)
        assert opened is not None
        bound = opened.channel(ChannelName.ALIPAY)
        assert bound is not None and bound.auth_token == TOKEN
        assert [m.channel(ChannelName.ALIPAY) for m in await directory.list_merchants()] == [
            bound,
            bound,
        ]

        # a sealed token copied onto another merchant does not open there
        other = await db.read(lambda: stored_token(second.merchant_id))
        assert other is not None

        def swap() -> Tx[None]:
            yield execute(
                "UPDATE merchant_channels SET auth_token = ? WHERE merchant_id = ? "
                "AND channel = 'alipay'",
                row["auth_token"],
                second.merchant_id,
            )

        await db.write(swap)
        fresh = MerchantDirectory(db, sealer=directory_sealer(directory))
        with pytest.raises(SealingError):  # authentication fails under the other merchant's AAD
            await fresh.merchant(second.merchant_id)
    finally:
        await db.close()


def directory_sealer(directory: MerchantDirectory) -> Sealer:
    return directory._sealer  # the same master key, a fresh cache
