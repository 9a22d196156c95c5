"""What in a scenario is secret, and a scenario's YAML with its secrets masked.

The dashboard and ``GET /__admin/scenario`` show a scenario as written, its comments and layout
included, but never a secret: the passwords of ``settings.users``, the Bearer tokens that are the
*keys* of ``settings.tokens``, the ``login-token`` cookies that are the keys of
``settings.login_tokens`` (their values are user ids) and ``admin.token``. :data:`SECRETS` is the
one list of them: :func:`masked_yaml` finds them in the text by their place in the document,
:func:`masked_settings` in the settings in force by the name of their setting.

:func:`masked_yaml` reads the parser's events once, in bounded memory, keeping the key path of each
node (flow or block style, quoted or plain, ``? key`` forms, an alias to an anchor written
elsewhere), and replaces only the secret scalars' own characters (an anchor or tag before them
stays). It costs about as much as reading the scenario: the runtime calls it once per load, in the
load's worker thread, and keeps the result; a page or a GET does no YAML work. Each span is checked
to read back as the value the parser gave before it is replaced: where one does not, or the text
cannot be read again, nothing of it is shown (the masking fails closed).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import yaml

__all__ = ["MASK", "SECRETS", "UNREADABLE", "YAML_MASK", "Secret", "masked_settings", "masked_yaml"]

#: What a secret setting is shown as in the settings table; in the YAML, a secret scalar becomes
#: the quoted :data:`YAML_MASK`, and a secret key ``"(not shown N)"`` (one map's keys must differ).
MASK = "(set; not shown)"
YAML_MASK = "(not shown)"
#: What the YAML is shown as when it could not be read again to mask it.
UNREADABLE = "# (the scenario's YAML is not shown: it could not be read again to mask its secrets)\n"


@dataclass(frozen=True, slots=True)
class Secret:
    """One secret of the scenario format: the setting it sets, and where a scenario writes it."""

    setting: str
    """The field of :class:`~mock_server.core.settings.Settings` it sets."""
    path: tuple[str, ...]
    """Its key path in a scenario document."""
    part: Literal["value", "values", "keys"]
    """What is secret there: the value itself, the values of a map, or the keys of a map."""


SECRETS = (
    Secret("users", ("settings", "users"), "values"),  # user id -> password
    Secret("tokens", ("settings", "tokens"), "keys"),  # Bearer token -> user id
    Secret("login_tokens", ("settings", "login_tokens"), "keys"),  # login-token cookie -> user id
    Secret("admin_token", ("admin", "token"), "value"),
    Secret("ims_clients", ("ims", "clients"), "values"),  # IMS client id -> client secret
)
#: The maps whose values are secrets, at any key below them.
_VALUED: tuple[tuple[str, ...], ...] = tuple(s.path for s in SECRETS if s.part == "values")


def masked_settings(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Settings by name, each secret one that is set shown as :data:`MASK`."""
    secret = {s.setting for s in SECRETS}
    return {name: MASK if name in secret and value else value for name, value in fields.items()}


def masked_yaml(text: str) -> str:
    """``text`` with each secret scalar replaced by a quoted :data:`YAML_MASK` (the keys of
    ``tokens`` and ``login_tokens`` numbered, so that the text stays a readable map), everything
    else as written, line for line; :data:`UNREADABLE` when that cannot be done safely. About half
    a second for a 1 MiB scenario: call it off the event loop, once per text."""
    if not text:
        return text
    import yaml  # PyYAML loads with the first scenario: the embedded default, which has no text, needs none

    try:
        spans = _Spans(text).found()
    except (yaml.YAMLError, RecursionError, ValueError):
        return UNREADABLE
    shown, at, keys = [], 0, 0
    for start, end, is_key in spans:
        written = text[start:end]
        keys += is_key
        mask = f'"{YAML_MASK[:-1]} {keys})"' if is_key else f'"{YAML_MASK}"'
        # A scalar written over several lines leaves its line breaks and indentation: the lines
        # after it keep their numbers (a problem's "scenario.yaml:12" still points at line 12).
        rest = "".join("\n" + line[: len(line) - len(line.lstrip())] for line in written.split("\n")[1:])
        shown += [text[at:start], mask, rest]
        at = end
    shown.append(text[at:])
    return "".join(shown)


# --- where the secrets are written ---------------------------------------------------------------------

Path = tuple[str | int, ...]
#: The maps whose keys are secrets (their values are user ids).
_KEYED: tuple[Path, ...] = tuple(s.path for s in SECRETS if s.part == "keys")
#: The deepest key path below an anchored collection whose scalars are kept for its aliases: no
#: secret lies deeper than three keys (``settings.users.<id>``).
_DEEPEST = 3
#: The most scalars kept for aliases in all: the reader's node cap, which every loaded scenario
#: keeps (its aliases counted each time they are used), so only a text it refused comes near.
_MOST_KEPT = 100_000


def _secret_value(path: Path) -> bool:
    """Whether a scalar written at ``path`` (as a value) is a secret: a password, the admin token,
    or a scalar where the map of users or tokens belongs."""
    return path[:2] in (*_VALUED, ("admin", "token")) or path in _KEYED


def _secret_key(map_path: Path) -> bool:
    return map_path in _KEYED


def _no_collection_at(path: Path) -> None:
    """A map or list where a secret scalar belongs (which the schema refuses) is not shown at all:
    failing closed is simpler than masking every scalar inside it."""
    if (path[:2] in _VALUED and len(path) > 2) or path[:2] == ("admin", "token"):
        raise ValueError(f"a collection at {path}, where a secret is written")


Span = tuple[int, int] | None
Kind = Literal["value", "key", "collection"]
#: A node written in an anchored collection: its key path below it (a key's ends with the key),
#: its span (a scalar's), and what it is.
Kept = tuple[Path, Span, Kind]


@dataclass(slots=True)
class _Anchored:
    """What an anchor stands for: a scalar (its value and span) or a collection (what is kept of
    the nodes in it, for its aliases)."""

    value: str | None = None
    span: Span = None
    kept: list[Kept] = field(default_factory=list)


@dataclass(slots=True)
class _Open:
    """A mapping or sequence being read."""

    path: Path
    is_map: bool
    anchor: str | None
    key: str | None = None  # a mapping's key awaiting its value
    items: int = 0
    kept: list[Kept] | None = None  # when anchored


class _Spans:
    """The span of every secret scalar of one text, from the parser's events."""

    def __init__(self, text: str) -> None:
        from .safe_yaml import _base_loader  # the reader's choice of loader, libyaml when it can

        self.text = text
        self.loader_class = _base_loader()
        # libyaml's marks do not count a leading byte order mark; PyYAML's own reader does.
        native = "cyaml" in self.loader_class.__module__
        self.shift = 1 if native and text.startswith("\ufeff") else 0
        self.anchors: dict[str, _Anchored] = {}
        self.stack: list[_Open] = []
        self.spans: dict[tuple[int, int], bool] = {}  # (start, end): is a key
        self.kept = 0

    def found(self) -> list[tuple[int, int, bool]]:
        """``(start, end, is_key)`` of each secret, in order; ValueError where one cannot be told."""
        import yaml

        loader: Any = self.loader_class(self.text)  # PyYAML's loaders are not typed
        try:
            while loader.check_event():
                event = loader.get_event()
                if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                    self._close()
                elif isinstance(event, yaml.NodeEvent):
                    self._node(event)
        finally:
            loader.dispose()
        found = sorted((start, end, is_key) for (start, end), is_key in self.spans.items())
        for (_, end, _), (start, _, _) in itertools.pairwise(found):
            if start < end:
                raise ValueError("secret spans overlap")
        return found

    def _node(self, event: yaml.NodeEvent) -> None:
        import yaml

        parent = self.stack[-1] if self.stack else None
        if parent is not None and parent.is_map and parent.key is None:
            self._key(event, parent)
            return
        if parent is None:
            path: Path = ()
        elif parent.is_map:
            path, parent.key = (*parent.path, parent.key or ""), None
        else:
            path, parent.items = (*parent.path, parent.items), parent.items + 1
        if isinstance(event, yaml.ScalarEvent):
            span = self._span(event)
            self._place(path, span, "value")
            if event.anchor is not None:
                self.anchors[event.anchor] = _Anchored(value=event.value, span=span)
        elif isinstance(event, yaml.AliasEvent):
            anchored = self._anchored(event)
            if anchored.value is not None:
                self._place(path, anchored.span, "value")
            else:
                self._place(path, None, "collection")
                for below, span, kind in anchored.kept:
                    self._place((*path, *below), span, kind)
        else:
            self._place(path, None, "collection")
            is_map = isinstance(event, yaml.MappingStartEvent)
            if not is_map and (path == ("settings", "users") or path in _KEYED):
                raise ValueError(f"a list at {path}, where a map of secrets belongs")
            kept: list[Kept] | None = [] if event.anchor is not None else None
            self.stack.append(_Open(path, is_map, event.anchor, kept=kept))

    def _key(self, event: yaml.NodeEvent, parent: _Open) -> None:
        import yaml

        if isinstance(event, yaml.ScalarEvent):
            span = self._span(event)
            key = event.value
            if event.anchor is not None:
                self.anchors[event.anchor] = _Anchored(value=key, span=span)
        elif isinstance(event, yaml.AliasEvent):
            anchored = self._anchored(event)
            if anchored.value is None:
                raise ValueError("a collection as a key")  # the reader refuses it
            key, span = anchored.value, anchored.span
        else:
            raise ValueError("a collection as a key")
        self._place((*parent.path, key), span, "key")
        parent.key = key

    def _close(self) -> None:
        done = self.stack.pop()
        if done.anchor is not None:
            self.anchors[done.anchor] = _Anchored(kept=done.kept or [])

    def _anchored(self, event: yaml.AliasEvent) -> _Anchored:
        anchored = self.anchors.get(event.anchor or "")
        if anchored is None:  # undefined, or still open (an alias inside its own anchor)
            raise ValueError(f"an alias to no anchor: {event.anchor}")
        return anchored

    def _place(self, path: Path, span: Span, kind: Kind) -> None:
        """A node at ``path`` (a key: ``path`` ends with it): a scalar kept as a secret where it is
        one, and each node kept for the aliases of every anchored collection it is written in."""
        if kind == "collection":
            _no_collection_at(path)
        elif span is not None and (_secret_key(path[:-1]) if kind == "key" else _secret_value(path)):
            is_key = kind == "key"
            self.spans[span] = self.spans.get(span, False) or is_key  # an alias: one scalar, met twice
        for open_ in self.stack:
            if open_.kept is not None and len(path) - len(open_.path) <= _DEEPEST:
                open_.kept.append((path[len(open_.path) :], span, kind))
                self.kept += 1
                if self.kept > _MOST_KEPT:
                    raise ValueError("too many scalars in anchored collections")

    def _span(self, event: yaml.ScalarEvent) -> Span:
        """The scalar's own characters (not its anchor or tag), checked to read back as its value;
        None when nothing is written (an empty plain scalar: nothing to hide)."""
        marks: tuple[Any, Any] = (event.start_mark, event.end_mark)  # libyaml's Mark or PyYAML's
        text, start, end = self.text, marks[0].index + self.shift, marks[1].index + self.shift
        if event.anchor is not None or event.tag is not None:
            start = _after_properties(text, start, end)
        if start == end and not event.value:
            return None
        written = text[start:end]
        if _reads_as(written, event.style) != event.value and self._read_back(written) != event.value:
            raise ValueError(f"the text at {start} does not read back as its scalar")
        return start, end

    def _read_back(self, written: str) -> str | None:
        """What a scalar written as ``written`` reads as, on its own."""
        import yaml

        loader = self.loader_class(written)
        try:
            events = list(_events(loader))
        finally:
            loader.dispose()
        scalars = [e for e in events if isinstance(e, yaml.NodeEvent)]
        return scalars[0].value if len(scalars) == 1 and isinstance(scalars[0], yaml.ScalarEvent) else None


def _events(loader: Any) -> Iterator[Any]:
    while loader.check_event():
        yield loader.get_event()


def _reads_as(written: str, style: str | None) -> str | None:
    """The value of a scalar written on one line in the common ways, without a parser (None: ask one)."""
    if "\n" in written or "\r" in written:
        return None
    if not style:
        return written
    if style == "'" and len(written) >= 2 and written[0] == written[-1] == "'":
        return written[1:-1].replace("''", "'")
    if style == '"' and len(written) >= 2 and written[0] == written[-1] == '"' and "\\" not in written:
        return written[1:-1]
    return None


def _after_properties(text: str, start: int, end: int) -> int:
    """Where a node's content begins, past its anchor (``&a``) and tag (``!t``, ``!!str``, ``!<…>``),
    and the spaces, line breaks and comments around them."""
    at = start
    while at < end:
        char = text[at]
        if char in " \t\r\n\ufeff":
            at += 1
        elif char == "#":
            at = text.find("\n", at, end)
            at = end if at < 0 else at
        elif text.startswith("!<", at):  # a verbatim tag may hold any URI character
            at = text.find(">", at, end) + 1 or end
        elif char in "&!":
            while at < end and text[at] not in " \t\r\n,[]{}":
                at += 1
        else:
            break
    return at
