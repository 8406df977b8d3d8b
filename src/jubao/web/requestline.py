"""The gateway's one log line and metrics per request.

``SignedEndpoint.handle`` opens a ``GatewayFacts`` for the request and the parsing steps note what
they learn (method, app, merchant order); at the end ``finish`` writes the line and counts the
request. The facts live in a context variable, so the parsing steps deep in ``_process`` fill them
without being handed them. Nothing secret is noted: no sign, no biz content beyond the merchant's
order number.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jubao.observe import metrics
from jubao.observe.logs import current_request_id, write_info_directly
from jubao.observe.metrics import labelled
from jubao.protocol.jsonwire import preview
from jubao.web.methods_v1 import HANDLERS

__all__ = ["GatewayFacts", "begin", "finish", "note_biz", "note_envelope"]

log = logging.getLogger("jubao.gateway.request")


@dataclass(slots=True)
class GatewayFacts:
    method: str = "-"
    app_id: str = "-"
    merchant_order_sn: str = "-"


_facts: ContextVar[GatewayFacts | None] = ContextVar("jubao_gateway_facts", default=None)


def _clean(text: str) -> str:
    """Caller text fit for one log line: bounded, no spaces or control characters."""
    if len(text) <= 64 and text.isascii() and text.isprintable() and " " not in text:
        return text  # the usual case, without a pass over each character
    return "".join(c if c.isprintable() and not c.isspace() else "?" for c in preview(text, 64))


def begin() -> GatewayFacts:
    facts = GatewayFacts()
    _facts.set(facts)
    return facts


def note_envelope(method: str, app_id: str) -> None:
    facts = _facts.get()
    if facts is not None:
        facts.method = _clean(method)
        facts.app_id = _clean(app_id)


def note_biz(biz: Mapping[str, Any]) -> None:
    facts = _facts.get()
    order = biz.get("merchant_order_sn") if isinstance(biz, Mapping) else None
    if facts is not None and isinstance(order, str):
        facts.merchant_order_sn = _clean(order)


def finish(facts: GatewayFacts, payload: Mapping[str, Any], total: float, upstream: float) -> None:
    sub_code = str(payload.get("sub_code") or "SUCCESS")
    gateway_ms = (total - upstream) * 1000
    upstream_ms = upstream * 1000
    # a metric label must come from a bounded set: unknown methods are counted together
    label = facts.method if facts.method in HANDLERS else "other"
    labelled(metrics.GATEWAY_REQUESTS, label, sub_code).inc()
    labelled(metrics.GATEWAY_SECONDS, label).observe(max(total - upstream, 0.0))
    if upstream > 0:  # requests that waited on a channel: a query answered locally adds no 0
        labelled(metrics.UPSTREAM_SECONDS, label).observe(upstream)
    if not log.isEnabledFor(logging.INFO):
        return
    gateway_ms, upstream_ms = round(gateway_ms, 2), round(upstream_ms, 2)
    text = (
        f"method={facts.method} app_id={facts.app_id} "
        f"merchant_order_sn={facts.merchant_order_sn} sub_code={sub_code} "
        f"gateway_ms={gateway_ms} upstream_ms={upstream_ms}"
    )
    # the request id is on every record already (jubao.observe.logs); repeated in the text
    request_id = current_request_id()
    if write_info_directly(log, f"gateway {text} request_id={request_id}"):
        return
    fields = {
        "method": facts.method,
        "app_id": facts.app_id,
        "merchant_order_sn": facts.merchant_order_sn,
        "sub_code": sub_code,
        "gateway_ms": gateway_ms,
        "upstream_ms": upstream_ms,
    }
    log.info("gateway %s request_id=%s", text, request_id, extra=fields)
