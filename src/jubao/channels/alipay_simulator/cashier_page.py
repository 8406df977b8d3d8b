"""Alipay's mobile cashier page, as the simulator shows it to a browser sent there by
``alipay.trade.wap.pay`` (the H5/WAP scene): the order, and a button that pays it as the test
buyer. The gateway has already checked the request (signature, merchant, fields) and opened the
trade; this only renders the outcome as HTML."""

from __future__ import annotations

import html
import json
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from jubao.channels.alipay_simulator import buyer
from jubao.channels.alipay_simulator.simulator import AlipaySimulator

__all__ = ["WAP_METHOD", "pay_from_page", "render"]

WAP_METHOD = "alipay.trade.wap.pay"
_KEY = WAP_METHOD.replace(".", "_") + "_response"

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>支付宝收银台（模拟）</title></head>
<body>
<h1>支付宝收银台（模拟）</h1>
{content}
</body></html>"""


def render(answer: bytes, charset: str, return_url: str) -> Response:
    """The page for the gateway's ``answer`` to a ``wap.pay`` request."""
    try:
        doc = json.loads(answer.decode(charset)).get(_KEY) or {}
    except (ValueError, AttributeError):
        doc = {}
    if doc.get("code") != "10000":
        message = html.escape(str(doc.get("sub_msg") or doc.get("msg") or "请求无效"))
        code = html.escape(str(doc.get("sub_code") or doc.get("code") or ""))
        content = f'<p class="error" data-code="{code}">{message}</p>'
        return HTMLResponse(_PAGE.format(content=content), 400)
    fields = {
        "seller_id": str(doc.get("seller_id", "")),
        "out_trade_no": str(doc.get("out_trade_no", "")),
        "return_url": return_url,
    }
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    content = (
        f'<p id="subject">{html.escape(str(doc.get("subject", "")))}</p>'
        f'<p>￥<strong id="amount">{html.escape(str(doc.get("total_amount", "")))}</strong></p>'
        f'<p class="muted" id="trade-no" data-trade-no="{html.escape(str(doc.get("trade_no")))}">'
        f"交易号 {html.escape(str(doc.get('trade_no')))}</p>"
        f'<form method="post" action="payer/wap-page-pay">{hidden}'
        '<button type="submit" id="pay">确认付款</button></form>'
    )
    return HTMLResponse(_PAGE.format(content=content))


async def pay_from_page(request: Request) -> Response:
    """The page's button: pay as the test buyer, then back to the merchant's ``return_url``."""
    sim: AlipaySimulator = request.app.state.simulator
    body = (await request.body())[:8192].decode("utf-8", errors="replace")
    form = dict(parse_qsl(body, keep_blank_values=True))
    try:
        paid = buyer.wap_pay(sim, form.get("seller_id", ""), form.get("out_trade_no", ""), None)
    except buyer.BuyerError as error:
        content = f'<p class="error">{html.escape(error.memo)}</p>'
        return HTMLResponse(_PAGE.format(content=content), 400)
    back = form.get("return_url", "")
    link = (
        f'<p><a id="return" href="{html.escape(back)}">返回商户</a></p>'
        if back.startswith(("http://", "https://"))
        else ""
    )
    status = html.escape(str(paid["trade_status"]))
    content = f'<p id="result" data-status="{status}">支付成功</p>{link}'
    return HTMLResponse(_PAGE.format(content=content))
