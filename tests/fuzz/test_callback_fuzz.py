"""Hostile input at the channel callback ``POST /channel/wechatpay/notify``, on both databases.

The route is unauthenticated until the signature is checked, so three layers are fuzzed:

1. hostile headers and bodies (random bytes, JSON shapes, wrong or missing signatures, probes,
   oversized, Unicode): refused with WeChat's answer (400 ``{"code":"FAIL",...}``, 413 when
   oversized);
2. bodies signed with the simulator's platform key (WeChat's), so verification passes and the
   envelope and decryption are reached: hostile envelopes are refused the same way;
3. signed and correctly encrypted resources whose plaintext is hostile (types, amounts,
   references, another provider or sub-merchant): refused, or acknowledged (204) when it is a
   duplicate of what jubao already knows.

Each reply must be 204, 400 or 413 (never a 500), and nothing may change: the fuzzed references
are the paid seeded order, its refund and unknown orders, so no generated report is news.
The only trace a signed but wrong report may leave is a ``PAYMENT_REFUSED`` or
``REFUND_REPORT_REFUSED`` timeline event (by design: ``repository.mark_paid``, ``settle_refund``).

The Alipay callback (``/channel/alipay/notify``, form-encoded, RSA2 over the sorted parameters)
gets hostile bodies and forms, unsigned or with forged signatures: always answered ``fail`` (never
``success``, never a 500), nothing changed.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from jubao.channels.simulator.signing import encrypt_resource, wechatpay_headers
from jubao.storage.sql import Tx, fetch_one
from tests.fuzz import strategies as gen
from tests.fuzz.harness import FuzzSandbox, Portal, state_counts

pytestmark = pytest.mark.slow

TOTAL_EXAMPLES = int(os.environ.get("JUBAO_FUZZ_EXAMPLES", "500"))
# three tests per database; a share of the total like the gateway fuzzer's units
PER_TEST = max(5, TOTAL_EXAMPLES // (12 * 2) + 1)
EXPLORING = TOTAL_EXAMPLES > 1000

FUZZ = settings(
    max_examples=PER_TEST,
    deadline=None,
    derandomize=not EXPLORING,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
NOTIFY = "/channel/wechatpay/notify"


def events_other_than_refusals() -> Tx[int]:
    row = (
        yield fetch_one(
            "SELECT COUNT(*) AS n FROM order_events "
            "WHERE kind NOT IN ('PAYMENT_REFUSED', 'REFUND_REPORT_REFUSED')"
        )
    ).first
    return int(row["n"]) if row else 0


async def snapshot(sandbox: FuzzSandbox) -> dict[str, int]:
    await sandbox.simulator.idle()
    counts = await sandbox.runtime.db.read(state_counts)
    counts["order_events"] = await sandbox.runtime.db.read(events_other_than_refusals)
    return counts


def deliver(
    portal: Portal, sandbox: FuzzSandbox, body: bytes, headers: dict[str, str]
) -> tuple[int, str]:
    if currently_in_test_context():
        note(f"database={sandbox.database} headers={headers!r} body={body[:2000]!r}")

    async def run() -> tuple[dict[str, int], Any, dict[str, int]]:
        before = await snapshot(sandbox)
        reply = await sandbox.client.post(NOTIFY, content=body, headers=headers)
        after = await snapshot(sandbox)
        return before, reply, after

    before, reply, after = portal.run(run())
    if currently_in_test_context():
        event(f"answer {reply.status_code}")
    assert reply.status_code in (204, 400, 413), (reply.status_code, reply.text[:500])
    if reply.status_code != 204:
        assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
        answer = json.loads(reply.text)
        assert answer.get("code") == "FAIL" and isinstance(answer.get("message"), str), answer
        assert "Traceback" not in answer["message"], answer
    assert after == before, (reply.status_code, reply.text[:300], before, after)
    return reply.status_code, reply.text


def signed_headers(
    sandbox: FuzzSandbox, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    simulator = sandbox.simulator
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = wechatpay_headers(
        simulator.platform_private_key, simulator.public_key_id, stamp, body
    )
    headers["Content-Type"] = "application/json"
    return headers


def apiv3_key(sandbox: FuzzSandbox) -> str:
    return sandbox.simulator.config.merchants[0].apiv3_key


HEADER_VALUES = st.one_of(
    st.sampled_from(gen.NASTY_STRINGS).filter(lambda s: s.isascii() and "\x00" not in s),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
    st.sampled_from(["WECHATPAY/SIGNTEST/abc", "0", "-1", "99999999999999999999", "1e3"]),
)
HEADER_NAMES = st.sampled_from(
    [
        "Wechatpay-Timestamp",
        "Wechatpay-Nonce",
        "Wechatpay-Signature",
        "Wechatpay-Serial",
        "Wechatpay-Signature-Type",
        "Content-Type",
        "Content-Encoding",
    ]
)
BODIES = st.one_of(
    st.binary(max_size=300),
    gen.any_value.map(lambda raw: raw.text.encode("utf-8", "surrogatepass")),
    gen.json_raws.map(lambda raw: raw.text.encode("utf-16")),
    st.sampled_from([b"", b"{}", b"null", b"[]", b'{"resource":null}', b"\xef\xbb\xbf{}"]),
    st.integers(1_100_000, 1_200_000).map(lambda n: b'{"a":"' + b"x" * n + b'"}'),
)


@FUZZ
@given(data=st.data(), body=BODIES)
def test_hostile_headers_and_bodies(
    portal: Portal, fuzz_gateway: FuzzSandbox, data: st.DataObject, body: bytes
) -> None:
    """Anything at all, unsigned, wrongly signed or signed over other bytes: always refused."""
    choice = data.draw(st.integers(0, 3))
    if choice == 0:
        headers: dict[str, str] = {}
    else:
        headers = signed_headers(fuzz_gateway, body if choice == 1 else body + b" ")
        if choice == 1:  # correctly signed, then one or more headers spoiled
            for _ in range(data.draw(st.integers(1, 3))):
                headers[data.draw(HEADER_NAMES)] = data.draw(HEADER_VALUES)
        if choice == 3:  # an old or future timestamp, correctly signed
            stamp = int(time.time()) + data.draw(st.sampled_from([-3600, -301, 301, 10**6]))
            headers = signed_headers(fuzz_gateway, body, stamp)
    status, _ = deliver(portal, fuzz_gateway, body, headers)
    assert status != 204


def envelope_text(resource: Any, event_type: Any = "TRANSACTION.SUCCESS") -> bytes:
    return json.dumps(
        {
            "id": "EV-fuzz",
            "create_time": "2026-01-01T00:00:00+08:00",
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": "支付成功",
            "resource": resource,
        },
        ensure_ascii=False,
    ).encode("utf-8", "surrogatepass")


@FUZZ
@given(data=st.data())
def test_signed_hostile_envelopes(
    portal: Portal, fuzz_gateway: FuzzSandbox, data: st.DataObject
) -> None:
    """Signed by WeChat's key, so the envelope and the decryption are what is fuzzed."""
    good = encrypt_resource(apiv3_key(fuzz_gateway), b'{"out_trade_no":"x"}', "transaction")
    shape = data.draw(st.integers(0, 3))
    if shape == 0:  # random JSON text or bytes as the whole body
        body = data.draw(BODIES.filter(lambda b: len(b) < 100_000))
    else:
        resource: Any = dict(good)
        event_type: Any = data.draw(
            st.sampled_from(["TRANSACTION.SUCCESS", "REFUND.SUCCESS", "REFUND.ABNORMAL"])
        )
        if shape == 1:  # one to three fields of the resource replaced by anything
            for _ in range(data.draw(st.integers(1, 3))):
                key = data.draw(
                    st.sampled_from(["algorithm", "ciphertext", "nonce", "associated_data",
                                     "original_type", "extra"])
                )  # fmt: skip
                resource[key] = json.loads(data.draw(gen.scalar_raws).text or "null")
        elif shape == 2:  # a tampered ciphertext or the wrong key
            sealed = bytearray(resource["ciphertext"].encode())
            index = data.draw(st.integers(0, len(sealed) - 1))
            sealed[index] = ord(data.draw(st.sampled_from("A/+=a0")))
            resource["ciphertext"] = sealed.decode()
            if data.draw(st.booleans()):
                resource = encrypt_resource("k" * 32, b'{"out_trade_no":"x"}', "transaction")
        else:  # the envelope's own fields
            event_type = json.loads(data.draw(gen.scalar_raws).text or "null")
            if data.draw(st.booleans()):
                resource = json.loads(data.draw(gen.json_raws).text or "null")
        body = envelope_text(resource, event_type)
    status, _ = deliver(portal, fuzz_gateway, body, signed_headers(fuzz_gateway, body))
    assert status != 204


def paid_transaction(sandbox: FuzzSandbox) -> dict[str, Any]:
    """What WeChat reports for the seeded paid order (true, so acknowledged as a duplicate)."""
    transaction = sandbox.simulator.transaction_state(sandbox.paid_order_sn)["transaction"]
    return dict(json.loads(json.dumps(transaction)))


def seeded_refund(sandbox: FuzzSandbox) -> dict[str, Any]:
    refund = sandbox.simulator.transaction_state(sandbox.paid_order_sn)["refunds"][0]
    plain = {k: v for k, v in refund.items() if k not in ("notify_url", "reason")}
    plain["refund_status"] = plain.pop("status", "SUCCESS")
    return plain


@FUZZ
@given(data=st.data())
def test_signed_hostile_plaintexts(
    portal: Portal, fuzz_gateway: FuzzSandbox, data: st.DataObject
) -> None:
    """Signed, correctly encrypted reports whose content is wrong or hostile."""
    refund = data.draw(st.booleans())
    plain: dict[str, Any] = (
        seeded_refund(fuzz_gateway) if refund else paid_transaction(fuzz_gateway)
    )
    keys = [*sorted(plain), "amount.total", "amount.refund", "out_trade_no", "sp_mchid",
            "sub_mchid", "out_refund_no", "trade_state", "refund_status"]  # fmt: skip
    for _ in range(data.draw(st.integers(0, 4))):
        key = data.draw(st.sampled_from(keys))
        value: Any
        if data.draw(st.booleans()):
            value = json.loads(data.draw(gen.json_raws).text or "null")
        else:
            value = data.draw(
                st.sampled_from(["", "fz-none", "SUCCESS", "CLOSED", "ABNORMAL", "PROCESSING",
                                 0, -1, 1, 2**63, 10**30, None, {}, []])
            )  # fmt: skip
        if data.draw(st.integers(0, 5)) == 0:
            plain.pop(key.split(".")[0], None)
        elif "." in key:
            outer, inner = key.split(".")
            nested = plain.get(outer)
            plain[outer] = {**(nested if isinstance(nested, dict) else {}), inner: value}
        else:
            plain[key] = value
    note(f"plaintext={plain!r}")
    kind = "refund" if refund else "transaction"
    try:
        text = json.dumps(plain, ensure_ascii=data.draw(st.booleans())).encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(plain).encode("utf-8")
    resource = {"original_type": kind, **encrypt_resource(apiv3_key(fuzz_gateway), text, kind)}
    event_type = "REFUND.SUCCESS" if refund else "TRANSACTION.SUCCESS"
    body = envelope_text(resource, event_type)
    deliver(portal, fuzz_gateway, body, signed_headers(fuzz_gateway, body))


def test_true_reports_are_acknowledged_and_change_nothing(
    portal: Portal, fuzz_gateway: FuzzSandbox
) -> None:
    """The baseline of the plaintext fuzzer: a true duplicate report is acknowledged (204), so
    the refusals above are refusals of the hostile content, not of the harness's signing."""
    for kind, plain, event_type in (
        ("transaction", paid_transaction(fuzz_gateway), "TRANSACTION.SUCCESS"),
        ("refund", seeded_refund(fuzz_gateway), "REFUND.SUCCESS"),
    ):
        text = json.dumps(plain).encode()
        resource = {"original_type": kind, **encrypt_resource(apiv3_key(fuzz_gateway), text, kind)}
        body = envelope_text(resource, event_type)
        status, reply = deliver(portal, fuzz_gateway, body, signed_headers(fuzz_gateway, body))
        assert status == 204, (kind, reply)


ALIPAY_NOTIFY = "/channel/alipay/notify"
ALIPAY_KEYS = st.sampled_from(
    ["notify_id", "notify_type", "trade_status", "out_trade_no", "trade_no", "total_amount",
     "app_id", "auth_app_id", "sign", "sign_type", "gmt_payment", "out_biz_no", "refund_fee",
     "seller_id", "buyer_id", "charset", "version", "notify_time"]
)  # fmt: skip
ALIPAY_VALUES = st.one_of(
    st.sampled_from(gen.NASTY_STRINGS),
    st.sampled_from(["TRADE_SUCCESS", "TRADE_FINISHED", "RSA2", "RSA", "0.01", "-1", "1e9"]),
    st.text(max_size=60),
)
ALIPAY_FORMS = st.dictionaries(ALIPAY_KEYS, ALIPAY_VALUES, max_size=12)


@FUZZ
@given(data=st.data())
def test_hostile_alipay_notifications(
    portal: Portal, fuzz_gateway: FuzzSandbox, data: st.DataObject
) -> None:
    """Forms with forged or missing signatures, and bodies that are no form at all: ``fail``."""
    if data.draw(st.booleans()):
        form = data.draw(ALIPAY_FORMS)
        body = urlencode(form, errors="surrogatepass").encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    else:
        body = data.draw(BODIES)
        headers = {"Content-Type": data.draw(st.sampled_from(
            ["application/x-www-form-urlencoded", "application/json", "text/plain"]
        ))}  # fmt: skip
    if currently_in_test_context():
        note(f"database={fuzz_gateway.database} body={body[:2000]!r}")

    async def run() -> tuple[dict[str, int], Any, dict[str, int]]:
        before = await snapshot(fuzz_gateway)
        reply = await fuzz_gateway.client.post(ALIPAY_NOTIFY, content=body, headers=headers)
        after = await snapshot(fuzz_gateway)
        return before, reply, after

    before, reply, after = portal.run(run())
    assert reply.status_code in (200, 413), (reply.status_code, reply.text[:300])
    assert reply.text != "success", body[:300]
    assert "Traceback" not in reply.text
    assert after == before, (reply.text[:300], before, after)
