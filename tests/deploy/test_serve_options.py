"""`jubao serve --workers 2 --proxy-headers`: two processes behind one port on PostgreSQL, with
`jubao simulator` as WeChat Pay. Metrics count every request whichever process served it or
answers the scrape; the proxy's X-Forwarded-Proto makes the console's cookie Secure; no
`server` header; each answer carries its request id."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest

from jubao.merchants.directory import MerchantDirectory
from jubao.security.sealing import new_master_key_text
from jubao.storage.database import open_database
from tests.deploy.test_multi_process import processes, read_env, spawn, wait_http
from tests.ops.support import value
from tests.support import fubei
from tests.support.databases import fresh_database
from tests.support.servers import free_port

pytestmark = pytest.mark.postgres

TOKEN = "serve-options-admin-token-0123456789"
CALLS = 24


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:300]
    return match.group(1)


async def _login_cookie(base: str, headers: dict[str, str]) -> str:
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        page = await client.get("/console/login")
        # httpx never sends a Secure cookie over plain http: hand the login cookie back by hand
        cookie = "; ".join(v.split(";", 1)[0] for v in page.headers.get_list("set-cookie"))
        answer = await client.post(
            "/console/login",
            data={"csrf": _csrf(page.text), "token": TOKEN, "next": "/console/"},
            headers={"Cookie": cookie},
        )
    assert answer.status_code == 303, answer.text[:300]
    return next(v for v in answer.headers.get_list("set-cookie") if v.startswith("jubao_console="))


async def test_serve_with_workers_and_a_proxy(tmp_path: Path) -> None:
    async with fresh_database("postgresql", tmp_path) as url:
        db = await open_database(url)
        directory = MerchantDirectory(db)
        merchant = await directory.create_merchant("多进程商户", "1900000778", "wx00000000000000ab")
        app = await directory.create_app(merchant.merchant_id)
        await db.close()
        env = {
            **os.environ,
            "JUBAO_DATABASE_URL": url,
            "JUBAO_DATA_DIR": str(tmp_path / "data"),
            "JUBAO_MASTER_KEY": new_master_key_text(),
            "JUBAO_ADMIN_TOKEN": TOKEN,
            "JUBAO_LOG_FORMAT": "json",
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        sim_port, port = free_port(), free_port()
        with processes() as started:
            started.append(spawn(["simulator", "--port", str(sim_port)], env, tmp_path / "s.log"))
            await wait_http(f"http://127.0.0.1:{sim_port}/control/behaviour")
            env.update(read_env(tmp_path / "data" / "channel.env"))
            serve = ["serve", "--port", str(port), "--workers", "2", "--proxy-headers",
                     "--forwarded-allow-ips", "127.0.0.1"]  # fmt: skip
            started.append(spawn(serve, env, tmp_path / "serve.log"))
            base = f"http://127.0.0.1:{port}"
            await wait_http(f"{base}/healthz")
            async with httpx.AsyncClient(timeout=30) as client:
                ready = await client.get(f"{base}/readyz", headers={"X-Request-Id": "ready-1"})
                assert ready.status_code == 200, ready.text
                assert ready.headers["x-request-id"] == "ready-1"
                assert "server" not in ready.headers

                for _ in range(CALLS):
                    body = fubei.body(app.app.app_id, app.app_secret, "openapi.get.time", {})
                    answer = await client.post(f"{base}/gateway", content=body)
                    assert answer.json()["result_code"] == 200, answer.text
                auth = {"Authorization": f"Bearer {TOKEN}"}
                for _ in range(4):  # whichever process answers, it counts both processes' calls
                    scraped = await client.get(f"{base}/metrics", headers=auth)
                    assert scraped.status_code == 200, scraped.text
                    counted = value(
                        scraped.text,
                        "jubao_gateway_requests_total",
                        method="openapi.get.time",
                        sub_code="SUCCESS",
                    )
                    assert counted == CALLS

            plain = await _login_cookie(base, {})
            proxied = await _login_cookie(base, {"X-Forwarded-Proto": "https"})
            assert "secure" not in plain.lower()
            assert "secure" in proxied.lower()
        log = (tmp_path / "serve.log").read_text()
        lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
        assert any("Started parent process" in line["event"] for line in lines)
        # both processes log, one JSON line per gateway request; no uvicorn access log
        request_lines = [line for line in lines if line["logger"] == "jubao.gateway.request"]
        assert len(request_lines) == CALLS
        assert all(line["method"] == "openapi.get.time" for line in request_lines)
        assert len({line["request_id"] for line in request_lines}) == CALLS
        assert "GET /readyz" not in log
