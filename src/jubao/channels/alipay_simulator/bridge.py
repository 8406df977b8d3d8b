"""The simulated Alipay browser: ``GET /alipay-jsbridge.js`` is a small script that plays
``AlipayJSBridge`` (what Alipay's in-app browser injects into every page). A browser test adds it
before any page script runs; ``AlipayJSBridge.call('tradePay', {tradeNO}, cb)`` then asks the
simulator's buyer (``POST /payer/trade-pay``) to pay as the authorising test buyer and answers
``{resultCode}``: ``9000`` paid, ``4000`` failed, ``6002`` network error. Not Alipay's surface."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from jubao.channels.alipay_simulator.simulator import AlipaySimulator

__all__ = ["bridge_routes"]

_SCRIPT = """(function () {
  var base = %(base)s, buyer = %(buyer)s;
  window.AlipayJSBridge = {
    call: function (name, params, callback) {
      callback = callback || function () {};
      if (name !== "tradePay") {
        callback({error: 1, errorMessage: name + " unsupported"});
        return;
      }
      fetch(base + "/payer/trade-pay", {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({trade_no: (params && params.tradeNO) || "", buyer: buyer})
      }).then(function (r) { return r.json(); })
        .then(function (body) {
          callback({resultCode: body.resultCode || "4000", memo: body.memo || ""});
        }, function () { callback({resultCode: "6002", memo: "network"}); });
    }
  };
  document.addEventListener("DOMContentLoaded", function () {
    document.dispatchEvent(new Event("AlipayJSBridgeReady"));
  });
})();
"""


async def _bridge(request: Request) -> Response:
    sim: AlipaySimulator = request.app.state.simulator
    base = str(request.base_url).rstrip("/") + request.scope.get("root_path", "")
    buyer = json.dumps(sim.config.authorising_buyer)
    script = _SCRIPT % {"base": json.dumps(base), "buyer": buyer}
    return Response(script, media_type="application/javascript")


def bridge_routes() -> list[Route]:
    return [Route("/alipay-jsbridge.js", _bridge, methods=["GET"])]
