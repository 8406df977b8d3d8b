"""The v3 route table: one row per operation. A new operation (codepay, native, reverse, …) is
its module plus one row here; ``endpoint.py`` gives it latency, faults, signature checking and
the signed answer."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.routing import Route

from jubao.channels.simulator.v3 import (
    bills,
    certificates,
    codepay,
    jsapi,
    native,
    refunds,
    reverse,
    transactions,
)
from jubao.channels.simulator.v3.call import Handler
from jubao.channels.simulator.v3.endpoint import v3_download_endpoint, v3_endpoint

__all__ = ["OPERATIONS", "Operation", "v3_routes"]

PARTNER = "/v3/pay/partner/transactions"
REFUNDS = "/v3/refund/domestic/refunds"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    """Starlette path template, relative to the simulator's root."""
    handler: Handler
    certificate_signed: bool = False
    """Answered with a platform certificate unless the request names the public key: whoever
    asks for the certificates verifies with them (``/v3/certificates`` in either mode)."""


OPERATIONS: tuple[Operation, ...] = (
    Operation("POST", f"{PARTNER}/jsapi", jsapi.handle_prepay),
    Operation("POST", f"{PARTNER}/native", native.handle_native),
    Operation("POST", f"{PARTNER}/codepay", codepay.handle_codepay),
    Operation("POST", f"{PARTNER}/out-trade-no/{{out_trade_no}}/reverse", reverse.handle_reverse),
    Operation(
        "GET", f"{PARTNER}/out-trade-no/{{out_trade_no}}", transactions.handle_query_by_out_trade_no
    ),
    Operation(
        "GET", f"{PARTNER}/id/{{transaction_id}}", transactions.handle_query_by_transaction_id
    ),
    Operation("POST", f"{PARTNER}/out-trade-no/{{out_trade_no}}/close", transactions.handle_close),
    Operation("POST", REFUNDS, refunds.handle_create_refund),
    Operation("GET", f"{REFUNDS}/{{out_refund_no}}", refunds.handle_query_refund),
    Operation("GET", "/v3/bill/tradebill", bills.handle_tradebill),
    Operation("GET", "/v3/certificates", certificates.handle_certificates, True),
)


def v3_routes() -> list[Route]:
    routes = [
        Route(op.path, v3_endpoint(op.handler, op.certificate_signed), methods=[op.method])
        for op in OPERATIONS
    ]
    # The bill's bytes are answered as they are, unsigned: their SHA-1 came signed beforehand.
    download = v3_download_endpoint(bills.handle_download)
    return [*routes, Route(bills.DOWNLOAD_PATH, download, methods=["GET"])]
