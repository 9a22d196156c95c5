"""Deprecated: the schema check is :mod:`.schema_check`, the contract :mod:`.rules`.

The old names still import from here, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

__all__: list[str] = []

_MOVED = {
    "Contract": "mock_server.contract.rules",
    "FRAMEWORK_PARAMETERS": "mock_server.contract.rules",
    "SchemaCheck": "mock_server.contract.schema_check",
}


def __getattr__(name: str) -> Any:
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"mock_server.contract.validation.{name} moved: import it from {home}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(home), name)
