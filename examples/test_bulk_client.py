"""The sample client's own tests, on the mock's pytest plugin: no AEM, no sleeping."""

from __future__ import annotations

import pytest
from bulk_client import BulkProcessingClient

from mock_server import AemMock


@pytest.fixture
def client(aem_mock: AemMock) -> BulkProcessingClient:
    # the client "sleeps" by moving the mock's clock: a 33 s job takes milliseconds
    return BulkProcessingClient(aem_mock.url, *aem_mock.auth, sleep=aem_mock.advance)


def test_a_job_runs_to_the_end_and_its_log_is_complete(client: BulkProcessingClient) -> None:
    job_id = client.start("/content/dam/22858")
    job = client.wait(job_id)
    assert job["status"] == "SUCCESS"
    assert job["triggeredCount"] == job["migrationSet"]["totalFiles"] == 6
    lines = client.logs(job_id, page=3)  # several pages
    assert sum("Processing asset" in line for line in lines) == 6
    assert lines[-1].endswith("Bulk processing job completed [status=SUCCESS]. Exiting...")


def test_filters_and_exclusions_reach_the_server(client: BulkProcessingClient) -> None:
    job_id = client.start(
        "/content/dam/status-fetch1",
        excluded=["/content/dam/status-fetch1/excluded-folder"],
        file_types=["DITATOPIC"],
    )
    assert client.wait(job_id)["migrationSet"]["totalFiles"] == 2


@pytest.mark.aem_scenario("fail-midway")
def test_a_failed_job_is_reported_with_its_comment(client: BulkProcessingClient) -> None:
    job = client.wait(client.start("/content/dam"))
    assert job["status"] == "FAILED"
    assert job["resumable"] is True
    assert job["comments"].startswith("Could not extract metadata")


@pytest.mark.aem_scenario("flaky-status")
def test_the_client_rides_out_a_busy_author(client: BulkProcessingClient, aem_mock: AemMock) -> None:
    job = client.wait(client.start("/content/dam/22858"))
    assert job["status"] == "SUCCESS"
    assert {e.status for e in aem_mock.journal} >= {200, 500, 503}  # it met the faults, and retried
