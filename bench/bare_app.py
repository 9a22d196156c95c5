"""The throughput baseline: a bare aiohttp app answering one path with fixed bytes, no checks at all.

    python bench/bare_app.py --path /bin/guides/v1/assets/process/status --body-file body.json

Served the way the mock's dev server serves (``web.AppRunner``, no access log), so that the ratio
mock/bare measures what the mock adds per request. The first line printed ends with the base URL.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import ssl
import sys
from pathlib import Path

from aiohttp import web


def make_app(path: str, body: bytes) -> web.Application:
    """Answers ``path`` with ``body``; ``/{tail:.*}``: every path."""

    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get(path, answer)
    return app


async def serve(
    app: web.Application, port: int, ready_file: Path | None = None, tls: ssl.SSLContext | None = None
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=tls)
        await site.start()
        host, bound = runner.addresses[0][:2]
        print(f"bare aiohttp app serving at {'https' if tls else 'http'}://{host}:{bound}", flush=True)
        if ready_file is not None:
            partial = ready_file.with_name(ready_file.name + ".partial")
            partial.write_text(f"{'https' if tls else 'http'}://{host}:{bound}\n")
            partial.replace(ready_file)
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--path", required=True, help="the path answered; /{tail:.*} answers every path")
    cli.add_argument("--body-file", type=Path, required=True)
    cli.add_argument("--port", type=int, default=0)
    cli.add_argument("--ready-file", type=Path, help="write the base URL here once serving")
    cli.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate chain (PEM)")
    cli.add_argument("--tls-key", type=Path, help="the private key of --tls-cert (PEM)")
    args = cli.parse_args()
    tls = None
    if args.tls_cert is not None:  # the mock's own settings: TLS 1.2 and 1.3
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    asyncio.run(serve(make_app(args.path, args.body_file.read_bytes()), args.port, args.ready_file, tls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
