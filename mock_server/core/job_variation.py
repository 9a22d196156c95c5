"""How a job varies on an author that is not the one the docs show (the ``vary`` setting).

Two things about a job vary, both legal and both seeded, so a run is repeated exactly:

- its id: the contract says a ``processingId`` is a string, not that it is a UUID, so ids come in
  several shapes (:func:`seeded_ids`);
- its log: lines of other levels than INFO, and a stack trace whose frames are lines of their own
  with no timestamp (:func:`log_extras`), as a Java author writes when something goes wrong.

Everything else that varies is in how an answer is written: :mod:`mock_server.contract.variation`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

__all__ = ["ID_SHAPES", "log_extras", "seeded_ids"]

#: The shapes of ids: name -> how to make one from a random number generator.
ID_SHAPES: dict[str, Callable[[random.Random], str]] = {
    "uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    "upper-case uuid": lambda rng: str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper(),
    "32 hex digits": lambda rng: f"{rng.getrandbits(128):032x}",
    "decimal number": lambda rng: str(1_700_000_000_000 + rng.randrange(10**12)),
    "prefixed": lambda rng: f"job-{rng.randrange(10**6):06d}-{rng.getrandbits(32):08x}",
    "node name": lambda rng: f"bulk_asset_processing_{rng.getrandbits(40):x}",
}


def seeded_ids(seed: int) -> Callable[[], str]:
    """Ids of every shape in :data:`ID_SHAPES`, in a seeded order."""
    rng = random.Random(f"ids:{seed}")
    shapes = list(ID_SHAPES.values())
    return lambda: rng.choice(shapes)(rng)


#: A log line: its level (None for a line of a stack trace, written as it is) and its text.
LogLine = tuple[str | None, str]

_FRAMES = (
    "com.adobe.fmdita.bulkprocessing.AssetProcessor.process(AssetProcessor.java:{})",
    "com.adobe.fmdita.bulkprocessing.BulkProcessingJob.run(BulkProcessingJob.java:{})",
    "org.apache.sling.event.impl.jobs.JobConsumerManager$JobConsumerWrapper.process(JobConsumerManager.java:{})",
    "org.apache.jackrabbit.oak.jcr.session.NodeImpl.getProperty(NodeImpl.java:{})",
    "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:{})",
    "java.base/java.lang.Thread.run(Thread.java:{})",
)


def log_extras(seed: int, processing_id: str, stage: str) -> list[LogLine]:
    """The extra lines a varied job writes at ``stage`` (``"counted"`` or ``"failed"``): seeded by
    the job, so its log is the same in every page, tail and ZIP, and from run to run."""
    rng = random.Random(f"log:{seed}:{processing_id}:{stage}")
    lines: list[LogLine] = []
    if rng.random() < 0.5:
        lines.append(("DEBUG", f"Asset selection resolved in {rng.randrange(2, 900)} ms"))
    if stage == "failed" or rng.random() < 0.5:
        level = "ERROR" if stage == "failed" else "WARN"
        lines.append((level, "Could not read the metadata of an asset; continuing"))
        lines.append((None, "javax.jcr.RepositoryException: OakState0001: unexpected state"))
        depth = rng.randrange(2, len(_FRAMES) + 1)
        lines += [(None, "\tat " + frame.format(rng.randrange(40, 900))) for frame in _FRAMES[:depth]]
        if rng.random() < 0.5:
            lines.append((None, f"\t... {rng.randrange(3, 40)} more"))
    return lines
