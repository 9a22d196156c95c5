"""What in a scenario is secret, and a scenario's YAML with its secrets masked.

The dashboard and ``GET /__admin/scenario`` show a scenario as written, its comments and layout
included, but never a secret: the passwords of ``settings.users``, the Bearer tokens that are the
*keys* of ``settings.tokens`` (their values are user ids) and ``admin.token``. :data:`SECRETS` is
the one list of them: :func:`masked_yaml` finds them in the text by their place in the document,
:func:`masked_settings` in the settings in force by the name of their setting.

The text is composed as the loader reads it (flow or block style, quoted or plain, ``? key`` forms,
an alias to an anchor written elsewhere), and only the secret scalars' own characters, found by the
scanner's token marks, are replaced (an anchor or tag before them stays). Where the text cannot be
read again, nothing of it is shown: the masking fails closed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
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
    Secret("admin_token", ("admin", "token"), "value"),
)


def masked_settings(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Settings by name, each secret one that is set shown as :data:`MASK`."""
    secret = {s.setting for s in SECRETS}
    return {name: MASK if name in secret and value else value for name, value in fields.items()}


@functools.lru_cache(maxsize=4)  # a page view or GET per second must not re-read a 1 MiB text each
def masked_yaml(text: str) -> str:
    """``text`` with each secret scalar replaced by a quoted :data:`YAML_MASK` (the keys of
    ``tokens`` numbered, so that the text stays a readable map), everything else as written, line
    for line. About a second for a 1 MiB scenario: call it off the event loop."""
    if not text:
        return text
    import yaml  # PyYAML loads with the first scenario: the embedded default, which has no text, needs none

    try:
        spans = sorted(_secret_spans(text))
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


def _loader() -> type[yaml.SafeLoader]:
    import yaml

    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # ten times faster
    return loader


def _secret_spans(text: str) -> set[tuple[int, int, bool]]:
    """``(start, end, is_key)`` of every secret scalar in ``text``, by character index."""
    loader = _loader()(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    found = list(_secret_nodes(root))
    if not found:
        return set()
    import yaml

    # A node's start mark includes its anchor and tag; the scalar token's marks are its own text.
    tokens = yaml.scan(text, Loader=_loader())
    starts = {t.end_mark.index: t.start_mark.index for t in tokens if type(t).__name__ == "ScalarToken"}
    spans: dict[tuple[int, int], bool] = {}
    for node, is_key in found:
        end = node.end_mark.index
        start = starts.get(end, node.start_mark.index) if node.id == "scalar" else node.start_mark.index
        spans[start, end] = spans.get((start, end), False) or is_key  # an alias: one node, met twice
    return {(start, end, is_key) for (start, end), is_key in spans.items()}


def _secret_nodes(root: Any) -> Iterator[tuple[Any, bool]]:
    """Each secret's node, and whether it is a key. Nodes and tokens are told apart by their
    ``id`` and name rather than their class: PyYAML's C loader may build the classes of another
    import of ``yaml`` (pytester's in-process runs import it twice)."""
    for secret in SECRETS:
        node = root
        for key in secret.path:
            node = _value_of(node, key)
        if node is None:
            continue
        if secret.part == "value":
            yield node, False
        elif node.id == "mapping":
            for key_node, value_node in node.value:
                yield (key_node, True) if secret.part == "keys" else (value_node, False)
        else:  # not a map where a map belongs (the schema refuses that): mask all of it
            yield node, False


def _value_of(node: Any, key: str) -> Any:
    if node is None or node.id != "mapping":
        return None
    for key_node, value_node in node.value:
        if key_node.id == "scalar" and key_node.value == key:
            return value_node
    return None
