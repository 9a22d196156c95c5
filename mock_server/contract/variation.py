"""Seeded, contract-legal variation of the mock's answers, to catch a brittle client (``vary``).

A real author may answer otherwise than the docs' examples and still keep the contract: a newer
one adds keys, an older one leaves optional keys out, a JSON library writes keys in any order, a
server cuts a log page short. A client that leans on any of these breaks on some author one day;
with ``vary`` it breaks in its own tests, and the journal says which variation did it.

What :class:`Variation` does to an answer (each with some probability, per object):

- leaves out keys the schema does not require (the "may" schemas of docs/contract.md §2);
- adds keys the contract does not have, as a newer author would (:data:`NEW_KEYS`);
- writes the keys in another order;
- cuts a log page short (a ``limit`` is a maximum): fewer lines, ``hasMore`` true, and the
  ``limit`` echoed as asked or as the lines sent; a ``tail`` answer is never cut.

Ids of other shapes and log lines of other levels come from the job itself
(:mod:`mock_server.core.job_variation`), so that every answer about a job agrees; they are named here.
The random choices are seeded by the seed, the schema and the answer's own bytes: the same seed
varies the same answer alike, whatever the order or timing of the requests.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping
from typing import Any

from ..core.errors import MAX_LISTED

__all__ = ["NEW_KEYS", "Variation"]

#: Keys a newer author might add to any object, with a value of each JSON type.
NEW_KEYS: dict[str, Any] = {
    "priority": 5,
    "createdOn": "2026-11-30T09:15:00.000Z",
    "nodeId": "author-7f9d",
    "retryCount": 0,
    "tags": ["guides", "bulk"],
    "details": {"source": "guides", "schemaVersion": 2},
    "archived": False,
    "note": None,
}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_LEVEL = re.compile(r"^\S+ \S+: ([A-Z]+): ")
_ID_PREFIX = "urn:aem-guides-mock:schema:"


class Variation:
    """Varies answers with ``seed``; ``schemas`` (by name) say which keys an answer may leave out."""

    def __init__(self, seed: int, schemas: Mapping[str, dict[str, Any]]):
        self.seed = seed
        self._schemas = schemas
        self._by_id = {s["$id"]: s for s in schemas.values() if "$id" in s}

    def vary(self, name: str, payload: Any, body: bytes, query: Mapping[str, Any]) -> tuple[Any, list[str]]:
        """``payload`` (whose serialization is ``body``) as schema ``name``'s answer varied, and
        the names of its variations (at most :data:`MAX_LISTED`, then how many more)."""
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        rng = random.Random(f"{self.seed}:{name}:{digest}")
        names: list[str] = []
        varied = self._object(payload, self._schemas[name], "", rng, names)
        if name == "logs.response" and "tail" not in query:
            varied = _cut_page(varied, rng, names)
        names += _job_variations(varied)
        if len(names) > MAX_LISTED:
            names = [*names[: MAX_LISTED - 1], f"and {len(names) - MAX_LISTED + 1} more"]
        return varied, names

    def _resolve(self, schema: Any) -> Any:
        while isinstance(schema, dict) and "$ref" in schema:
            schema = self._by_id.get(schema["$ref"], {})
        return schema

    def _object(self, value: Any, schema: Any, where: str, rng: random.Random, names: list[str]) -> Any:
        schema = self._resolve(schema)
        if isinstance(value, list) and isinstance(schema, dict):
            items = schema.get("items", {})
            return [self._object(item, items, f"{where}/{i}", rng, names) for i, item in enumerate(value)]
        if not isinstance(value, dict) or not isinstance(schema, dict) or "properties" not in schema:
            return value
        declared, required = schema["properties"], set(schema.get("required", ()))
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key in declared and key not in required and rng.random() < 0.25:
                names.append(f"left out {where}/{key}")
                continue
            out[key] = self._object(item, declared.get(key, {}), f"{where}/{key}", rng, names)
        if rng.random() < 0.3:
            new = [k for k in NEW_KEYS if k not in out and k not in declared]
            if new:
                key = rng.choice(new)
                out[key] = NEW_KEYS[key]
                names.append(f"added {where}/{key}")
        if len(out) > 1 and rng.random() < 0.5:
            keys = list(out)
            rng.shuffle(keys)
            if keys != list(out):
                out = {k: out[k] for k in keys}
                names.append(f"reordered the keys of {where or '/'}")
        return out


def _cut_page(page: Any, rng: random.Random, names: list[str]) -> Any:
    """A log page cut short, as a server may cut it: ``limit`` is the most lines it sends."""
    lines = page.get("lines") if isinstance(page, dict) else None
    if not isinstance(lines, list) or len(lines) < 2 or rng.random() < 0.5:
        return page
    kept = rng.randrange(1, len(lines))
    cut = dict(page, lines=lines[:kept], hasMore=True)
    echoed = "as asked"
    if "limit" in cut and rng.random() < 0.5:
        cut["limit"], echoed = kept, f"as {kept}"
    names.append(f"cut the log page to {kept} of {len(lines)} lines (limit echoed {echoed})")
    return cut


def _job_variations(payload: Any) -> list[str]:
    """Names for what the job itself varies: an id that is no UUID, lines of other levels."""
    found: list[str] = []
    jobs = payload.get("executionHistory", [payload]) if isinstance(payload, dict) else []
    for job in jobs:
        pid = job.get("processingId") if isinstance(job, dict) else None
        if isinstance(pid, str) and not _UUID.fullmatch(pid):
            found.append(f"a processingId that is no UUID: {pid[:60]!r}")
    lines = payload.get("lines") if isinstance(payload, dict) else None
    if isinstance(lines, list):
        levels = sorted({m.group(1) for line in lines if (m := _LEVEL.match(str(line)))} - {"INFO"})
        if levels:
            found.append("log lines of level " + ", ".join(levels))
        frames = sum(1 for line in lines if not _LEVEL.match(str(line)))
        if frames:
            found.append(f"{frames} log lines of a stack trace (no timestamp)")
    return found
