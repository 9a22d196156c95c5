"""aem-guides-mock: a contract-validating mock of AEM Guides' bulk asset processing API."""

from .app import create_app
from .clock import Clock, ManualClock, SystemClock
from .default_repository import default_repository
from .errors import (
    ContractViolation,
    InvalidTransition,
    JobError,
    MockError,
    RequestViolation,
    ResponseViolation,
    UnknownJob,
    Violation,
)
from .jobs import JobEngine, Lifecycle, StartRequest
from .repository import Repository
from .settings import Settings

__version__ = "0.1.0"

__all__ = [
    "Clock",
    "ContractViolation",
    "InvalidTransition",
    "JobEngine",
    "JobError",
    "Lifecycle",
    "ManualClock",
    "MockError",
    "Repository",
    "RequestViolation",
    "ResponseViolation",
    "Settings",
    "StartRequest",
    "SystemClock",
    "UnknownJob",
    "Violation",
    "__version__",
    "create_app",
    "default_repository",
]
