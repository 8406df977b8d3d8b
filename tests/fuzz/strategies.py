"""Hypothesis strategies for hostile Open API requests.

Bodies are built as JSON *text* (not through ``json.dumps`` of a dict) so that a strategy can say
things ``json.dumps`` cannot: duplicate keys, ``NaN``, ``1e-320``, lone surrogate escapes, number
texts with 60 digits. ``Raw`` carries a fragment of JSON text together with the text a Fubei client
would sign for it when it is a top-level value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

METHODS = (
    "openapi.payment.order.mina",
    "openapi.payment.order.query",
    "openapi.payment.order.close",
    "openapi.payment.order.refund",
    "openapi.payment.order.refund.query",
    "openapi.payment.refund.statistics",
    "openapi.get.time",
    "openapi.payment.order.bill",
    "openapi.payment.order.reconciliation",
    "openapi.payment.store.query",
    "openapi.payment.cashier.query",
    "openapi.store.category",
)
UNKNOWN_METHODS = (
    "openapi.payment.order.teleport",
    "OPENAPI.GET.TIME",
    "openapi.get.time ",
    "fbpay.order.create",
    "",
    "openapi.payment.order.mina\x00",
    "openapi.payment.order.ｍｉｎａ",
)

NASTY_STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",  # lone high surrogate (serialised as the escape \\ud800)
    "\udfff",
    "x\udbff",
    "\u202e12.0",  # RTL override
    "\u200b",  # zero-width space
    "１２",  # full-width digits
    "１.００",
    "e\u0301\u0301\u0301",  # combining marks
    "💸",
    "👨‍👩‍👧‍👦",
    "\ufeff",
    "\r\n",
    "\t",
    "null",
    "NaN",
    "Infinity",
    "-0",
    "1e308",
    "0x10",
    "1_000",
    "٣",  # Arabic-Indic digit three
    "'; DROP TABLE orders; --",
    "%s%s%n",
    "{}",
    "[]",
    "订单",
    " fz-paid",
    "fz-paid ",
)
NUMBER_TEXTS = (
    "0",
    "-0",
    "0.0",
    "-0.0",
    "1",
    "-1",
    "0.01",
    "0.001",
    "0.005",
    "0.015",
    "1e308",
    "1e309",
    "-1e308",
    "1e-320",
    "5e-324",
    "1E2",
    "1e+2",
    "1.5",
    "100000000",
    "10000000.00",
    "10000000.01",
    "1000000000000000000000000000000",  # 10**30
    "-1000000000000000000000000000000",
    "9007199254740993",
    "18446744073709551616",
    "0.1000000000000000055511151231257827021181583404541015625",
    "0." + "0" * 300 + "1",
    "9" * 400,
    "1e999999999",  # cheap to parse, ruinous to expand to digits
    "-1e999999999",
    "1e-999999999",
    "NaN",
    "Infinity",
    "-Infinity",
)


@dataclass(frozen=True)
class Raw:
    """A JSON text fragment and, for top-level use, the text a client signs for it."""

    text: str
    signed: str | None  # None: not representable in the base string (object, array, bool)


def chance(draw: st.DrawFn, percent: int) -> bool:
    """True ``percent``% of the time or so. (Hypothesis favours small integers, so the rare branch
    is the high end: ``integers(0, 9) == 0`` would be far more common than one in ten.)"""
    return draw(st.integers(1, 100)) > 100 - percent


def string_literal(value: str, ascii_only: bool) -> str:
    # json.dumps escapes lone surrogates as \\udXXX when ensure_ascii is on; with it off, they
    # would reach the UTF-8 encoder, so those strings are always escaped.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        ascii_only = True
    return json.dumps(value, ensure_ascii=ascii_only)


texts = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.builds(lambda n: "x" * n, st.integers(min_value=20, max_value=300)),
    st.builds(lambda n: "长" * n, st.integers(min_value=1, max_value=200)),
)
huge_texts = st.builds(lambda n, c: c * n, st.integers(30_000, 80_000), st.sampled_from("a长😀"))


@st.composite
def string_raws(draw: st.DrawFn, pool: st.SearchStrategy[str] = texts) -> Raw:
    value = draw(pool)
    return Raw(string_literal(value, draw(st.booleans())), value)


number_raws = st.one_of(
    st.sampled_from(NUMBER_TEXTS).map(lambda t: Raw(t, t)),
    st.integers(min_value=-(10**40), max_value=10**40).map(lambda i: Raw(str(i), str(i))),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(lambda d: Raw(str(d), str(d))),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: Raw(repr(f), repr(f))),
)
scalar_raws = st.one_of(
    string_raws(),
    number_raws,
    st.sampled_from(["true", "false"]).map(lambda t: Raw(t, None)),
    st.just(Raw("null", "")),
)


def _array(items: list[Raw]) -> Raw:
    return Raw("[" + ",".join(item.text for item in items) + "]", None)


def _object(pairs: list[tuple[str, Raw]], ascii_only: bool = True) -> Raw:
    body = ",".join(f"{string_literal(k, ascii_only)}:{v.text}" for k, v in pairs)
    return Raw("{" + body + "}", None)


json_raws = st.recursive(
    scalar_raws,
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(_array),
        st.lists(
            st.tuples(st.sampled_from(["a", "total_fee", "", "\ud800"]), children), max_size=4
        ).map(_object),
    ),
    max_leaves=12,
)


@st.composite
def deep_raws(draw: st.DrawFn) -> Raw:
    depth = draw(st.sampled_from([31, 32, 33, 34, 100, 1000, 5000]))
    if draw(st.booleans()):
        return Raw("[" * depth + "]" * depth, None)
    return Raw('{"a":' * depth + "1" + "}" * depth, None)


any_value = st.one_of(
    scalar_raws,
    scalar_raws,
    json_raws,
    deep_raws(),
    string_raws(huge_texts),
)


def render_object(pairs: list[tuple[str, Raw]], ascii_keys: bool = True) -> str:
    return _object(pairs, ascii_keys).text


def biz_templates(sandbox_info: dict[str, Any], refs: dict[str, str]) -> dict[str, list[Any]]:
    """Plausible values per business field; the fuzzer mixes these with hostile ones."""
    return {
        "merchant_order_sn": [refs["paid"], refs["unpaid"], refs["closed"], "fz-new", "x" * 32],
        "order_sn": [refs["paid_order_sn"], "20240101000000000000"],
        "trade_no": [refs["paid_order_sn"]],
        "sub_openid": [sandbox_info["demo_openid"]],
        "total_fee": ["0.01", "1.00", 0.01],
        "store_id": [sandbox_info["store_id"], str(sandbox_info["store_id"]), 99999999],
        "cashier_id": [sandbox_info["cashier_id"], 0, 99999999],
        "body": ["测试商品"],
        "attach": ["附加"],
        "call_back_url": ["https://merchant.example/notify", "http://127.0.0.1:9/n"],
        "call_back": ["https://merchant.example/notify"],
        "refund_money": ["0.01", "100.00", ""],
        "merchant_refund_sn": ["fz-r1", "fz-r-new"],
        "refund_sn": [refs["refund_sn"]],
        "start_time": ["2026-01-01 00:00:00", "2026-02-29 00:00:00", "2099-12-31 23:59:59"],
        "end_time": ["2026-01-31 23:59:59", "2025-12-31 23:59:59", "2026-01-01 00:00:00"],
        "year": [2026, "2026", "1999", 0],
        "month": [1, "12", 13, "0"],
        "day": [1, "31", 30, "-1"],
        "page": [1, "2", 0, 100000, -1],
        "limit": [10, "100", 0, 101],
        "type": [1, "1", 0, 2],
        "storeId": [sandbox_info["store_id"], str(sandbox_info["store_id"]), 99999999],
        "store_name": ["店", "%", "_", "Demo"],
        "parent_id": [0, "1", 101, 77],
    }


METHOD_FIELDS: dict[str, tuple[str, ...]] = {
    "openapi.payment.order.mina": (
        "merchant_order_sn",
        "sub_openid",
        "total_fee",
        "store_id",
        "cashier_id",
        "body",
        "attach",
        "call_back_url",
        "call_back",
    ),
    "openapi.payment.order.query": ("merchant_order_sn", "order_sn", "trade_no"),
    "openapi.payment.order.close": ("merchant_order_sn", "order_sn", "trade_no"),
    "openapi.payment.order.refund": (
        "merchant_order_sn",
        "order_sn",
        "refund_money",
        "merchant_refund_sn",
    ),
    "openapi.payment.order.refund.query": (
        "merchant_order_sn",
        "order_sn",
        "refund_sn",
        "merchant_refund_sn",
    ),
    "openapi.payment.refund.statistics": ("merchant_order_sn", "order_sn", "trade_no"),
    "openapi.get.time": (),
    "openapi.payment.order.bill": (
        "start_time", "end_time", "store_id", "cashier_id", "page", "limit",
    ),
    "openapi.payment.order.reconciliation": (
        "year", "month", "day", "store_id", "cashier_id", "page", "limit", "type",
    ),
    "openapi.payment.store.query": ("storeId", "store_name", "page", "limit"),
    "openapi.payment.cashier.query": ("store_id", "page", "limit"),
    "openapi.store.category": ("parent_id",),
}  # fmt: skip


def plain_raw(value: Any) -> Raw:
    text = json.dumps(value, ensure_ascii=False)
    return Raw(text, value if isinstance(value, str) else text)


@st.composite
def biz_texts(draw: st.DrawFn, method: str, info: dict[str, Any], refs: dict[str, str]) -> str:
    """``biz_content``: mostly a mutated plausible object for ``method``, sometimes anything."""
    shape = draw(st.integers(0, 9))
    if shape == 9:
        return draw(st.sampled_from(["", " ", "{}", "[]", "[1]", "42", '"x"', "{oops", "null"]))
    if shape == 8:
        return draw(any_value).text
    if shape == 7:
        return draw(st.text(max_size=60))
    templates = biz_templates(info, refs)
    templates["merchant_order_sn"].append(draw(st.from_regex(r"fz-[a-z0-9]{1,12}", fullmatch=True)))
    names = list(METHOD_FIELDS.get(method) or draw(st.sampled_from(list(METHOD_FIELDS.values()))))
    # each field: sometimes missing, sometimes hostile, mostly plausible, so that a fair share of
    # requests gets past validation to the business rules (and to success)
    pairs: list[tuple[str, Raw]] = []
    for name in names:
        if chance(draw, 6):
            continue
        if chance(draw, 12) or name not in templates:
            pairs.append((name, draw(any_value)))
        elif chance(draw, 30) and name not in ("sub_openid", "store_id", "total_fee"):
            continue  # optional fields and alternative references come and go
        else:
            pairs.append((name, plain_raw(draw(st.sampled_from(templates[name])))))
    if chance(draw, 6) and pairs:  # a duplicate key
        name, _ = draw(st.sampled_from(pairs))
        pairs.append((name, draw(any_value)))
    for _ in range(draw(st.integers(0, 2))):  # extra fields
        pairs.append((draw(st.sampled_from(["extra", "x" * 40, "\u202e", "键"])), draw(any_value)))
    if draw(st.booleans()):
        pairs = draw(st.permutations(pairs))
    return render_object(pairs, ascii_keys=draw(st.booleans()))
