"""Every decision the mock takes where the public evidence is silent, in one frozen object.

The numbers in the comments refer to the table in section 3 of the contract (``API.md``).
Precedence, lowest first: these defaults < a scenario file < environment < CLI flag / fixture marker.
The README lists every field; ``tests/test_settings.py`` checks that it does.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["STATUSES", "Settings"]

#: The job statuses the engine knows, in the default vocabulary (§3.1).
STATUSES = ("WAITING", "IN_PROGRESS", "SUCCESS", "FAILED", "CANCELLED")


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return types.MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Settings:
    """The mock's behaviour switches; replace fields with :func:`dataclasses.replace`."""

    # --- authentication (contract §1 "Authentication", §3.22, §3.25)
    users: Mapping[str, str] = field(default_factory=lambda: _frozen({"admin": "admin"}))
    """HTTP Basic users: user id -> password."""
    tokens: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    """Bearer tokens: token -> user id."""
    realm: str = "Sling (Development)"

    # --- the job lifecycle
    counting_ms: int = 100
    """§3.28: how long counting the assets takes."""
    per_asset_ms: int = 200
    """§3.28: how long one asset takes."""
    speed: float = 1.0
    """§3.28: pace factor; 2.0 runs jobs twice as fast."""
    status_names: Mapping[str, str] = field(default_factory=lambda: _frozen({s: s for s in STATUSES}))
    """§3.1/§3.2: the token sent for each internal status (status vocabulary map)."""
    eta_unit: str = "SECONDS"
    """§3.3."""
    history_size: int = 20
    """§3.4: how many jobs history lists, newest first."""
    max_jobs: int = 10_000
    """How many jobs are kept; the oldest finished ones are forgotten past this."""
    allowed_types: tuple[str, ...] = ("ASSET_PROCESSING",)
    """§3.10: values accepted for the start request's ``type``."""
    lenient: bool = False
    """§3.11: accept unknown request fields instead of answering 400."""
    concurrency: int = 1
    """§3.12: how many jobs run at once; the others wait in FIFO order."""
    unknown_id_status: Literal[400, 404] = 400
    """§3.13: the status for a missing or unknown ``processingId``."""
    conflict_status: Literal[400, 409] = 400
    """§3.12, §3.14, §3.15: the status for a start on a busy path or a transition the status forbids."""
    logs_limit: int = 500
    """§3.19: default and maximum ``limit`` of a log page."""
    log_dir: str = "/var/log/guides/bulk-asset-processing"
    """§3.20: the folder named in ``logFilePaths`` when a client asks for JSON."""
    contract_revision: Literal["latest", "2025-11"] = "latest"
    """§3.30: ``2025-11`` refuses the ``filter`` input, as the seed's revision lacks it."""
    is_database: bool = False
    """§3.31: JCR (false) or database (true) asset processing."""
    csrf: bool = False
    """§3.26: CSRF enforcement for browser user agents, with the token endpoint."""
    max_body_bytes: int = 1024 * 1024
    """Request bodies larger than this are refused with 413."""
    ignored_paths: tuple[str, ...] = ("/content/dam/projects/translation_output",)
    """Paths that are never processed, whatever a request says."""
    download_mode: Literal["zip", "json"] = "zip"
    """§3.20: ``zip`` answers a ZIP unless the client asks for JSON; ``json`` always answers paths."""
    journal_size: int = 1000
    """How many exchanges the journal keeps (a ring buffer)."""
    system_job: bool = False
    """§3.29: a job created by ``System`` for ``system_job_path`` every ``system_job_interval_ms``,
    the first one interval after the start; skipped while a job for that path is going."""
    system_job_interval_ms: int = 15 * 60 * 1000
    """§3.29: how often the system job runs."""
    system_job_path: str = "/content/dam"
    """§3.29: the path the system job processes."""
    error_format: Literal["json", "sling-html"] = "json"
    """§3.24: error bodies as the mock's JSON error object, or as Sling's HTML error page."""
    restart_endpoint: bool = False
    """§3.16: serve ``POST …/process/restart``: a new job for the request of a SUCCESS job."""
    admin_enabled: bool = True
    """Serve the admin API under ``/__admin``."""
    admin_token: str | None = None
    """When set, the admin API needs it (header ``X-Admin-Token``) and answers beyond loopback."""

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError(f"speed must be positive, got {self.speed!r}")
        if self.counting_ms < 0 or self.per_asset_ms < 1:
            raise ValueError("counting_ms must be >= 0 and per_asset_ms >= 1")
        if not 1 <= self.concurrency <= 64:
            raise ValueError(f"concurrency must be from 1 to 64, got {self.concurrency!r}")
        if self.system_job_interval_ms < 1000:
            raise ValueError(
                "system_job_interval (system_job_interval_ms) must be at least 1s, "
                f"got {self.system_job_interval_ms}ms"
            )
        if not self.system_job_path.startswith("/"):
            raise ValueError(
                f"system_job_path must be absolute, such as '/content/dam'; got {self.system_job_path!r}"
            )
        if min(self.history_size, self.max_jobs, self.logs_limit, self.journal_size) < 1:
            raise ValueError("history_size, max_jobs, logs_limit and journal_size must be >= 1")
        missing = set(STATUSES) - set(self.status_names)
        if missing:
            raise ValueError(f"status_names lacks a token for {sorted(missing)}")
        # Mappings are stored read-only so that a frozen Settings is really frozen.
        for name in ("users", "tokens", "status_names"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    @property
    def effective_counting_ms(self) -> int:
        return round(self.counting_ms / self.speed)

    @property
    def effective_per_asset_ms(self) -> int:
        return max(1, round(self.per_asset_ms / self.speed))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> dict[str, Any]:
        """Overrides from ``AEM_GUIDES_MOCK_<FIELD>`` variables (scalar fields only), e.g.
        ``AEM_GUIDES_MOCK_SPEED=4`` or ``AEM_GUIDES_MOCK_ADMIN_TOKEN=…``."""
        changes: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            raw = environ.get(f"AEM_GUIDES_MOCK_{item.name.upper()}")
            if raw is None:
                continue
            kind = str(item.type)
            try:
                if kind == "bool":
                    changes[item.name] = raw.strip().lower() in ("1", "true", "yes", "on")
                elif kind == "int" or kind.startswith("Literal[4"):
                    changes[item.name] = int(raw)
                elif kind == "float":
                    changes[item.name] = float(raw)
                elif kind.startswith(("str", "Literal")):
                    changes[item.name] = raw
            except ValueError:
                raise ValueError(
                    f"AEM_GUIDES_MOCK_{item.name.upper()}: expected {kind}, got {raw!r}"
                ) from None
        return changes

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied (validated like the original)."""
        return dataclasses.replace(self, **changes)
