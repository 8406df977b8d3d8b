"""Identifiers the merchant chooses refuse control, bidirectional-override and other invisible
format characters, through the gateway (nothing is stored) and in the readers."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jubao.errors import InvalidParameter
from jubao.protocol import jsonwire
from jubao.protocol.fields import text
from jubao.protocol.identifiers import unsafe_character
from jubao.protocol.methods import parse_mina, parse_refund
from tests.security.support import assert_failure
from tests.support.sandbox import running_sandbox

UNSAFE = ["\u202e", "\u202d", "\u2066", "\u2069", "\u200f", "\u061c", "\u200b", "\ufeff",
          "\x01", "\t", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"]  # fmt: skip


@pytest.mark.parametrize("char", UNSAFE)
def test_the_readers_refuse_them(char: str) -> None:
    mina = {"merchant_order_sn": "A1", "sub_openid": "o1", "total_fee": "0.01", "store_id": 1}
    for field in ("merchant_order_sn", "sub_openid"):
        with pytest.raises(InvalidParameter, match=field):
            parse_mina({**mina, field: f"ab{char}cd"})
    with pytest.raises(InvalidParameter, match="merchant_refund_sn"):
        parse_refund({"order_sn": "1", "merchant_refund_sn": f"r{char}1"})


def test_ordinary_text_passes() -> None:
    for value in ("order-2024_01.A", "订单一号", "Ω-ß-é", "o1aB2_-"):
        assert unsafe_character(value) is None
    assert (
        parse_mina(
            {
                "merchant_order_sn": "订单-1",
                "sub_openid": "oAbC_1-2",
                "total_fee": "1",
                "store_id": 1,
            }
        ).merchant_order_sn
        == "订单-1"
    )


async def test_through_the_gateway_nothing_is_stored(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path / "data") as sandbox:
        spoof = "order\u202egpj.exe"
        answer = await sandbox.mina(spoof, "0.01")
        assert_failure(answer, "INVALID_PARAMETER")
        assert "U+202E" in answer["result_message"]
        query = await sandbox.call("openapi.payment.order.query", {"merchant_order_sn": spoof})
        assert query["sub_code"] == "ORDER_NOT_FOUND", query
        assert_failure(
            await sandbox.mina("ok-1", "0.01", sub_openid="o\u200bpenid"), "INVALID_PARAMETER"
        )


def _first_unsafe(value: str) -> str | None:  # the definition, one character at a time
    for char in value:
        if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}:
            return char
    return None


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(max_codepoint=0x3000, exclude_categories=()), max_size=24))
def test_the_printable_ascii_shortcut_changes_no_answer(value: str) -> None:
    assert unsafe_character(value) == _first_unsafe(value)
    try:
        read: str | None = text({"v": value}, "v", max_len=64, strip_check=True)
    except InvalidParameter:
        read = None
    ok = value.strip() == value and _first_unsafe(value) is None and jsonwire.is_utf8(value)
    assert (read == value) == (ok and 1 <= len(value) <= 64), value
