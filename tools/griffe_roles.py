"""A Griffe extension (mkdocs.yml, the Python handler's ``extensions``): the docstrings' Sphinx roles
(``:class:`~.errors.ScenarioError```, ``:meth:`title <mock_server.MockServer.calls>```) become links of
the API reference, so that the docstrings stay as they are and read well on the site.

A role's target is looked up as Sphinx would: from the object's own scope outwards (the class, the
module, each package above it), leading dots dropped; then as an absolute path; then, for a target
with a leading dot, as the end of exactly one path of the package. A target found is an optional
link (a link where the object is shown, its name in code where it is not). A target of this package
found nowhere is a required link, which the site's strict build fails on: a typo or a stale name in
a docstring is a broken reference. A target outside the package (``json.loads``) is code.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import griffe

ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj|const):`(?P<body>[^`]+)`")
_TITLED = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]+)>$")
_LITERAL_BLOCK = re.compile(r"(?<=\S)::(?=\n\n)")  # reST's "text::" before a literal block


def _objects(obj: griffe.Object) -> Iterator[griffe.Object]:
    yield obj
    for member in obj.members.values():
        if isinstance(member, griffe.Object):  # not an Alias: each object once, where it is defined
            yield from _objects(member)


class SphinxRoles(griffe.Extension):
    """Rewrites the Sphinx roles of every docstring of the package once it is loaded."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **_: Any) -> None:
        self._collection = loader.modules_collection
        self._package = pkg.name
        objects = list(_objects(pkg))
        self._paths = [obj.path for obj in objects]
        for obj in objects:
            if obj.docstring is not None:
                text = ROLE.sub(lambda match, obj=obj: self._link(obj, match["body"]), obj.docstring.value)
                obj.docstring.value = _LITERAL_BLOCK.sub(":", text)

    def _exists(self, path: str) -> bool:
        first, *rest = path.split(".")
        try:
            found: griffe.Object | griffe.Alias = self._collection.members[first]
            for part in rest:
                found = found.members[part]
        except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            return False
        return True

    def _resolve(self, obj: griffe.Object, target: str) -> str | None:
        name = target.lstrip(".")
        scope: griffe.Object | None = obj
        while scope is not None:
            if self._exists(f"{scope.path}.{name}"):
                return f"{scope.path}.{name}"
            scope = scope.parent
        if self._exists(name):
            return name
        ends = [path for path in self._paths if path.endswith(f".{name}")] if target[0] == "." else []
        return ends[0] if len(ends) == 1 else None

    def _link(self, obj: griffe.Object, body: str) -> str:
        titled = _TITLED.match(body)
        target = (titled["target"] if titled else body).lstrip("~")
        name = target.lstrip(".")
        short = name.rsplit(".", 1)[-1] if body.startswith("~") else name
        title = titled["title"] if titled else short
        found = self._resolve(obj, target)
        if found is not None:
            code = f"<code>{html.escape(title)}</code>"
            return f'<autoref identifier="{html.escape(found)}" optional>{code}</autoref>'
        if target.startswith(".") or "." not in name or name.split(".")[0] == self._package:
            return f"[`{title}`][{name}]"  # ours, and found nowhere: the strict build fails on it
        return f"`{title}`"
