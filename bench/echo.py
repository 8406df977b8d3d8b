"""The echo ceiling: a bare Starlette app served by uvicorn exactly as ``jubao sandbox`` serves
(uvloop, httptools, one process, log level warning). ``POST /gateway`` parses the JSON body and
answers it back as JSON: the least any JSON-over-HTTP endpoint in this stack can cost.

Run: ``python -m bench.echo PORT``.
"""

from __future__ import annotations

import json
import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def echo(request: Request) -> JSONResponse:
    return JSONResponse(json.loads(await request.body()))


app = Starlette(routes=[Route("/gateway", echo, methods=["POST"])])


def main() -> None:
    import uvicorn

    port = int(sys.argv[1])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
