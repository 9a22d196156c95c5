"""``verify --ims-url``: its Bearer token fetched from IMS as a Cloud client does, here from the mock's
own ``/ims/token/v3`` (the ``cloud-service`` scenario), and a refusal that is exit 3 without the secret."""

from __future__ import annotations

import os
import subprocess

from tests.support.dev_server import MODULE, serving

SECRET = "pipeline-secret"


def _verify(url: str, secret: str, *flags: str) -> subprocess.CompletedProcess[str]:
    argv = [*MODULE, "verify", "--target", url, "--profile", "readonly", "--rate", "50/s", *flags]
    env = {**os.environ, "IMS_CLIENT_SECRET": secret}
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)


def test_verify_gets_its_token_from_ims_and_the_author_takes_it() -> None:
    with serving("--scenario", "cloud-service") as (_, url, _banner):
        done = _verify(url, SECRET, "--ims-url", url, "--client-id", "aem-pipeline")
    assert done.returncode == 0, done.stdout + done.stderr
    assert SECRET not in done.stdout + done.stderr


def test_a_refused_token_request_is_exit_3_quoting_ims_never_the_secret() -> None:
    with serving("--scenario", "cloud-service") as (_, url, _banner):
        wrong = _verify(url, "not-" + SECRET, "--ims-url", url, "--client-id", "aem-pipeline")
        unknown = _verify(url, SECRET, "--ims-url", url, "--client-id", "someone-else")
        mixed = _verify(url, SECRET, "--ims-url", url, "--client-id", "aem-pipeline", "--user", "admin")
    assert wrong.returncode == 3 and "refused the token request (401): invalid_client" in wrong.stderr, wrong
    assert "not-" + SECRET not in wrong.stdout + wrong.stderr
    assert unknown.returncode == 3 and "invalid client_id parameter" in unknown.stderr, unknown
    assert mixed.returncode == 2 and "--ims-url takes --client-id" in mixed.stderr, mixed
