"""Constants the tests share, written out as a client writes them (not imported from the mock)."""

from __future__ import annotations

import base64
from pathlib import Path

#: The checkout's root (README.md, docs/, schemas/, examples/).
ROOT = Path(__file__).resolve().parents[2]

#: The bulk API's base path, as a client spells it.
BASE = "/bin/guides/v1/assets/process"

#: The classic AEM login, as an ``Authorization`` value and as headers.
BASIC_ADMIN = "Basic " + base64.b64encode(b"admin:admin").decode()
AUTH = {"Authorization": BASIC_ADMIN}

#: The documented example's start.
START_22858: dict[str, object] = {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"}

#: §3.17: (cancellable, resumable, restartable) for each status.
FLAGS = {
    "WAITING": (True, False, False),
    "IN_PROGRESS": (True, False, False),
    "SUCCESS": (False, False, True),
    "FAILED": (False, True, False),
    "CANCELLED": (False, True, False),
}
