"""The mock's ``vary`` setting against two clients: the brittle one is caught, the tolerant passes.

``@pytest.mark.aem_scenario(vary=SEED)`` makes the mock vary every answer within the contract,
seeded (docs/contract.md §4): the same seed varies alike, so a failure repeats exactly, and the
failure report lists the variations the client met last.
"""

from __future__ import annotations

import pytest
from brittle_client import HABITS, BrittleClient
from bulk_client import BulkProcessingClient

from mock_server import AemMock

SEEDS = range(1, 7)
varied = pytest.mark.parametrize(
    "seed", [pytest.param(seed, marks=pytest.mark.aem_scenario(vary=seed)) for seed in SEEDS]
)


def run(client: BulkProcessingClient) -> tuple[dict[str, object], list[str]]:
    """What a pipeline does: start a job, wait for its end, read its whole log."""
    job_id = client.start("/content/dam/22858")
    job = client.wait(job_id)
    return job, client.logs(job_id, page=4)


def test_the_brittle_client_works_against_the_documented_examples(aem_mock: AemMock) -> None:
    """Without ``vary`` the mock answers like the docs' examples: nothing shows the habits."""
    client = BrittleClient(aem_mock.url, *aem_mock.auth, sleep=aem_mock.advance)
    job, lines = run(client)
    assert job["status"] == "SUCCESS"
    assert len(lines) == 10
    assert set(client.levels(str(job["processingId"]))) == {"INFO"}


@varied
def test_the_tolerant_client_passes_every_variation(aem_mock: AemMock, seed: int) -> None:
    client = BulkProcessingClient(aem_mock.url, *aem_mock.auth, sleep=aem_mock.advance)
    job, lines = run(client)
    assert job["status"] == "SUCCESS"
    assert job["triggeredCount"] == 6
    assert sum("Processing asset [" in line for line in lines) == 6  # no line lost between pages
    assert lines[-1].endswith("[status=SUCCESS]. Exiting...")
    assert any(e.variations for e in aem_mock.journal)  # it did meet varied answers


@pytest.mark.parametrize("habit", HABITS)
def test_each_habit_of_the_brittle_client_is_caught(aem_mock: AemMock, habit: str) -> None:
    """Each habit alone fails on a varied answer within a few seeds; the journal names the
    variation (and a failing test's report lists them: see the plugin's ``vary`` section)."""
    caught = []
    for seed in SEEDS:
        aem_mock.load_scenario("default", vary=seed)
        client = BrittleClient(aem_mock.url, *aem_mock.auth, habits=(habit,), sleep=aem_mock.advance)
        try:
            job, lines = run(client)
            assert sum("Processing asset [" in line for line in lines) == 6, "lines lost between pages"
            client.levels(str(job["processingId"]))
        except (ValueError, KeyError, AssertionError) as error:
            caught.append((seed, type(error).__name__))
    assert caught, f"no seed of {list(SEEDS)} caught the habit {habit!r}"
