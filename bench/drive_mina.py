"""``jubao serve``'s app in the production topology, driven through jubao's HTTP protocol in one
process: pre-signed distinct ``order.mina`` requests fed to ``CorkedHttpToolsProtocol`` one after
another (``bench.drive.feed``), each order really placed with the ``jubao simulator`` of a
``bench.production`` deployment (another process) and stored in its PostgreSQL database (another
process). ``bench.instructions --scenario mina`` runs it under callgrind, so what is counted is
the gateway's own work per order: its two RSA signatures and its check of the simulator's
signed answer included, the simulator and PostgreSQL left out. Alone it prints CPU per order.

    python -m bench.drive_mina MERCHANT_JSON PREFIX ORDERS [SIGNED]

Run with the deployment's ``env`` in the environment. ``MERCHANT_JSON``: the deployment's
merchant (``app_id``, ``app_secret``, ``store_id``, ``demo_openid``); ``PREFIX``: of each
``merchant_order_sn`` and nonce, new for every run (a repeated one is a duplicate order, not a
new one); ``SIGNED``: how many orders to sign beforehand (at least ``ORDERS``), as in
``bench.drive``. The app is built as ``jubao serve`` builds it (``app_from_environment``, its
uvicorn options and lifespan): without maintenance or a dispatcher, so nothing runs on a timer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import signer
from bench.drive import feed, wire

WARM_UP = 30  # the pool's connections, asyncpg's prepared statements, the channel's keep-alive


async def drive(merchant: signer.Merchant, prefix: str, count: int, signed: int) -> float:
    import uvicorn
    from uvicorn.lifespan.on import LifespanOn

    from jubao.cli.servers import (
        KEEP_ALIVE_SECONDS,
        MAX_CONNECTIONS,
        MAX_HEADER_BYTES,
        _uvicorn_options,
    )
    from jubao.config import Settings
    from jubao.runtime import with_master_key

    options = _uvicorn_options(with_master_key(Settings.from_env()))
    options.pop("http")
    config = uvicorn.Config(  # as `jubao serve` runs uvicorn
        "jubao.web.served:app_from_environment",
        factory=True,
        **options,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        limit_concurrency=MAX_CONNECTIONS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        log_config=None,
    )
    config.load()
    orders = wire(signer.mina_bodies(merchant, prefix, WARM_UP + max(count, signed)))
    lifespan = LifespanOn(config)
    await lifespan.startup()
    if lifespan.should_exit:
        raise SystemExit("jubao serve's app did not start (see above)")
    try:
        return await feed(config, lifespan.state, orders, WARM_UP, count)
    finally:
        await lifespan.shutdown()


def main() -> None:
    import uvloop

    merchant = signer.Merchant(json.loads(Path(sys.argv[1]).read_text("utf-8")))
    prefix, count = sys.argv[2], int(sys.argv[3])
    signed = int(sys.argv[4]) if len(sys.argv) > 4 else count
    seconds = uvloop.run(drive(merchant, prefix, count, signed))
    print(f"{seconds * 1e3:.2f} ms of CPU per order over {count}")


if __name__ == "__main__":
    main()
