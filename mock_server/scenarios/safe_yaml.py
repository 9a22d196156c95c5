"""Reading YAML defensively, with the line of every key path, in memory bounded by the document.

``yaml.safe_load`` semantics (no Python tags), plus: a size cap, a cap on nodes that counts alias
expansions (so an alias bomb stops early), a nesting cap (so a recursive alias stops too), duplicate
keys refused, YAML-only values (sets, binary, timestamps) refused, and dates left as strings. Every
problem is a :class:`~.errors.ScenarioError` naming the origin and the line.

The document is built straight from the parser's events (:class:`_Builder`), not from a tree of
PyYAML nodes: composing a 1 MiB document made 500,000 nodes, each with two marks, before a cap could
be checked (330 MB). Each event is checked as it comes, so a document past a cap stops there, and
only what the document holds is kept: its values and the line of each key path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_KINDS = {_MAP: "mapping", _SEQ: "sequence"}


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


Path = tuple[str | int, ...]


class _Problem(Exception):
    """A problem at a line; :func:`read_yaml` names the origin."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(line, message)
        self.line, self.message = line, message


@dataclass(slots=True)
class _Anchored:
    """What an alias stands for: the value, where it is written, its size and depth in nodes as
    :class:`_Builder` counts them, and its entries of the line table (``lines[first:last]``, paths
    below ``path``)."""

    value: Any
    line: int
    path: Path
    size: int
    depth: int
    first: int
    last: int
    key: str | None  # the value, when it may be a key (a string scalar)


@dataclass(slots=True)
class _Open:
    """A mapping or sequence being built."""

    value: dict[str, Any] | list[Any]
    line: int
    path: Path
    anchor: str | None
    counted: int  # the nodes counted before it
    first: int  # its first entry of the line table
    depth: int  # the deepest path in it so far
    key: str | None = None  # a mapping's key awaiting its value
    keys: set[str] = field(default_factory=set)


class _Builder:
    """The document and its line table, from the parser's events, every cap checked as it goes."""

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.lines: list[tuple[Path, int]] = []
        self.anchors: dict[str, _Anchored | None] = {}  # None: still open (an alias to it recurses)
        self.stack: list[_Open] = []
        self.nodes = 0

    def document(self) -> Any:
        """The one document's value; the parser stands at its ``DocumentStartEvent``."""
        loader = self.loader
        loader.get_event()
        self.lines.append(((), loader.peek_event().start_mark.line + 1))
        while True:
            event = loader.get_event()
            line = event.start_mark.line + 1
            if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                value = self._close()
            else:
                path = self._place(event, line)
                if path is None:  # it was a mapping's key
                    continue
                if isinstance(event, yaml.AliasEvent):
                    value = self._alias(event, path, line)
                elif isinstance(event, yaml.ScalarEvent):
                    value = self._scalar(event, path, line)
                    self._anchor(event, line, _Anchored(value, line, path, 1, 0, 0, 0, self._key_of(event)))
                else:
                    self._open(event, path, line)
                    continue
            if not self.stack:
                loader.get_event()  # DocumentEndEvent
                return value
            self._add(value)

    # --- where a node goes, and what it counts
    def _place(self, event: yaml.Event, line: int) -> Path | None:
        """The path of the node that ``event`` starts, counted and checked; None for a key."""
        parent = self.stack[-1] if self.stack else None
        if isinstance(parent, _Open) and isinstance(parent.value, dict) and parent.key is None:
            parent.key = self._key(event, parent, line)
            self.lines.append(((*parent.path, parent.key), self._written_at(event, line)))
            return None
        if parent is None:
            path: Path = ()
        elif isinstance(parent.value, dict):
            path = (*parent.path, parent.key or "")
        else:
            path = (*parent.path, len(parent.value))
            self.lines.append((path, self._written_at(event, line)))
        if not isinstance(event, yaml.AliasEvent):
            self._count(1, len(path), line)
        return path

    def _written_at(self, event: yaml.Event, line: int) -> int:
        """The line a node is written on: an alias's node is the anchored one."""
        return self._anchored(event, line).line if isinstance(event, yaml.AliasEvent) else line

    def _count(self, nodes: int, depth: int, line: int, alias: bool = False) -> None:
        if depth > MAX_DEPTH:
            raise _Problem(line, f"nested deeper than {MAX_DEPTH} levels (a recursive alias?)")
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise _Problem(line, f"more than {MAX_NODES} YAML nodes (aliases counted each time they are "
                                 "used); split the scenario or use `generate`")  # fmt: skip
        if self.stack:
            self.stack[-1].depth = max(self.stack[-1].depth, depth)

    def _key(self, event: yaml.Event, parent: _Open, line: int) -> str:
        """A key is a string, as in JSON: ``true:`` or ``1:`` would load as a bool or an int."""
        key: str | None = None
        if isinstance(event, yaml.AliasEvent):
            anchored = self._anchored(event, line)
            key = anchored.key
            problem = "an alias that is not a string cannot be a key"
        elif isinstance(event, yaml.ScalarEvent):
            key = self._key_of(event)
            problem = f"the key {event.value} is not a string; quote it: '{event.value}'"
            if key is not None:
                self._anchor(event, line, _Anchored(key, line, parent.path, 1, 0, 0, 0, key))
        else:
            kind = "list" if isinstance(event, yaml.SequenceStartEvent) else "map"
            problem = f"a {kind} cannot be a key; keys are strings"
        if key is None:
            raise _Problem(line, f"{field_name(parent.path, _WHOLE)}: {problem}")
        if key in parent.keys:
            raise _Problem(line, f"{field_name((*parent.path, key), _WHOLE)}: duplicate key")
        parent.keys.add(key)
        return key

    def _add(self, value: Any) -> None:
        parent = self.stack[-1]
        if isinstance(parent.value, dict):
            parent.value[parent.key or ""] = value
            parent.key = None
        else:
            parent.value.append(value)

    # --- the nodes
    def _tag(self, event: Any, kind: type[yaml.Node], value: str | None) -> str:
        tag: str | None = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(kind, value, event.implicit)
        return tag

    def _checked_tag(self, event: Any, kind: type[yaml.Node], path: Path, line: int) -> str:
        tag = self._tag(event, kind, event.value if kind is yaml.ScalarNode else None)
        if tag in _NOT_JSON:
            raise _Problem(line, f"{field_name(path, _WHOLE)}: a YAML {tag.rsplit(':', 1)[1]} is not a JSON "
                                 "value; write a plain string, number, list or map")  # fmt: skip
        return tag

    def _scalar(self, event: yaml.ScalarEvent, path: Path, line: int) -> Any:
        tag = self._checked_tag(event, yaml.ScalarNode, path, line)
        if tag == _STR:
            return event.value
        if tag == _INT and len(event.value) > MAX_DIGITS:  # hex digits too: 1,000 stay below 4,300 decimal
            raise _Problem(line, f"{field_name(path, _WHOLE)}: a number written with {len(event.value)} "
                                 f"characters; at most {MAX_DIGITS}")  # fmt: skip
        construct = self.loader.yaml_constructors.get(tag)
        if construct is None or tag in _KINDS:  # a collection's constructor makes a generator
            raise self._mistagged(tag, "scalar", line)
        start: Any = event.start_mark  # libyaml's Mark or PyYAML's: the same fields
        end: Any = event.end_mark
        node = yaml.ScalarNode(tag, event.value, start, end, style=event.style)
        return construct(self.loader, node)

    def _key_of(self, event: yaml.ScalarEvent) -> str | None:
        return event.value if self._tag(event, yaml.ScalarNode, event.value) == _STR else None

    def _mistagged(self, tag: str, found: str, line: int) -> _Problem:
        if tag in _KINDS:
            return _Problem(line, f"expected a {_KINDS[tag]} node, but found {found}")
        if tag in self.loader.yaml_constructors:
            return _Problem(line, f"expected a scalar node, but found {found}")
        return _Problem(line, f"could not determine a constructor for the tag {tag!r}")

    def _open(self, event: Any, path: Path, line: int) -> None:
        mapping = isinstance(event, yaml.MappingStartEvent)
        tag = self._checked_tag(event, yaml.MappingNode if mapping else yaml.SequenceNode, path, line)
        if tag != (_MAP if mapping else _SEQ):
            raise self._mistagged(tag, "mapping" if mapping else "sequence", line)
        value: dict[str, Any] | list[Any] = {} if mapping else []
        self._anchor(event, line, None)  # open: an alias to it inside it would recurse
        self.stack.append(_Open(value, line, path, event.anchor, self.nodes - 1, len(self.lines), len(path)))

    def _close(self) -> Any:
        done = self.stack.pop()
        if self.stack:
            self.stack[-1].depth = max(self.stack[-1].depth, done.depth)
        if done.anchor is not None:
            size, depth = self.nodes - done.counted, done.depth - len(done.path)
            self.anchors[done.anchor] = _Anchored(done.value, done.line, done.path, size, depth, done.first,
                                                  len(self.lines), None)  # fmt: skip
        return done.value

    def _anchor(self, event: Any, line: int, anchored: _Anchored | None) -> None:
        """Keep what ``event``'s anchor (if it has one) stands for; None while it is being built."""
        if event.anchor is None:
            return
        if event.anchor in self.anchors:
            raise _Problem(line, f"not valid YAML: found duplicate anchor {event.anchor!r}")
        self.anchors[event.anchor] = anchored

    def _anchored(self, event: yaml.AliasEvent, line: int) -> _Anchored:
        if event.anchor not in self.anchors:
            raise _Problem(line, f"not valid YAML: found undefined alias {event.anchor!r}")
        anchored = self.anchors[event.anchor]
        if anchored is None:  # the anchor is still open: the value would hold itself
            raise _Problem(line, f"nested deeper than {MAX_DEPTH} levels (a recursive alias?)")
        return anchored

    def _alias(self, event: yaml.AliasEvent, path: Path, line: int) -> Any:
        """The anchored value again (shared, as PyYAML shares it), counted and lined as if written out."""
        anchored = self._anchored(event, line)
        self._count(anchored.size, len(path) + anchored.depth, line)
        below = len(anchored.path)
        for where, at in self.lines[anchored.first : anchored.last]:
            self.lines.append(((*path, *where[below:]), at))
        return anchored.value


#: How a message names the document itself (an empty key path).
_WHOLE = "(the document)"
_NOT_JSON = {
    "tag:yaml.org,2002:binary",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:set",
    "tag:yaml.org,2002:omap",
    "tag:yaml.org,2002:pairs",
}


def read_yaml(text: str, origin: str) -> tuple[Any, dict[Path, int]]:
    """The document (None when empty) and the line of each key path in it."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ScenarioError([f"{origin}:1: the document is larger than {MAX_BYTES} bytes"])
    loader = _Loader(text)
    try:
        loader.get_event()  # StreamStartEvent
        if loader.check_event(yaml.StreamEndEvent):
            return None, {}
        builder = _Builder(loader)
        document = builder.document()
        if not loader.check_event(yaml.StreamEndEvent):
            line = loader.get_event().start_mark.line + 1
            raise ScenarioError([f"{origin}:{line}: not valid YAML: but found another document"])
        return document, dict(builder.lines)
    except _Problem as problem:
        raise ScenarioError([f"{origin}:{problem.line}: {problem.message}"]) from None
    except yaml.MarkedYAMLError as error:  # the parser's, or a value's constructor's
        prefix = "" if isinstance(error, yaml.constructor.ConstructorError) else "not valid YAML: "
        raise ScenarioError([f"{origin}:{_line(error, text)}: {prefix}{error.problem}"]) from None
    except yaml.YAMLError as error:
        raise ScenarioError([f"{origin}:1: not valid YAML: {error}"]) from None
    finally:
        loader.dispose()
