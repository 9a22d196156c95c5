"""An mkdocs hook (mkdocs.yml, ``hooks:``): the command line's reference page shows each command's
``--help`` as the parser itself prints it, so that the page cannot drift from the CLI.

The page holds the marker below where the commands go; this hook replaces it when the site is built.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

MARKER = "<!-- aem-guides-mock: the --help of every command -->"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Python 3.14's argparse colours help on a terminal


def _commands(top: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise LookupError("the aem-guides-mock parser has no subcommands")


def cli_reference() -> str:
    """The Markdown of every command's help, in the parser's order, each under its own heading."""
    from mock_server.cli import parser

    width = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal: the page is the same on every one
    try:
        top = parser()
        parts = ["```text", _ANSI.sub("", top.format_help()).rstrip(), "```"]
        for name, command in _commands(top).items():
            help_text = _ANSI.sub("", command.format_help()).rstrip()
            parts += ["", f"## `aem-guides-mock {name}`", "", "```text", help_text, "```"]
    finally:
        if width is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = width
    return "\n".join(parts)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return markdown.replace(MARKER, cli_reference()) if MARKER in markdown else markdown
