"""A client of AEM as a Cloud Service's bulk asset processing API, with what makes one hard: an IMS
access token (OAuth server-to-server) fetched and fetched again when it expires, and back-off when the
CDN's rate limit answers 429 (or 406), honouring ``Retry-After``.

    python cloud_client.py https://author-p1-e2.adobeaemcloud.com https://ims-na1.adobelogin.com

Credentials: IMS_CLIENT_ID and IMS_CLIENT_SECRET, IMS_SCOPE. Against the mock's ``cloud-service``
scenario (``aem-guides-mock serve --scenario cloud-service``) the AEM and IMS base URLs are both the
mock's, and the credentials ``aem-pipeline`` / ``pipeline-secret``. ``sleep`` is injected: a test
passes one that moves the mock's clock, so the back-off is tested without waiting (see
``tests/e2e/test_cloud_client.py``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

import requests

BASE = "/bin/guides/v1/assets/process"
#: The answers of a rate limit: 429, or 406 for a CDN rule that sets no status.
RATE_LIMITED = {406, 429}


class CloudClient:
    """Calls the API with a Bearer token from IMS; refreshes it once on a 401 ``invalid_token``, and
    waits ``Retry-After`` seconds (else 2, 4, 8 ...) on a rate limit, ``attempts`` times at most."""

    def __init__(
        self,
        aem_url: str,
        ims_url: str,
        client_id: str,
        client_secret: str,
        scope: str = "openid,AdobeID",
        sleep: Callable[[float], None] = time.sleep,
        attempts: int = 5,
        verify: Any = True,
    ) -> None:
        self.aem_url, self.ims_url = aem_url.rstrip("/"), ims_url.rstrip("/")
        self.credentials = {"grant_type": "client_credentials", "client_id": client_id,
                            "client_secret": client_secret, "scope": scope}  # fmt: skip
        self.sleep, self.attempts = sleep, attempts
        self.http = requests.Session()
        self.http.verify = verify
        self.token: str | None = None
        self.tokens_fetched = 0
        self.waited: list[float] = []

    def _fetch_token(self) -> str:
        answer = self.http.post(f"{self.ims_url}/ims/token/v3", data=self.credentials, timeout=30)
        if answer.status_code != 200:
            raise RuntimeError(f"IMS refused the token request: {answer.status_code} {answer.text[:300]}")
        self.tokens_fetched += 1
        return str(answer.json()["access_token"])

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """``method`` on the API's ``path``, with a valid token, through rate limits."""
        refreshed, given = False, kwargs.pop("headers", {})
        url = f"{self.aem_url}{BASE}{path}"
        for attempt in range(self.attempts):
            if self.token is None:
                self.token = self._fetch_token()
            headers = {**given, "Authorization": f"Bearer {self.token}"}
            answer = self.http.request(method, url, headers=headers, timeout=30, **kwargs)
            expired = answer.status_code == 401 and "invalid_token" in answer.headers.get(
                "WWW-Authenticate", ""
            )
            if expired and not refreshed:  # the token lapsed: a new one, once
                self.token, refreshed = None, True
                continue
            if answer.status_code in RATE_LIMITED and attempt + 1 < self.attempts:
                wait = float(answer.headers.get("Retry-After") or 2 ** (attempt + 1))
                self.waited.append(wait)
                self.sleep(wait)
                continue
            return answer
        return answer

    def start(self, path: str) -> str:
        answer = self.call("POST", "", json={"path": path, "type": "ASSET_PROCESSING"})
        answer.raise_for_status()
        return str(answer.json()["processingId"])

    def status(self, processing_id: str) -> dict[str, Any]:
        answer = self.call("GET", "/status", params={"processingId": processing_id})
        answer.raise_for_status()
        return dict(answer.json())


def main() -> int:
    aem_url, ims_url = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else sys.argv[1]
    client = CloudClient(aem_url, ims_url, os.environ.get("IMS_CLIENT_ID", "aem-pipeline"),
                         os.environ.get("IMS_CLIENT_SECRET", "pipeline-secret"),
                         os.environ.get("IMS_SCOPE", "openid,AdobeID"))  # fmt: skip
    job = client.start("/content/dam")
    while (status := client.status(job))["status"] not in ("SUCCESS", "FAILED", "CANCELLED"):
        time.sleep(1)
    print(f"cloud_client.py: job {job} ended {status['status']}; {client.tokens_fetched} token(s), "
          f"waited {sum(client.waited):g} s for rate limits")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
