"""``jsonwire.dumps``/``dumpb``: orjson's fast path writes exactly what the Python writer
(``_write``) writes: Decimals as their exact numbers, a string holding a lone surrogate escaped,
nesting kept; a float or a non-finite Decimal is refused either way. Without orjson (the SDK
installed alone) the Python writer answers."""

from __future__ import annotations

import enum
import json
import math
import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jubao.money import fen_to_yuan
from jubao.protocol import jsonwire


def slow(value: Any) -> str:
    parts: list[str] = []
    jsonwire._write(value, parts)
    return "".join(parts)


def test_an_order_answer_is_exact() -> None:
    payload = {
        "result_code": 200,
        "data": {"total_fee": fen_to_yuan(1234), "fee": fen_to_yuan(0), "body": "测试", "n": 0},
    }
    expected = '{"result_code":200,"data":{"total_fee":12.34,"fee":0.00,"body":"测试","n":0}}'
    assert jsonwire.dumps(payload) == expected
    assert jsonwire.dumpb(payload) == expected.encode("utf-8")
    assert jsonwire._fast(payload) == expected.encode()  # served by orjson, not the fallback


def test_without_orjson_the_python_writer_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    payload = {"total_fee": fen_to_yuan(1234), "body": "测试", "n": [1, None, True]}
    expected = '{"total_fee":12.34,"body":"测试","n":[1,null,true]}'
    monkeypatch.setattr(jsonwire, "_ORJSON", False)
    assert jsonwire._fast(payload) is None
    assert jsonwire.dumps(payload) == expected
    assert jsonwire.dumpb(payload) == expected.encode("utf-8")


def test_the_module_imports_without_orjson() -> None:
    code = (
        "import sys; sys.modules['orjson'] = None\n"  # import orjson now raises ImportError
        "from decimal import Decimal\n"
        "from jubao.protocol import jsonwire\n"
        "assert not jsonwire._ORJSON\n"
        "print(jsonwire.dumps({'a': Decimal('0.10')}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == '{"a":0.10}'


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.01"), "-0.01"),
        (Decimal("1.23E-7"), "0.000000123"),
        (Decimal("0E-2"), "0.00"),
        (Decimal("123456789012345678901234567890.12"), "123456789012345678901234567890.12"),
    ],
)
def test_decimals_keep_their_exact_digits(number: Decimal, text: str) -> None:
    assert jsonwire.dumps({"a": [number, {"b": (number,)}]}) == f'{{"a":[{text},{{"b":[{text}]}}]}}'


HIGH, LOW = chr(0xD800), chr(0xDC80)  # LOW is the fast path's marker


@pytest.mark.parametrize("text", [HIGH, LOW, f"a{LOW}b", f"重复的字段 {HIGH}"])
@pytest.mark.parametrize("with_decimal", [False, True])
def test_a_lone_surrogate_is_escaped_and_never_taken_for_a_number(
    text: str, with_decimal: bool
) -> None:
    # "\udc80" is the fast path's own marker for a Decimal: a caller's string equal to it must
    # stay a string, whether or not the answer holds a Decimal
    payload: dict[str, Any] = {"message": text, "tail": [text]}
    if with_decimal:
        payload["amount"] = Decimal("1.50")
    out = jsonwire.dumps(payload)
    assert out == slow(payload)
    out.encode("utf-8")  # always encodable
    assert json.loads(out)["message"] == text
    assert jsonwire.dumpb(payload) == out.encode("utf-8")


@pytest.mark.parametrize(
    "value",
    [1.5, {"a": 0.1}, {"a": [{"b": 2.0}]}, Decimal("NaN"), {"a": Decimal("Infinity")}, object()],
)
def test_floats_and_unknown_values_are_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        jsonwire.dumps(value)
    with pytest.raises(TypeError):
        jsonwire.dumpb(value)


class Colour(enum.StrEnum):
    RED = "red"


class Size(enum.IntEnum):
    BIG = 3


def test_keys_and_subclasses_as_before() -> None:
    payload = {1: "one", "colour": Colour.RED, "size": Size.BIG, "ok": True, "none": None}
    assert jsonwire.dumps(payload) == '{"1":"one","colour":"red","size":3,"ok":true,"none":null}'


def test_deep_nesting_survives() -> None:
    value: Any = Decimal("0.01")
    for depth in range(40):
        value = {"k": [value, depth]}
    assert jsonwire.dumps(value) == slow(value)


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(values)
def test_the_fast_path_writes_what_the_python_writer_writes(value: Any) -> None:
    assert jsonwire.dumps(value) == slow(value)
    assert jsonwire.dumpb(value) == slow(value).encode("utf-8", "strict")


@pytest.mark.parametrize(("opening", "closing"), [("[", "]"), ('{"k":', "}")])
def test_nesting_is_accepted_up_to_32_containers(opening: str, closing: str) -> None:
    def nested(depth: int) -> str:
        return opening * depth + "1" + closing * depth

    assert jsonwire.loads(nested(32)) is not None
    assert jsonwire.loads(f"[{nested(31)}, 2, [], {{}}]") is not None
    with pytest.raises(jsonwire.JsonError, match="嵌套"):
        jsonwire.loads(nested(33))
    with pytest.raises(jsonwire.JsonError, match="嵌套"):
        jsonwire.loads(f'{{"a": 1, "b": [{nested(32)}]}}')


def test_loads_keeps_the_standard_librarys_rules() -> None:
    assert jsonwire.loads('{"a": 1.10}') == {"a": Decimal("1.10")}
    assert jsonwire.loads(b'{"a": 1}') == {"a": 1}
    with pytest.raises(jsonwire.JsonError):
        jsonwire.loads('\ufeff{"a": 1}')  # a BOM, as json.loads refuses it
    with pytest.raises(jsonwire.JsonError, match="重复"):
        jsonwire.loads('{"a": 1, "a": 2}')
    with pytest.raises(jsonwire.JsonError, match="NaN"):
        jsonwire.loads('{"a": NaN}')


@pytest.mark.parametrize("with_orjson", [True, False])
def test_plain_loads_reads_as_the_json_module(
    monkeypatch: pytest.MonkeyPatch, with_orjson: bool
) -> None:
    """What jubao stored itself (payments/instructions.py): read back as ``json.loads`` reads
    it, with orjson or without it."""
    monkeypatch.setattr(jsonwire, "_ORJSON", with_orjson)
    stored = {"wallet": {"appId": "wx1", "package": "prepay_id=wx2", "body": "订单 \u2028"}}
    assert jsonwire.plain_loads(jsonwire.dumps(stored)) == stored
    assert jsonwire.plain_loads(jsonwire.dumpb(stored)) == stored
    assert jsonwire.plain_loads(b'{"a":1.5,"a":2}') == {"a": 2}  # not the caller-input guards
    # what orjson alone refuses is read as the json module reads it
    assert jsonwire.plain_loads('{"a":"\\ud800"}') == {"a": "\ud800"}
    assert math.isnan(jsonwire.plain_loads('{"n":NaN}')["n"])
    with pytest.raises(json.JSONDecodeError):
        jsonwire.plain_loads(b'{"a":')
