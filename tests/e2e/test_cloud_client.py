"""The shipped ``cloud-service`` scenario with its example client (examples/clients/python/
cloud_client.py), on the pytest plugin: the client's token refresh and rate-limit back-off tested on
the mock's clock, without waiting."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mock_server.pytest_plugin import AemMock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "clients" / "python"


@pytest.fixture
def cloud_client() -> Iterator[Any]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        yield importlib.import_module("cloud_client").CloudClient
    finally:
        sys.path.remove(str(EXAMPLES))
        sys.modules.pop("cloud_client", None)


@pytest.mark.aem_scenario("cloud-service")
def test_the_cloud_client_refreshes_its_token_and_backs_off_on_the_mock_s_clock(
    aem_mock: AemMock, cloud_client: Any
) -> None:
    client = cloud_client(
        aem_mock.url, aem_mock.url, "aem-pipeline", "pipeline-secret", sleep=aem_mock.advance
    )
    job = client.start("/content/dam/22858")
    seen = [client.status(job)["status"] for _ in range(60)]  # past 5 a second over 10 s: 429, then on
    assert client.waited == [30.0] and client.tokens_fetched == 1, (client.waited, seen)
    assert [e.status for e in aem_mock.journal if e.operation == "status"].count(429) == 1
    aem_mock.advance(3600)  # the token's hour is over: the next call is refused, the client refreshes
    assert client.status(job)["status"] == "SUCCESS"
    assert client.tokens_fetched == 2
    refused = [e for e in aem_mock.journal if e.status == 401]
    assert len(refused) == 1 and refused[0].operation == "status"
    assert aem_mock.violations == []


@pytest.mark.aem_scenario("cloud-service")
def test_a_client_without_the_ims_secret_is_refused_by_ims(aem_mock: AemMock, cloud_client: Any) -> None:
    client = cloud_client(aem_mock.url, aem_mock.url, "aem-pipeline", "not-the-secret")
    with pytest.raises(RuntimeError, match=r"IMS refused the token request: 401 .*invalid_client"):
        client.start("/content/dam/22858")
