"""The command line: ``aem-guides-mock serve`` (also ``python -m mock_server serve``)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from . import __version__
from .app import create_app
from .server import run
from .settings import Settings

__all__ = ["main"]


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 2 or 0.5, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="aem-guides-mock",
        description="A contract-validating mock of AEM Guides' bulk asset processing API.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the dev server on the embedded default repository")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    serve.add_argument("--port", type=_port, default=4502, help="port (default 4502; 0 picks one)")
    serve.add_argument(
        "--speed", type=_positive, default=1.0, metavar="FACTOR",
        help="run jobs FACTOR times faster than the default pace of 200 ms per asset",
    )  # fmt: skip
    serve.add_argument("--verbose", action="store_true", help="log every request")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = Settings(speed=args.speed)
    return run(create_app(settings), args.host, args.port, access_log=args.verbose)
