"""What the mocks of one server share: the parts a scenario and its settings make that never change.

A session is a whole mock (:class:`~.runtime.Mock`), but most of what a mock builds is the same
for every session made from the same scenario and settings, and is never changed once built: the
simulated repository (nothing adds to it after its scenario built it) and the contract (the
compiled schemas; its caches are of answers that depend only on what they are keyed by). Built
once per scenario and settings, they cost a session nothing: a session keeps of its own only what
changes (its clock, jobs, journal and fault counters). Issue 23 item 5: an idle session within
100 KB, made within 2 ms (``bench/bench_sessions.py``).

A part is kept only while a mock holds it (weak references): deleting the last session made from a
scenario frees its repository. Mocks build their parts in worker threads too (a session's
creation, a scenario's load), so the look-ups take a lock; a part is built outside it.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

from ..contract.rules import Contract
from ..core.repository import Repository
from ..core.settings import Settings
from ..scenarios.scenario import Scenario

__all__ = ["SharedParts"]

_Part = TypeVar("_Part", Repository, Contract)


class SharedParts:
    """The repositories and contracts of one server's mocks, by what they are built from."""

    def __init__(self) -> None:
        self._repositories: weakref.WeakValueDictionary[str, Repository] = weakref.WeakValueDictionary()
        self._contracts: weakref.WeakValueDictionary[str, Contract] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def repository(self, scenario: Scenario) -> Repository:
        """The repository ``scenario`` builds (:meth:`~.scenario.Scenario.repository`), built once
        for every scenario with the same repository and seed. Raises what building it raises."""
        key = json.dumps([scenario.seed, scenario.repository_spec], sort_keys=True, default=str)
        return self._get(self._repositories, key, scenario.repository, lambda _: True)

    def contract(self, settings: Settings) -> Contract:
        """The contract of ``settings``, built once for every equal ``settings``; its ``settings``
        are the ones to keep (the same object for every mock that shares it)."""
        return self._get(self._contracts, repr(settings), lambda: Contract(settings),
                         lambda found: found.settings == settings)  # fmt: skip

    def _get(
        self,
        kept: weakref.WeakValueDictionary[str, _Part],
        key: str,
        build: Callable[[], _Part],
        same: Callable[[_Part], bool],
    ) -> _Part:
        with self._lock:
            found = kept.get(key)
        if found is not None and same(found):
            return found
        made = build()
        with self._lock:
            found = kept.get(key)  # another thread may have built it meanwhile: keep one
            if found is not None and same(found):
                return found
            kept[key] = made
        return made
