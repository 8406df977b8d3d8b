"""The simulated WeChat browser: ``GET /weixin-jsbridge.js`` is a small script that plays
``WeixinJSBridge`` (what WeChat's in-app browser injects into every page). A browser test adds it
before any page script runs; ``invoke('getBrandWCPayRequest', params, cb)`` then asks the
simulator's payer (``POST /request-payment``) to pay as the test payer of the params' appId and
answers ``get_brand_wcpay_request:ok`` or ``:fail``. Not WeChat's surface."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jubao.channels.simulator.v3.openids import openid_for

if TYPE_CHECKING:
    from jubao.channels.simulator.simulator import Simulator

__all__ = ["bridge_routes"]

_SCRIPT = """(function () {
  var base = %(base)s, openids = %(openids)s;
  window.WeixinJSBridge = {
    invoke: function (name, params, callback) {
      if (name !== "getBrandWCPayRequest") {
        callback({err_msg: name + ":fail unsupported"});
        return;
      }
      fetch(base + "/request-payment", {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({sign_params: params, openid: openids[params.appId] || ""})
      }).then(function (r) { return r.json().then(function (body) { return [r.ok, body]; }); })
        .then(function (answer) {
          callback({err_msg: answer[0] ? "get_brand_wcpay_request:ok"
                                       : "get_brand_wcpay_request:fail " + answer[1].message});
        }, function () { callback({err_msg: "get_brand_wcpay_request:fail network"}); });
    }
  };
  document.addEventListener("DOMContentLoaded", function () {
    document.dispatchEvent(new Event("WeixinJSBridgeReady"));
  });
})();
"""


async def _bridge(request: Request) -> Response:
    sim: Simulator = request.app.state.simulator
    appids = {appid for subs in sim.state.bindings().values() for a in subs.values() for appid in a}
    openids = {appid: openid_for(sim, appid) for appid in sorted(appids | set(sim.payer_openids))}
    base = str(request.base_url).rstrip("/") + request.scope.get("root_path", "")
    script = _SCRIPT % {"base": json.dumps(base), "openids": json.dumps(openids)}
    return Response(script, media_type="application/javascript")


def bridge_routes() -> list[Route]:
    return [Route("/weixin-jsbridge.js", _bridge, methods=["GET"])]
