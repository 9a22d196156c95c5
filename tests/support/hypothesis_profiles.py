"""The Hypothesis profiles: ``dev`` (the default) runs a tenth of each property's examples so the inner
loop stays fast; ``ci`` (``HYPOTHESIS_PROFILE=ci``, set by .ci/run's coverage run) runs every example
each test asks for, so that no check is lost from CI."""

from __future__ import annotations

import os

from hypothesis import settings

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
if PROFILE not in ("dev", "ci"):
    raise RuntimeError(f"HYPOTHESIS_PROFILE={PROFILE!r}: use dev (the default) or ci")

settings.register_profile("ci", max_examples=100)  # Hypothesis' own default
settings.register_profile("dev", max_examples=20)
settings.load_profile(PROFILE)


def examples(ci: int) -> int:
    """A property's example count: ``ci`` under the ci profile, a tenth of it (10 at least) under dev."""
    return ci if PROFILE == "ci" else min(ci, max(10, ci // 10))
