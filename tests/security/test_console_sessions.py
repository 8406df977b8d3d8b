"""Console sessions: logout ends the session on the server (a copied cookie stops working), the
language switch accepts any `next` text, and redirects never name the Host a client sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.console.support import ConsoleWorld, build_world, client_for, hidden, log_in


@pytest.fixture
async def world(tmp_path: Path, database_url: str) -> AsyncIterator[ConsoleWorld]:
    built = await build_world(tmp_path / "data", database_url=database_url)
    try:
        yield built
    finally:
        await built.runtime.stop()


async def test_logout_ends_the_session_on_the_server(world: ConsoleWorld) -> None:
    async with client_for(world) as client:
        assert (await log_in(client)).status_code == 303
        page = await client.get("/console/orders")
        assert page.status_code == 200
        stolen = dict(client.cookies)
        out = await client.post("/console/logout", data={"csrf": hidden(page.text, "csrf")})
        assert out.status_code == 303
    async with client_for(world) as replay:
        replay.cookies.update(stolen)  # the old cookie, kept by someone else
        answer = await replay.get("/console/orders")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/login")
    async with client_for(world) as client:  # a new login still works
        assert (await log_in(client)).status_code == 303
        assert (await client.get("/console/orders")).status_code == 200


@pytest.mark.parametrize(
    ("next_path", "location"),
    [
        ("/console/%E4%B8%AD", "/console/%E4%B8%AD"),  # 500 before: not latin-1
        ("/console/orders%3Fq%3D%25E4%25B8%25AD", "/console/orders?q=%E4%B8%AD"),
        ("/console/%0D%0ASet-Cookie:x=1", "/console/%0D%0ASet-Cookie:x=1"),
        ("https://evil.example/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/console/../admin", "/console/"),
    ],
)
async def test_the_language_switch_redirects_safely(
    world: ConsoleWorld, next_path: str, location: str
) -> None:
    async with client_for(world) as client:
        # the query string exactly as a browser sends it (next_path is already encoded)
        answer = await client.get(f"/console/lang/en?next={next_path}")
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == location
        assert answer.cookies.get("jubao_lang") == "en"


async def test_redirects_are_relative_whatever_the_host(world: ConsoleWorld) -> None:
    async with client_for(world) as client:
        for path in ("/console", "/console/", "/console/orders"):
            answer = await client.get(path, headers={"Host": "evil.example"})
            assert answer.status_code in (303, 307), (path, answer.status_code)
            assert "evil.example" not in answer.headers["location"], path
            assert answer.headers["location"].startswith("/console/"), path
