"""The hosted page ``/paypage?prepay_id=...&callback_url=...&cancel_url=...`` (Fubei's, reference
fubei-open-api 1.1 and 5.3): opened inside WeChat, it starts the payment of an ``h5pay`` order
with ``WeixinJSBridge.invoke('getBrandWCPayRequest', sign_params)`` (the sign params stored
with the order) and sends the browser to ``callback_url`` when WeChat says ok, to
``cancel_url`` otherwise. The answer WeChat's page gets is informative only: the merchant learns
the outcome from the notification or ``order.query``."""

from __future__ import annotations

import html
import json
import re
from functools import partial
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from jubao.channels.base import WalletPackage
from jubao.payments import instructions
from jubao.payments.records import OrderRecord
from jubao.payments.states import OrderState
from jubao.storage.database import Database
from jubao.storage.sql import Tx, fetch_one

__all__ = ["paypage_routes"]

MAX_URL = 256
# WeChat's prepay ids (``wx2014...``); checked before the query: PostgreSQL refuses a NUL in text
_PREPAY_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>微信支付</title>
<style>body{{font-family:sans-serif;text-align:center;padding:3em 1em}}</style>
</head><body>
<h1 id="status">正在打开微信支付…</h1>
<p>{amount} 元</p>
<script id="sign-params" type="application/json">{params}</script>
<script>
(function () {{
  var params = JSON.parse(document.getElementById("sign-params").textContent);
  var done = {done}, cancel = {cancel};
  function pay() {{
    WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (res) {{
      var ok = res && res.err_msg === "get_brand_wcpay_request:ok";
      document.getElementById("status").textContent = ok ? "支付完成" : "支付未完成";
      window.location.replace(ok ? done : cancel);
    }});
  }}
  if (typeof WeixinJSBridge === "undefined") {{
    document.getElementById("status").textContent = "请在微信中打开此页面";
    document.addEventListener("WeixinJSBridgeReady", pay, false);
  }} else {{
    pay();
  }}
}})();
</script>
</body></html>
"""


def _find_by_prepay(prepay_id: str) -> Tx[OrderRecord | None]:
    row = (yield fetch_one("SELECT * FROM orders WHERE prepay_id = ?", prepay_id)).first
    return OrderRecord.from_row(row) if row else None


def _http_url(value: str | None) -> bool:
    if not value or len(value) > MAX_URL:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _script_json(value: object) -> str:
    # inside <script>: no "</" may appear, so escape every "<" (and the two JS line breaks)
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _refusal(message: str, status: int) -> Response:
    body = f'<!doctype html><meta charset="utf-8"><p id="error">{html.escape(message)}</p>'
    return HTMLResponse(body, status_code=status)


def paypage_routes(db: Database) -> list[Route]:
    async def paypage(request: Request) -> Response:
        query = request.query_params
        prepay_id = query.get("prepay_id", "")
        callback_url, cancel_url = query.get("callback_url"), query.get("cancel_url")
        if not prepay_id:
            return _refusal("缺少参数 prepay_id", 400)
        if not _PREPAY_ID.fullmatch(prepay_id):
            return _refusal("参数 prepay_id 格式不正确", 400)
        if not _http_url(callback_url) or not _http_url(cancel_url):
            return _refusal("callback_url 与 cancel_url 必须是 http 或 https 地址", 400)
        assert callback_url is not None and cancel_url is not None
        order = await db.read(partial(_find_by_prepay, prepay_id))
        package = (
            instructions.decode(order.instruction, order.prepay_id)
            if order is not None and order.instruction
            else None
        )
        if order is None or not isinstance(package, WalletPackage):
            return _refusal("订单不存在", 404)
        if order.state != OrderState.USERPAYING:
            return _refusal("订单已支付或已关闭", 409)
        page = _PAGE.format(
            amount=html.escape(f"{order.total_fen // 100}.{order.total_fen % 100:02d}"),
            params=_script_json(dict(package.params)),
            done=_script_json(callback_url),
            cancel=_script_json(cancel_url),
        )
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    return [Route("/paypage", paypage, methods=["GET"])]
