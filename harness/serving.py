"""The served side of the local HTTP services (the fake upstream, the benchmarks' embedding server)."""

from __future__ import annotations

import asyncio

from aiohttp import web

__all__ = ["serve"]


def serve(app: web.Application, host: str, port: int) -> None:
    """Serve an aiohttp app until the process is stopped; prints ``READY <port>`` once it listens."""

    async def run() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        print(f"READY {port}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(run())
