"""Random sequences of payment operations over several orders (a hypothesis state machine).

The machine drives the real sandbox (gateway, WeChat channel, simulator over HTTP) through
create (mini-program) and swipe (payment codes that pay at once or are declined), pay (the
simulator's payer), lost and duplicated notifications (the simulator's controls, and a resend of a
delivered one), query, close, refund (part or whole, with and without ``merchant_refund_sn``,
settling successfully or not) and reverse, and after every step checks the invariants of
docs/reliability.md on every order it made:

- ``refunded_fen <= total_fen``, and it equals the sum of the order's non-failed refunds;
- a paid order has exactly one ``PAID`` event and one ``PAYMENT`` notification; an unpaid one
  has none; a reversed one at most one of each, as many notifications as events;
- a closed order is never paid, unless its timeline records the payment as arriving late
  (after the close);
- after a query, jubao's state agrees with the simulator's (paid ⇔ paid, closed ⇔ closed);
- every answer is a well-formed envelope without ``SYSTEM_ERROR``, and a refusal changes nothing.

Payment codes whose payer confirms later (``1111``) or never (``4444``) are not driven: jubao
then polls WeChat and reverses in the background, so the books would change between steps.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from jubao.storage.sql import Tx, fetch_all
from tests.fuzz.harness import FuzzSandbox, Portal, Reply
from tests.fuzz.test_gateway_fuzz import REFUSALS, check_envelope
from tests.support import fubei

# Not marked slow: with the default budget it takes about 3 s per database (2 cores, loaded).

TOTAL_EXAMPLES = int(os.environ.get("JUBAO_FUZZ_EXAMPLES", "500"))
# A sequence costs about as much as 20-40 single fuzz requests (each step is a round trip to
# the simulator); the default (500) gives 10 sequences of 40 steps per database, `make fuzz` 200.
SEQUENCES = max(8, min(200, TOTAL_EXAMPLES // 50))
STEPS = 40
EXPLORING = TOTAL_EXAMPLES > 1000

WECHAT_PAID = ("SUCCESS", "REFUND")
CALLBACK = "http://127.0.0.1:9/notify"  # never answers: the outbox rows stay, as they must
LATE_PAYMENT = "订单已关闭后收到支付成功"
# pays at once, too little money. Not 1111 (password later) nor 4444 (walks away): jubao then
# polls WeChat and reverses in the background, so the state would change between steps.
PAYMENT_CODES = ("0000", "2222")
# jubao's own refusals, and those of an operation the order's scene does not have
SCENE_REFUSALS = REFUSALS | {"REVERSE_NOT_SUPPORTED", "CLOSE_NOT_SUPPORTED"}
RULES = {"create", "swipe", "notifications", "refund_outcome", "pay", "resend_notification",
         "query", "close", "refund", "reverse"}  # fmt: skip


@dataclass
class Order:
    merchant_order_sn: str
    order_sn: str
    total_fen: int
    sign_params: dict[str, Any]


def order_facts(order_sns: list[str]) -> Tx[dict[str, dict[str, Any]]]:
    """Each order's row, refunds, timeline and notifications, read in one transaction."""
    marks = ",".join("?" * len(order_sns))
    orders = (
        yield fetch_all(
            f"SELECT order_id, order_sn, state, total_fen, refunded_fen FROM orders "
            f"WHERE order_sn IN ({marks})",
            *order_sns,
        )
    ).rows
    facts: dict[str, dict[str, Any]] = {}
    for row in orders:
        order_id = row["order_id"]
        refunds = (
            yield fetch_all("SELECT refund_fen, status FROM refunds WHERE order_id = ?", order_id)
        ).rows
        events = (
            yield fetch_all(
                "SELECT kind, detail FROM order_events WHERE order_id = ? ORDER BY event_id",
                order_id,
            )
        ).rows
        notifications = (
            yield fetch_all("SELECT kind FROM notifications WHERE order_id = ?", order_id)
        ).rows
        facts[row["order_sn"]] = {
            "state": row["state"],
            "total_fen": int(row["total_fen"]),
            "refunded_fen": int(row["refunded_fen"]),
            "refunds": [(int(r["refund_fen"]), r["status"]) for r in refunds],
            "events": [(e["kind"], e["detail"]) for e in events],
            "notifications": [n["kind"] for n in notifications],
        }
    return facts


def invariant_problems(sn: str, fact: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    live = sum(fen for fen, status in fact["refunds"] if status != "FAILED")
    if not 0 <= fact["refunded_fen"] <= fact["total_fen"]:
        problems.append(f"{sn}: refunded_fen {fact['refunded_fen']} of {fact['total_fen']}")
    if fact["refunded_fen"] != live:
        problems.append(f"{sn}: refunded_fen {fact['refunded_fen']} != non-failed refunds {live}")
    kinds = [kind for kind, _ in fact["events"]]
    paid_events = kinds.count("PAID")
    payment_notes = fact["notifications"].count("PAYMENT")
    if fact["state"] == "SUCCESS":
        if paid_events != 1 or payment_notes != 1:
            problems.append(f"{sn}: paid with {paid_events} PAID events, {payment_notes} notes")
        if "CLOSED" in kinds:
            paid_detail = next(detail for kind, detail in fact["events"] if kind == "PAID")
            closed_at = kinds.index("CLOSED")
            if kinds.index("PAID") < closed_at or LATE_PAYMENT not in paid_detail:
                problems.append(f"{sn}: closed and paid without a late payment recorded")
    elif fact["state"].startswith("REVOK"):  # a reverse: of a paid or an unpaid payment
        if paid_events > 1 or payment_notes != paid_events:
            problems.append(f"{sn}: reversed with {paid_events} PAID events, {payment_notes} notes")
    elif paid_events or payment_notes or fact["refunds"]:
        problems.append(f"{sn}: {fact['state']} with payment traces {kinds}")
    return problems


class PaymentSequences(RuleBasedStateMachine):
    portal: Portal
    sandbox: FuzzSandbox
    tally: Counter[str]  # rule -> times run, over the whole test (it must reach every rule)

    def __init__(self) -> None:
        super().__init__()
        self.orders: list[Order] = []
        self.refund_sns: list[str] = []

    # ---- helpers ---------------------------------------------------------------------------

    def run(self, coro: Any) -> Any:
        return self.portal.run(coro)

    def call(self, method: str, biz: dict[str, Any]) -> dict[str, Any]:
        """Well-formed answers; refusals change nothing, except a close answered ORDER_PAID:
        the close found the order paid at WeChat (its notification lost) and recorded the
        payment before refusing, as it must."""
        info = self.sandbox.info
        body = fubei.body(info["app_id"], info["app_secret"], method, biz)

        async def run() -> tuple[dict[str, int], Reply, dict[str, int]]:
            before = await self.sandbox.counts()
            reply = await self.sandbox.post(body)
            return before, reply, await self.sandbox.counts()

        before, reply, after = self.run(run())
        answer = check_envelope(reply)
        reconciled = method == "openapi.payment.order.close" and answer.get("sub_code") == (
            "ORDER_PAID"
        )
        if answer["result_code"] != 200 and answer["sub_code"] in SCENE_REFUSALS and not reconciled:
            assert after == before, (method, biz, answer, before, after)
        return answer

    def pick(self, index: int) -> Order:
        return self.orders[index % len(self.orders)]

    def expect(self, what: str, answer: dict[str, Any], allowed: set[str]) -> None:
        self.tally[f"{what} {answer.get('sub_code', 'OK')}"] += 1
        if answer["result_code"] != 200:
            assert answer["sub_code"] in allowed, answer

    # ---- rules -----------------------------------------------------------------------------

    @precondition(lambda self: len(self.orders) < 4)
    @rule(fee=st.sampled_from(["0.01", "0.05", "1.00", "3.33"]))
    def create(self, fee: str) -> None:
        self.tally["create"] += 1
        sn = f"st-{uuid.uuid4().hex[:16]}"
        biz = {
            "merchant_order_sn": sn,
            "sub_openid": self.sandbox.info["demo_openid"],
            "total_fee": fee,
            "store_id": self.sandbox.info["store_id"],
            "call_back_url": CALLBACK,
        }
        answer = self.call("openapi.payment.order.mina", biz)
        assert answer["result_code"] == 200, answer
        data = answer["data"]
        fen = int(fee.replace(".", ""))
        self.orders.append(Order(sn, data["order_sn"], fen, data["sign_params"]))

    @precondition(lambda self: len(self.orders) < 4)
    @rule(fee=st.sampled_from(["0.01", "2.50"]), last_four=st.sampled_from(PAYMENT_CODES))
    def swipe(self, fee: str, last_four: str) -> None:
        """A cashier scans a customer's WeChat payment code; its last four digits decide the
        payer (the simulator's rule)."""
        self.tally["swipe"] += 1
        sn = f"st-{uuid.uuid4().hex[:16]}"
        auth_code = f"13{uuid.uuid4().int % 10**12:012d}{last_four}"
        biz = {"merchant_order_sn": sn, "auth_code": auth_code, "total_fee": fee,
               "store_id": self.sandbox.info["store_id"], "call_back_url": CALLBACK}  # fmt: skip
        answer = self.call("openapi.payment.order.swipe", biz)
        self.tally[f"swipe {answer.get('sub_code', 'OK')}"] += 1
        if answer["result_code"] == 200:
            fen = int(fee.replace(".", ""))
            self.orders.append(Order(sn, answer["data"]["order_sn"], fen, {}))

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 3), mode=st.sampled_from(["normal", "drop", "duplicate"]))
    def notifications(self, index: int, mode: str) -> None:
        """The simulator loses or duplicates this order's next notifications (or not)."""
        self.tally["notifications"] += 1
        self.sandbox.simulator.set_behaviour(
            out_trade_no=self.pick(index).order_sn, notifications=mode
        )

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 3), outcome=st.sampled_from(["success", "fail"]))
    def refund_outcome(self, index: int, outcome: str) -> None:
        self.tally["refund_outcome"] += 1
        self.sandbox.simulator.set_behaviour(
            out_trade_no=self.pick(index).order_sn, refunds=outcome
        )

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 3))
    def pay(self, index: int) -> None:
        self.tally["pay"] += 1
        order = self.pick(index)
        if not order.sign_params:  # a payment-code order: the customer paid at the till
            return

        async def pay() -> int:
            answer = await self.sandbox.http.post(
                "/sim/wechatpay/request-payment",
                json={"sign_params": order.sign_params, "openid": self.sandbox.info["demo_openid"]},
            )
            await self.sandbox.simulator.idle()  # the notification (if any) has arrived
            return answer.status_code

        status = self.run(pay())
        self.tally[f"payer {status}"] += 1
        assert status < 500, status  # a closed or paid order is refused by the payer, not a 500

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 3))
    def resend_notification(self, index: int) -> None:
        """WeChat sends an already delivered notification again."""
        self.tally["resend_notification"] += 1
        order = self.pick(index)
        simulator = self.sandbox.simulator

        async def resend() -> None:  # on the sandbox's loop: the resend spawns a delivery there
            sent = simulator.notifications(order.order_sn)
            if sent:
                simulator.resend_notification(sent[-1]["id"])
                await simulator.idle()

        self.run(resend())

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 3))
    def query(self, index: int) -> None:
        self.tally["query"] += 1
        order = self.pick(index)
        answer = self.call("openapi.payment.order.query", {"order_sn": order.order_sn})
        assert answer["result_code"] == 200, answer
        ours = answer["data"]["trade_state"]
        theirs = self.sandbox.simulator.transaction_state(order.order_sn)["transaction"]
        assert (ours == "SUCCESS") == (theirs["trade_state"] in WECHAT_PAID), (ours, theirs)
        assert (ours == "CLOSED") == (theirs["trade_state"] == "CLOSED"), (ours, theirs)

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 3), now=st.integers(0, 2))
    def close(self, index: int, now: int) -> None:
        self.tally["close"] += 1
        if now:  # a merchant closes now and then; uniform rules would close most orders unpaid
            return
        answer = self.call("openapi.payment.order.close", {"order_sn": self.pick(index).order_sn})
        self.expect("close", answer, {"ORDER_PAID", "CLOSE_NOT_SUPPORTED"})

    @precondition(lambda self: self.orders)
    @rule(
        index=st.integers(0, 3),
        amount=st.sampled_from(["0.01", "0.02", "1.00", None]),  # None: the whole remainder
        refund_sn=st.sampled_from([None, "new", "reuse"]),
    )
    def refund(self, index: int, amount: str | None, refund_sn: str | None) -> None:
        self.tally["refund"] += 1
        biz: dict[str, Any] = {"order_sn": self.pick(index).order_sn}
        if amount is not None:
            biz["refund_money"] = amount
        if refund_sn == "new" or (refund_sn == "reuse" and not self.refund_sns):
            self.refund_sns.append(f"st-r-{uuid.uuid4().hex[:12]}")
            biz["merchant_refund_sn"] = self.refund_sns[-1]
        elif refund_sn == "reuse":
            biz["merchant_refund_sn"] = self.refund_sns[-1]
        answer = self.call("openapi.payment.order.refund", biz)
        self.expect(
            "refund",
            answer,
            {"ORDER_NOT_PAID", "REFUND_EXCEEDS", "REFUND_SN_CONFLICT", "REFUND_LIMIT"},
        )
        self.run(self.sandbox.simulator.idle())  # let the refund settle

    @precondition(lambda self: self.orders)
    @rule(index=st.integers(0, 3))
    def reverse(self, index: int) -> None:
        self.tally["reverse"] += 1
        order = self.pick(index)
        answer = self.call("openapi.payment.order.reverse", {"order_sn": order.order_sn})
        if order.sign_params:  # a mini-program order: never reversed
            assert answer.get("sub_code") == "REVERSE_NOT_SUPPORTED", answer
        else:  # a payment-code order, paid or not: reversed (again: the same answer)
            assert answer["result_code"] == 200, answer
            assert answer["data"]["trade_state"] == "REVOKED", answer
        self.tally[f"reverse {answer.get('sub_code', 'OK')}"] += 1

    # ---- invariants ------------------------------------------------------------------------

    @invariant()
    def books_balance(self) -> None:
        if not self.orders:
            return
        sns = [order.order_sn for order in self.orders]
        facts = self.run(self.sandbox.runtime.db.read(lambda: order_facts(sns)))
        assert set(facts) == set(sns), (sns, list(facts))
        problems = [p for sn in sns for p in invariant_problems(sn, facts[sn])]
        assert not problems, (problems, facts)

    def teardown(self) -> None:
        for order in self.orders:  # leave the simulator's per-order behaviour as it was
            self.sandbox.simulator.set_behaviour(
                out_trade_no=order.order_sn, notifications="normal", refunds="success"
            )


def test_random_operation_sequences_keep_the_books(
    portal: Portal, fuzz_gateway: FuzzSandbox
) -> None:
    tally: Counter[str] = Counter()
    machine = type(
        "PaymentSequencesOn" + fuzz_gateway.database.title(),
        (PaymentSequences,),
        {"portal": portal, "sandbox": fuzz_gateway, "tally": tally},
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=SEQUENCES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=not EXPLORING,
            database=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print(f"steps run on {fuzz_gateway.database}: {dict(tally)}")
    assert set(tally) >= RULES, tally
    # the sample reaches paid orders, refunds and refusals, not only the refusals
    assert {"payer 200", "swipe OK", "refund OK", "close OK", "reverse OK"} <= set(tally), tally


def test_the_invariants_catch_broken_books() -> None:
    """The checks above are not vacuous: each broken book is reported."""
    fine = {"state": "SUCCESS", "total_fen": 100, "refunded_fen": 30,
            "refunds": [(30, "SUCCESS"), (5, "FAILED")], "notifications": ["PAYMENT"],
            "events": [("CREATED", ""), ("PAID", "t via notify")]}  # fmt: skip
    assert invariant_problems("o", fine) == []
    broken = [
        {**fine, "refunded_fen": 35},
        {**fine, "refunded_fen": 130, "refunds": [(130, "SUCCESS")]},
        {**fine, "notifications": ["PAYMENT", "PAYMENT"]},
        {**fine, "events": [("PAID", ""), ("PAID", "")]},
        {**fine, "events": [("CLOSED", ""), ("PAID", "t via query")]},
        {**fine, "state": "CLOSED"},
    ]
    for fact in broken:
        assert invariant_problems("o", fact), fact
    late = {**fine, "events": [("CLOSED", ""), ("PAID", f"t via query; {LATE_PAYMENT}")]}
    assert invariant_problems("o", late) == []
