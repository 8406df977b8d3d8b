"""The admin API over ASGI: bearer token, list with attempts, show, resend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from jubao.config import Settings
from jubao.notify.dispatcher import Dispatcher
from jubao.storage.database import Database, open_database
from jubao.web.admin import admin_routes
from tests.notify.support import Answer, fast_settings, open_shop, running_receiver, settle

TOKEN = "s3cret-admin-token"


@dataclass
class Context:
    settings: Settings
    db: Database


@dataclass
class Admin:
    http: httpx.AsyncClient
    ids: list[int]
    pokes: list[int]


def _client(context: Context, pokes: list[int]) -> httpx.AsyncClient:
    app = Starlette(routes=admin_routes(context, on_resend=lambda: pokes.append(1)))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://admin")


@pytest.fixture
async def admin(tmp_path: Path) -> AsyncIterator[Admin]:
    db = await open_database(f"sqlite:///{tmp_path}/db.sqlite3")
    settings = fast_settings(admin_token=TOKEN, notify_schedule=(0.01,))
    try:
        async with running_receiver() as receiver:
            shop = await open_shop(db, receiver.callback_url)
            receiver.answer(Answer(body="fail"), Answer(body="fail"), Answer())
            failed = await shop.paid_order(receiver.callback_url)
            dispatcher = Dispatcher(db, settings)
            try:
                await settle(dispatcher.run_once, db, failed)
                delivered = await shop.paid_order(receiver.callback_url)
                await settle(dispatcher.run_once, db, delivered)
            finally:
                await dispatcher.stop()
        pokes: list[int] = []
        async with _client(Context(settings, db), pokes) as http:
            http.headers["Authorization"] = f"Bearer {TOKEN}"
            yield Admin(http, [failed, delivered], pokes)
    finally:
        await db.close()


async def test_lists_newest_first_with_attempts(admin: Admin) -> None:
    answer = await admin.http.get("/admin/api/notifications")
    assert answer.status_code == 200
    items = answer.json()["notifications"]
    assert [item["notification_id"] for item in items] == admin.ids[::-1]
    failed = items[1]
    assert failed["status"] == "FAILED" and failed["attempts"] == 2
    assert [a["response_head"] for a in failed["attempts_log"]] == ["fail", "fail"]
    assert failed["data"]["trade_state"] == "SUCCESS"
    assert failed["kind"] == "PAYMENT"


async def test_filters_and_paging(admin: Admin) -> None:
    failed = await admin.http.get("/admin/api/notifications", params={"status": "failed"})
    assert [i["notification_id"] for i in failed.json()["notifications"]] == [admin.ids[0]]
    order_sn = failed.json()["notifications"][0]["order_sn"]
    by_order = await admin.http.get("/admin/api/notifications", params={"order_sn": order_sn})
    assert [i["notification_id"] for i in by_order.json()["notifications"]] == [admin.ids[0]]
    page = await admin.http.get("/admin/api/notifications", params={"limit": 1, "offset": 1})
    assert [i["notification_id"] for i in page.json()["notifications"]] == [admin.ids[0]]
    for params in ({"status": "NOPE"}, {"limit": "0"}, {"limit": "x"}, {"offset": "-1"}):
        bad = await admin.http.get("/admin/api/notifications", params=params)
        assert bad.status_code == 400 and bad.json()["error"] == "INVALID_PARAMETER"


async def test_show_and_resend(admin: Admin) -> None:
    failed_id = admin.ids[0]
    shown = await admin.http.get(f"/admin/api/notifications/{failed_id}")
    assert shown.status_code == 200 and shown.json()["status"] == "FAILED"

    resent = await admin.http.post(f"/admin/api/notifications/{failed_id}/resend")
    assert resent.status_code == 200
    assert resent.json()["status"] == "PENDING" and resent.json()["attempts"] == 0
    assert len(resent.json()["attempts_log"]) == 2
    assert admin.pokes == [1]

    for path in ("/admin/api/notifications/999999", f"/admin/api/notifications/{10**30}"):
        assert (await admin.http.get(path)).status_code == 404
        assert (await admin.http.post(f"{path}/resend")).status_code == 404
    assert admin.pokes == [1]


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
async def test_a_missing_or_wrong_token_is_refused(admin: Admin, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    del admin.http.headers["Authorization"]
    for method, path in (
        ("GET", "/admin/api/notifications"),
        ("GET", f"/admin/api/notifications/{admin.ids[0]}"),
        ("POST", f"/admin/api/notifications/{admin.ids[0]}/resend"),
    ):
        answer = await admin.http.request(method, path, headers=headers)
        assert answer.status_code == 401 and answer.json()["error"] == "UNAUTHORIZED"
        assert answer.headers["www-authenticate"] == "Bearer"
    assert admin.pokes == []


async def test_no_configured_token_disables_the_api(tmp_path: Path) -> None:
    db = await open_database(f"sqlite:///{tmp_path}/db.sqlite3")
    try:
        async with _client(Context(fast_settings(admin_token=""), db), []) as http:
            for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer x"}):
                answer = await http.get("/admin/api/notifications", headers=headers)
                assert answer.status_code == 403 and answer.json()["error"] == "ADMIN_DISABLED"
    finally:
        await db.close()
