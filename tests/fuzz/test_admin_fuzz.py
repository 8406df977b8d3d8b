"""Hostile requests to the admin API (``/admin/api/...``), on both databases.

Methods, paths (ids negative, huge, not numbers, Unicode, traversal), query parameters and
``Authorization`` headers are generated; client addresses vary (the wrong-token throttle is per
client and global). Every answer must be JSON ``{"error": <code>, "message": <text>}`` or a
view, with the status the rules give:

- 429 (with ``Retry-After``) exactly when the throttle says the client must wait;
- else 401 (with ``WWW-Authenticate: Bearer``) for a missing or wrong token, on every path
  under ``/admin/api/`` (unknown ones too: the token is checked before anything is revealed);
- else 404 for no such notification or path, 405 for a known path with another method, 400 for
  invalid parameters, 200 with the view otherwise.

Nothing changes except what a valid resend does: that notification's schedule and one
``NOTIFY_RESEND`` timeline event.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from jubao.security.admin_token import shared_throttle
from jubao.storage.sql import Tx, fetch_all, fetch_one
from tests.fuzz import strategies as gen
from tests.fuzz.harness import FuzzSandbox, Portal, state_counts

pytestmark = pytest.mark.slow

TOTAL_EXAMPLES = int(os.environ.get("JUBAO_FUZZ_EXAMPLES", "500"))
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
BASE = "/admin/api/notifications"
CLIENTS = ["127.0.0.1", "10.0.0.7", "192.0.2.1", "2001:db8::1", "unknown"]
STATUSES = ("PENDING", "DELIVERED", "FAILED")
MAX_ID = 2**63 - 1


def fixed_state() -> Tx[dict[str, Any]]:
    """Everything but what a resend may change (the schedule columns, its timeline event)."""
    counts = yield from state_counts()
    row = (
        yield fetch_one("SELECT COUNT(*) AS n FROM order_events WHERE kind <> 'NOTIFY_RESEND'")
    ).first
    counts["order_events"] = int(row["n"]) if row else 0
    rows = (
        yield fetch_all(
            "SELECT notification_id, order_id, kind, url, payload FROM notifications "
            "ORDER BY notification_id"
        )
    ).rows
    return {"counts": counts, "notifications": [tuple(r.values()) for r in rows]}


def resend_events() -> Tx[int]:
    row = (
        yield fetch_one("SELECT COUNT(*) AS n FROM order_events WHERE kind = 'NOTIFY_RESEND'")
    ).first
    return int(row["n"]) if row else 0


def notification_ids() -> Tx[list[int]]:
    rows = (yield fetch_all("SELECT notification_id FROM notifications")).rows
    return [int(r["notification_id"]) for r in rows]


async def ensure_a_notification(sandbox: FuzzSandbox) -> None:
    """A paid order with a callback URL, so there are notifications to show and resend (the
    seeded orders have none). An identical create replays, so this runs once per sandbox."""
    info = sandbox.info
    answer = await sandbox.call(
        "openapi.payment.order.mina",
        {"merchant_order_sn": "fz-admin", "sub_openid": info["demo_openid"],
         "total_fee": "0.03", "store_id": info["store_id"],
         "call_back_url": "http://127.0.0.1:9/notify"},
    )  # fmt: skip
    assert answer["result_code"] == 200, answer
    query = {"merchant_order_sn": "fz-admin"}
    state = await sandbox.call("openapi.payment.order.query", query)
    if state["data"]["trade_state"] != "SUCCESS":
        paid = await sandbox.http.post(
            "/sim/wechatpay/request-payment",
            json={"sign_params": answer["data"]["sign_params"], "openid": info["demo_openid"]},
        )
        assert paid.status_code == 200, paid.text
        await sandbox.simulator.idle()
        state = await sandbox.call("openapi.payment.order.query", query)
        assert state["data"]["trade_state"] == "SUCCESS", state


def id_texts(known: list[int]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(known).map(str),
        st.sampled_from(known).map(lambda n: f"{n:03d}"),  # leading zeros: the same id
        st.sampled_from(["0", "-1", "999999999", str(MAX_ID), str(MAX_ID + 1), "9" * 40, "1e3",
                         "0x1", "１", "٣", "1.0", " 1", "abc", "", "%00", "..", "../1", "1;2"]),
        gen.texts.map(lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="")),
    )  # fmt: skip


QUERY_NAMES = st.sampled_from(["status", "limit", "offset", "order_sn", "extra", ""])
QUERY_VALUES = st.one_of(
    st.sampled_from(["", "0", "1", "50", "500", "501", "-1", "1000000000", "1000000001",
                     "9" * 30, "pending", "DELIVERED", "failed", "PENDING ", "１", "²", "1e2",
                     "fz-admin", "'; DROP TABLE notifications; --"]),
    gen.texts.filter(lambda text: "\x00" not in text),
)  # fmt: skip


@st.composite
def admin_requests(draw: st.DrawFn, token: str, known: list[int]) -> dict[str, Any]:
    shape = draw(st.sampled_from(["list", "show", "resend", "other"]))
    method = "POST" if shape == "resend" else "GET"
    if gen.chance(draw, 20):  # another method
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]))
    if shape == "list":
        path = BASE + draw(st.sampled_from(["", "/"]))
    elif shape == "show":
        path = f"{BASE}/{draw(id_texts(known))}"
    elif shape == "resend":
        path = f"{BASE}/{draw(id_texts(known))}/resend" + draw(st.sampled_from(["", "", "/"]))
    else:
        path = "/admin/api/" + draw(
            st.sampled_from(["", "orders", "notifications/1/resend/2", "NOTIFICATIONS",
                             "notifications/resend", "merchants/1"])
        )  # fmt: skip
    params = draw(st.lists(st.tuples(QUERY_NAMES, QUERY_VALUES), max_size=4))
    # three in four requests carry the token (in some accepted form), so that the global
    # wrong-token throttle (a burst of 100) leaves most of a long run to the rules behind it
    right = [f"Bearer {token}", f"bearer {token}", f"Bearer  {token} ", f"BEARER {token}"]
    wrong = [None, "", "Bearer", "Bearer ", f"Basic {token}", f"Bearer {token}x",
             f"Bearer {token[:-1]}", f"Bearer {token.upper()}", "Bearer \u00e9", token,
             f"Bearer {token}\u200b"]  # fmt: skip
    authorization = draw(st.sampled_from(wrong if gen.chance(draw, 25) else right))
    return {
        "method": method,
        "path": path,
        "params": params,
        "authorization": authorization,
        # mostly fresh addresses (each has its own burst of wrong tokens), some repeated
        "client": draw(st.one_of(st.sampled_from(CLIENTS), st.ip_addresses().map(str))),
    }


def token_accepted(authorization: str | None, token: str) -> bool:
    """The documented rule: scheme ``Bearer`` (any case), then the token, spaces around it
    ignored."""
    scheme, _, presented = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and presented.strip() == token


def valid_int(raw: str, low: int, high: int) -> bool:
    return raw == "" or (raw.isascii() and raw.isdigit() and low <= int(raw) <= high)


def list_params_valid(params: list[tuple[str, str]]) -> bool | None:
    """True/False where the rule is certain; None for non-ASCII digits (accepted or not)."""
    last = dict(params)
    status = last.get("status", "")
    if status and status.upper() not in STATUSES:
        return False
    for name, low, high in (("limit", 1, 500), ("offset", 0, 10**9)):
        raw = last.get(name, "")
        if raw and not raw.isascii() and raw.isdigit():
            return None
        if not valid_int(raw, low, high):
            return False
    return True


ID_PATH = re.compile(rf"{BASE}/([0-9]+)(/resend)?")


def expected_status(request: dict[str, Any], known: list[int]) -> set[int]:
    """What the rules say, once the throttle and the token are passed."""
    path, method = request["path"], request["method"]
    if path == BASE:
        if method != "GET":
            return {405}
        valid = list_params_valid(request["params"])
        return {200, 400} if valid is None else {200} if valid else {400}
    found = ID_PATH.fullmatch(path)
    if found is None:
        return {404}
    wanted = "POST" if found.group(2) else "GET"
    if method != wanted:
        return {405}
    return {200} if int(found.group(1)) in known else {404}


def send(portal: Portal, sandbox: FuzzSandbox, request: dict[str, Any]) -> httpx.Response:
    headers: dict[bytes, bytes] = {}
    if request["authorization"] is not None:  # bytes: a client may send any octets
        headers[b"Authorization"] = request["authorization"].encode("utf-8")
    # the query string by hand: a client may percent-encode any octets, lone surrogates too
    query = "&".join(
        f"{quote(key, safe='')}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
        for key, value in request["params"]
    )
    url = request["path"] + (f"?{query}" if query else "")

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=sandbox.app, client=(request["client"], 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as client:
            return await client.request(request["method"], url, headers=headers)

    return portal.run(run())


@FUZZ
@given(data=st.data())
def test_hostile_admin_requests(
    portal: Portal, fuzz_gateway: FuzzSandbox, data: st.DataObject
) -> None:
    sandbox = fuzz_gateway
    token = sandbox.info["admin_token"]
    db = sandbox.runtime.db
    portal.run(ensure_a_notification(sandbox))
    known = portal.run(db.read(notification_ids))
    assert known
    request = data.draw(admin_requests(token, known))
    note(f"database={sandbox.database} request={request!r}")

    throttle = shared_throttle(db)
    before = portal.run(db.read(fixed_state))
    resends_before = portal.run(db.read(resend_events))
    waiting = throttle.retry_after(request["client"]) > 0
    reply = send(portal, sandbox, request)
    after = portal.run(db.read(fixed_state))
    resends_after = portal.run(db.read(resend_events))
    event(f"answer {reply.status_code}")
    note(f"answer {reply.status_code} {reply.text[:500]}")

    assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
    answer = json.loads(reply.text)
    assert isinstance(answer, dict), answer
    if reply.status_code != 200:
        assert set(answer) == {"error", "message"}, answer
        assert re.fullmatch(r"[A-Z_]+", answer["error"]), answer
    if waiting:
        assert reply.status_code == 429, reply.text
        assert int(reply.headers["retry-after"]) >= 1
    elif not token_accepted(request["authorization"], token):
        assert reply.status_code == 401, reply.text
        assert reply.headers.get("www-authenticate") == "Bearer"
    else:
        assert reply.status_code in expected_status(request, known), reply.text
    assert after == before, (before, after)
    resent = reply.status_code == 200 and request["path"].endswith("/resend")
    assert resends_after - resends_before == (1 if resent else 0)
    if resent:
        assert answer["status"] == "PENDING" and answer["attempts"] == 0, answer
    elif reply.status_code == 200 and "notifications" in answer:
        assert isinstance(answer["notifications"], list), answer
