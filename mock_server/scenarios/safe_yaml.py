"""Reading YAML defensively, with the line of every key path.

``yaml.safe_load`` semantics (no Python tags), plus: a size cap, a cap on nodes that counts alias
expansions (so an alias bomb stops early), a nesting cap (so a recursive alias stops too), duplicate
keys refused, YAML-only values (sets, binary, timestamps) refused, and dates left as strings. Every
problem is a :class:`~.errors.ScenarioError` naming the origin and the line.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..contract.wording import field_name
from ..core.errors import ScenarioError
from .scenario import MAX_BYTES

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_DIGITS", "MAX_NODES", "read_yaml"]

MAX_NODES = 100_000
MAX_DEPTH = 64
MAX_DIGITS = 1000
_INT = "tag:yaml.org,2002:int"
_STR = "tag:yaml.org,2002:str"


def _base_loader() -> type[yaml.SafeLoader]:
    """libyaml's safe loader when PyYAML has it and it is wired to this ``yaml``: a ``yaml``
    imported a second time in one process (pytester's in-process runs do that) keeps the first
    one's C module, whose nodes are not this one's classes, so it falls back to the Python one."""
    native = getattr(yaml, "_yaml", None)
    if hasattr(yaml, "CSafeLoader") and getattr(native, "ScalarNode", None) is yaml.nodes.ScalarNode:
        loader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]  # the same interface
        return loader
    return yaml.SafeLoader


class _Loader(_base_loader()):  # type: ignore[misc]  # a base chosen at import
    """The safe loader, with dates left as strings: they are checked and read like any timestamp."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _line(error: yaml.MarkedYAMLError, text: str) -> int:
    """The error's line, 1-based (libyaml counts an unended last line's end as the next line)."""
    line = error.problem_mark.line + 1 if error.problem_mark else 1
    return min(line, text.count("\n") + 1)


def _compose(loader: _Loader, text: str, origin: str) -> yaml.Node | None:
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    except yaml.MarkedYAMLError as error:
        line = _line(error, text)
        raise ScenarioError([f"{origin}:{line}: not valid YAML: {error.problem}"]) from None
    except yaml.YAMLError as error:
        raise ScenarioError([f"{origin}:1: not valid YAML: {error}"]) from None
    except RecursionError:
        raise ScenarioError([f"{origin}:1: nested too deeply (at most {MAX_DEPTH} levels)"]) from None


def _walk(node: yaml.Node, origin: str) -> dict[tuple[str | int, ...], int]:
    """The line of every key path; refuses duplicate keys and more than MAX_NODES nodes."""
    lines: dict[tuple[str | int, ...], int] = {(): node.start_mark.line + 1}
    seen = 0
    stack: list[tuple[tuple[str | int, ...], yaml.Node]] = [((), node)]
    while stack:
        path, current = stack.pop()
        seen += 1
        if len(path) > MAX_DEPTH:
            raise ScenarioError(
                [f"{origin}:{current.start_mark.line + 1}: nested deeper than {MAX_DEPTH} levels "
                 "(a recursive alias?)"]
            )  # fmt: skip
        if seen > MAX_NODES:
            raise ScenarioError(
                [f"{origin}:{current.start_mark.line + 1}: more than {MAX_NODES} YAML nodes "
                 "(aliases counted each time they are used); split the scenario or use `generate`"]
            )  # fmt: skip
        _check_node(current, path, origin)
        if isinstance(current, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in current.value:
                _check_key(key_node, path, origin)
                key = str(key_node.value)
                if key in keys:
                    line = key_node.start_mark.line + 1
                    raise ScenarioError(
                        [f"{origin}:{line}: {field_name((*path, key), _WHOLE)}: duplicate key"]
                    )
                keys.add(key)
                lines[(*path, key)] = key_node.start_mark.line + 1
                stack.append(((*path, key), value_node))
        elif isinstance(current, yaml.SequenceNode):
            for i, item in enumerate(current.value):
                lines[(*path, i)] = item.start_mark.line + 1
                stack.append(((*path, i), item))
    return lines


def _check_node(node: yaml.Node, path: tuple[str | int, ...], origin: str) -> None:
    """Refuse what JSON cannot hold: YAML-only types, and integers too long to read or print."""
    line = node.start_mark.line + 1
    if node.tag in _NOT_JSON:
        raise ScenarioError(
            [f"{origin}:{line}: {field_name(path, _WHOLE)}: a YAML {node.tag.rsplit(':', 1)[1]} is not a "
             "JSON value; write a plain string, number, list or map"]
        )  # fmt: skip
    if node.tag == _INT and len(node.value) > MAX_DIGITS:  # hex digits too: 1,000 stay below 4,300 decimal
        raise ScenarioError(
            [f"{origin}:{line}: {field_name(path, _WHOLE)}: a number written with {len(node.value)} "
             f"characters; at most {MAX_DIGITS}"]
        )  # fmt: skip


def _check_key(node: yaml.Node, path: tuple[str | int, ...], origin: str) -> None:
    """A key is a string, as in JSON: ``true:`` or ``1:`` would load as a bool or an int."""
    if not (isinstance(node, yaml.ScalarNode) and node.tag == _STR):
        line = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            problem = f"the key {node.value} is not a string; quote it: '{node.value}'"
        else:
            kind = "list" if isinstance(node, yaml.SequenceNode) else "map"
            problem = f"a {kind} cannot be a key; keys are strings"
        raise ScenarioError([f"{origin}:{line}: {field_name(path, _WHOLE)}: {problem}"])


#: How a message names the document itself (an empty key path).
_WHOLE = "(the document)"
_NOT_JSON = {
    "tag:yaml.org,2002:binary",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:set",
    "tag:yaml.org,2002:omap",
    "tag:yaml.org,2002:pairs",
}


def read_yaml(text: str, origin: str) -> tuple[Any, dict[tuple[str | int, ...], int]]:
    """The document (None when empty) and the line of each key path in it."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ScenarioError([f"{origin}:1: the document is larger than {MAX_BYTES} bytes"])
    loader = _Loader(text)
    try:
        node = _compose(loader, text, origin)
        if node is None:
            return None, {}
        lines = _walk(node, origin)  # caps first: the document is built only once they hold
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as error:
        raise ScenarioError([f"{origin}:{_line(error, text)}: {error.problem}"]) from None
    finally:
        loader.dispose()
