"""The sandbox's app driven through jubao's HTTP protocol in one process, without sockets:
pre-signed ``order.query`` requests fed to ``CorkedHttpToolsProtocol.data_received`` one after
another, each answer taken from a transport that keeps what is written. ``bench.instructions``
runs it under callgrind; alone it prints CPU per query. ``feed`` and ``wire`` serve
``bench.drive_mina`` too.

    python -m bench.drive DATA_DIR REQUESTS [SIGNED]

``DATA_DIR``: a sandbox data directory with paid orders (``bench.instructions`` makes one; it is
copied, never changed). ``SIGNED``: how many requests to sign beforehand (at least ``REQUESTS``),
so that two runs of different lengths sign as many and only the driving differs. Nothing runs on
a timer here (no dispatcher, no heartbeat), so the count of instructions is the requests' own.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench import scenarios, signer

WARM_UP = 100


class Transport:
    """What the protocol writes to; ``written`` is set by each write."""

    def __init__(self) -> None:
        self.out: list[bytes] = []
        self.closing = False
        self.written = asyncio.Event()

    def write(self, data: bytes) -> None:
        self.out.append(data)
        self.written.set()

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        addresses = {"sockname": ("127.0.0.1", 8600), "peername": ("127.0.0.1", 50000)}
        return addresses.get(name, default)

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def requests(data_dir: Path, count: int) -> list[bytes]:
    merchant = scenarios.merchant_of_dir(data_dir)
    sns = (data_dir / "bench-paid-orders").read_text("utf-8").split()
    return wire(signer.query_bodies(merchant, sns, count))


def wire(bodies: Iterable[str]) -> list[bytes]:
    """Each body as a whole ``POST /gateway`` request, as a client sends it."""
    return [
        b"POST /gateway HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(body), body)
        for body in (text.encode() for text in bodies)
    ]


async def feed(
    config: Any, app_state: dict[str, Any], requests: list[bytes], warm_up: int, count: int
) -> float:
    """Feed ``requests[:warm_up]``, check that the last answer is a success, then feed the next
    ``count`` one at a time, each once the previous one's answer is written. Returns CPU seconds
    per measured request."""
    from uvicorn.server import ServerState

    from jubao.web.corking import CorkedHttpToolsProtocol

    loop = asyncio.get_running_loop()
    protocol = CorkedHttpToolsProtocol(config, ServerState(), app_state, loop)
    transport = Transport()
    protocol.connection_made(transport)  # type: ignore[arg-type]

    async def one(request: bytes) -> None:
        transport.written.clear()
        protocol.data_received(request)
        await transport.written.wait()

    for request in requests[:warm_up]:
        await one(request)
    answer = transport.out[-1]
    if b'"result_code":200' not in answer:
        raise SystemExit(f"the request failed: {answer[:300]!r}")
    started = time.process_time()
    for request in requests[warm_up : warm_up + count]:
        await one(request)
    return (time.process_time() - started) / count


async def drive(data_dir: Path, count: int, signed: int) -> float:
    import uvicorn

    from jubao.cli.servers import _uvicorn_options
    from jubao.config import Settings
    from jubao.runtime import with_master_key
    from jubao.sandbox import build_sandbox

    configured = with_master_key(Settings.from_env())
    app, runtime, _simulator, _info = await build_sandbox(configured)
    runtime.background.clear()  # nothing on a timer: count the requests alone
    if runtime.dispatcher is not None:
        runtime.on_start.remove(runtime.dispatcher.start)
        runtime.on_stop.remove(runtime.dispatcher.stop)
    options = _uvicorn_options(configured)
    options.pop("http")
    config = uvicorn.Config(app, **options, log_level="warning")
    config.load()
    queries = requests(data_dir, WARM_UP + max(count, signed))
    async with app.router.lifespan_context(app):
        return await feed(config, {}, queries, WARM_UP, count)


def main() -> None:
    import uvloop

    data_dir, count = Path(sys.argv[1]), int(sys.argv[2])
    signed = int(sys.argv[3]) if len(sys.argv) > 3 else count
    with tempfile.TemporaryDirectory(prefix="jubao-drive-") as tmp:
        copy = Path(tmp) / "data"
        shutil.copytree(data_dir, copy)
        os.environ.update(
            JUBAO_DATA_DIR=str(copy), JUBAO_RATE_LIMIT_PER_SECOND="0", JUBAO_LOG_LEVEL="INFO"
        )
        seconds = uvloop.run(drive(copy, count, signed))
    print(f"{seconds * 1e6:.1f} us of CPU per query over {count}")


if __name__ == "__main__":
    main()
