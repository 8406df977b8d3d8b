from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jubao.money import MAX_FEN, MoneyError, fen_to_yuan_text, parse_yuan
from jubao.protocol import jsonwire


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("0.01", 1),
        ("0.1", 10),
        ("1", 100),
        ("12.34", 1234),
        ("0.1000000000000000055511151231257827021181583404541015625", 10),
        ("0.299999999999999988897769753748434595763683319091796875", 30),
        ("10000000", 1_000_000_000),
    ],
)
def test_exact_json_amounts(text: str, fen: int) -> None:
    value = jsonwire.loads('{"a":' + text + "}")["a"]
    assert parse_yuan(value) == fen
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "value",
    ["0", "0.00", "-1", "0.001", "0.015", "1e2", "abc", "", " ", "１.00", "10000000.01",
     "NaN", "Infinity", True, None, [], 0.1],
)  # fmt: skip
def test_refused_amounts(value: object) -> None:
    with pytest.raises(MoneyError):
        parse_yuan(value)


def test_error_names_the_field() -> None:
    with pytest.raises(MoneyError, match="total_fee"):
        parse_yuan("0.001", field="total_fee")


@given(st.integers(min_value=1, max_value=MAX_FEN))
def test_round_trip(fen: int) -> None:
    text = fen_to_yuan_text(fen)
    assert parse_yuan(text) == fen
    assert parse_yuan(Decimal(text)) == fen
