"""The client matrix: one journey, written as each language's users write it (examples/clients/), run
against the dev server (``aem-guides-mock serve``) on a real socket.

Each client starts a job and polls it to its end, pages its log and tails it, reads the ZIP and its
JSON form, cancels and resumes a second job from its checkpoint, reads the history and parses one
refused request's error body; it exits non-zero naming what differed. The server runs a per-poll
clock, so the journey is the same on every run and no client waits on real time.

Without a toolchain (java, node and npm, curl and unzip) a test is skipped with the command that
installs it; ``.ci/run`` installs them and sets ``AEM_MOCK_REQUIRE_CLIENTS=1``, which makes a missing
toolchain fail instead. The matrix takes a minute or more (a JVM compiles Journey.java, a Node and a
Python start per client), so its two tests are marked ``slow``:
``python3 -m pytest -m slow tests/e2e/test_clients.py``.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.dev_server import serving

CLIENTS_DIR = Path(__file__).resolve().parents[2] / "examples" / "clients"
NODE_DIR = CLIENTS_DIR / "node"
#: What one client may take, a JVM compiling Journey.java on a busy machine included.
CLIENT_TIMEOUT_S = 120
NPM_CI_TIMEOUT_S = 300


@dataclass(frozen=True)
class Client:
    name: str
    command: tuple[str, ...]
    folder: str
    tools: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    install: str = ""
    #: The least major version of the first tool (``java -version``, ``node --version``).
    least_major: int = 0
    needs_npm_packages: bool = False


CLIENTS = [
    Client(
        "java",
        ("java", "Journey.java"),
        "java",
        ("java",),
        install="apt-get install default-jdk-headless",
        least_major=17,
    ),
    Client(
        "node-fetch",
        ("node", "fetch.mjs"),
        "node",
        ("node", "npm"),
        install="apt-get install nodejs npm",
        least_major=18,
        needs_npm_packages=True,
    ),
    Client(
        "node-axios",
        ("node", "axios.mjs"),
        "node",
        ("node", "npm"),
        install="apt-get install nodejs npm",
        least_major=18,
        needs_npm_packages=True,
    ),
    Client(
        "python-requests",
        (sys.executable, "journey_requests.py"),
        "python",
        modules=("requests",),
        install='pip install -e ".[test]"',
    ),
    Client(
        "python-httpx",
        (sys.executable, "journey_httpx.py"),
        "python",
        modules=("httpx",),
        install='pip install -e ".[test]"',
    ),
    Client(
        "bash",
        ("bash", "journey.sh"),
        "bash",
        ("bash", "curl", "unzip", "python3"),
        install="apt-get install curl unzip",
    ),
]


#: Tests sharing one server, each in a session it makes and deletes (Node's test runner, no packages).
NODE_SESSIONS = Client(
    "node-sessions",
    ("node", "sessions.test.mjs"),
    "node",
    ("node",),
    install="apt-get install nodejs",
    least_major=18,
)


#: The Java journey twice at once, each in a session it makes and deletes (threads, the JDK only).
JAVA_SESSIONS = Client(
    "java-sessions",
    ("java", "Journey.java", "--sessions"),
    "java",
    ("java",),
    install="apt-get install default-jdk-headless",
    least_major=17,
)


def _major(tool: str) -> int:
    """The major version ``tool`` reports (``java -version``: 17.0.15; ``node --version``: v20.1.0)."""
    flag = "-version" if tool == "java" else "--version"
    result = subprocess.run([tool, flag], capture_output=True, text=True, timeout=60)
    found = re.search(r"(\d+)(?:\.\d+)+", result.stdout + result.stderr)
    return int(found.group(1)) if found else 0


def missing(client: Client) -> str:
    """Why ``client`` cannot run here, with the command that fixes it; "" when it can."""
    absent = [tool for tool in client.tools if shutil.which(tool) is None]
    absent += [module for module in client.modules if importlib.util.find_spec(module) is None]
    if absent:
        return f"{', '.join(absent)} missing: {client.install} to run the {client.name} client"
    if client.least_major and (major := _major(client.tools[0])) < client.least_major:
        return (
            f"{client.tools[0]} {major} is older than {client.least_major}: "
            f"{client.install} to run the {client.name} client"
        )
    return ""


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (xdist workers installing the same packages take turns)."""
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def npm_packages() -> str:
    """Install the Node clients' packages from the lock file when they are not there; "" or why not."""
    with _locked(NODE_DIR / ".npm-ci.lock"):
        if (NODE_DIR / "node_modules" / ".package-lock.json").exists():
            return ""
        try:
            result = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"],
                cwd=NODE_DIR,
                capture_output=True,
                text=True,
                timeout=NPM_CI_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            return f"`npm ci` in {NODE_DIR} took more than {NPM_CI_TIMEOUT_S} s"
        if result.returncode != 0:
            return f"`npm ci` in {NODE_DIR} failed: {result.stderr[-2000:]}"
        return ""


def ready(client: Client) -> None:
    """Skip (or, in CI, fail) when the client's toolchain is missing."""
    reason = missing(client) or (npm_packages() if client.needs_npm_packages else "")
    if not reason:
        return
    if os.environ.get("AEM_MOCK_REQUIRE_CLIENTS") == "1":
        pytest.fail(f"AEM_MOCK_REQUIRE_CLIENTS=1 but {reason}")  # CI asked for every client: never skip
    pytest.skip(reason)


def run_client(client: Client, url: str, **env: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [*client.command, url],
            cwd=CLIENTS_DIR / client.folder,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT_S,
            env={**os.environ, **env},
        )
    except subprocess.TimeoutExpired as late:
        raise AssertionError(f"the {client.name} client took over {CLIENT_TIMEOUT_S} s: {late}") from None


@pytest.mark.slow
@pytest.mark.parametrize("client", CLIENTS, ids=[client.name for client in CLIENTS])
def test_the_journey_keeps_the_contract(client: Client) -> None:
    ready(client)
    with serving("--clock", "per-poll:100ms") as (_, url, _banner):
        result = run_client(client, url)
    assert result.returncode == 0, f"the {client.name} client failed:\n{result.stderr}{result.stdout}"
    assert "every step kept the contract" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("client", CLIENTS, ids=[client.name for client in CLIENTS])
def test_a_client_names_what_differed(client: Client) -> None:
    """Credentials the server refuses: the first step answers 401 where the client expects a 400."""
    ready(client)
    with serving("--clock", "per-poll:100ms") as (_, url, _banner):
        result = run_client(client, url, AEM_PASSWORD="not-the-password")
    assert result.returncode == 1, result
    differed = r"a start without path: status: expected '?400'?, got '?401'?"
    assert re.search(differed, result.stderr), result.stderr


#: The suites that share one server, each test in a session of its own, and what each prints when
#: every test passed.
SESSION_SUITES = [
    (NODE_SESSIONS, ("# pass 2", "# fail 0")),
    (JAVA_SESSIONS, ("every step kept the contract",)),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("client", "passed"), SESSION_SUITES, ids=[client.name for client, _ in SESSION_SUITES]
)
def test_tests_share_a_server_each_in_a_session_of_its_own(client: Client, passed: tuple[str, ...]) -> None:
    """Two tests at once on one ``serve`` (a real clock), each in a session it makes with a clock of
    its own (Node: manual; Java: per-poll): each passes, and the sessions are deleted after."""
    ready(client)
    with serving() as (_, url, _banner):
        result = run_client(client, url)
        with urllib.request.urlopen(url + "/__admin/sessions") as answer:
            left = json.load(answer)
    assert result.returncode == 0, f"the {client.name} tests failed:\n{result.stderr}{result.stdout}"
    assert all(line in result.stdout for line in passed), result.stdout
    assert left["count"] == 0 and left["sessions"][0]["jobs"] == 0, "deleted, and the default one untouched"


def test_a_missing_toolchain_skips_with_its_install_command_or_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ghost = Client(
        "ghost", ("ghost",), "bash", ("no-such-tool-for-aem-mock",), install="apt-get install ghost"
    )
    monkeypatch.delenv("AEM_MOCK_REQUIRE_CLIENTS", raising=False)
    with pytest.raises(
        pytest.skip.Exception, match="no-such-tool-for-aem-mock missing: apt-get install ghost"
    ):
        ready(ghost)
    monkeypatch.setenv("AEM_MOCK_REQUIRE_CLIENTS", "1")
    with pytest.raises(
        pytest.fail.Exception, match=r"AEM_MOCK_REQUIRE_CLIENTS=1 but .*apt-get install ghost"
    ):
        ready(ghost)


def _trusting(client: Client, ca: Path, folder: Path) -> tuple[Client, dict[str, str]]:
    """``client`` made to trust the test CA ``ca`` the way its users do: Node's
    ``NODE_EXTRA_CA_CERTS``, a Java truststore made with keytool, Python's ``SSL_CERT_FILE``."""
    if client.tools[:1] == ("java",):
        store = folder / "truststore.p12"
        subprocess.run(["keytool", "-importcert", "-noprompt", "-alias", "aem-guides-mock", "-file", str(ca),
                        "-keystore", str(store), "-storetype", "PKCS12", "-storepass", "changeit"],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        flags = (f"-Djavax.net.ssl.trustStore={store}", "-Djavax.net.ssl.trustStorePassword=changeit")
        return Client(**{**client.__dict__, "command": (client.command[0], *flags, *client.command[1:])}), {}
    if client.tools[:1] == ("node",):
        return client, {"NODE_EXTRA_CA_CERTS": str(ca)}
    return client, {"SSL_CERT_FILE": str(ca), "REQUESTS_CA_BUNDLE": str(ca)}


HTTPS_CLIENTS = [client for client in CLIENTS if client.name in ("java", "node-fetch", "python-requests")]


@pytest.mark.slow
@pytest.mark.parametrize("client", HTTPS_CLIENTS, ids=[client.name for client in HTTPS_CLIENTS])
def test_the_journey_over_https_with_the_test_ca_trusted(client: Client, tmp_path: Path) -> None:
    """``serve --tls``: the journey keeps the contract over HTTPS for a client that trusts the CA the
    usual way, and fails its TLS check without it."""
    ready(client)
    ca = tmp_path / "ca.pem"
    with serving("--tls", "--tls-ca-out", str(ca), "--clock", "per-poll:100ms") as (_, url, _banner):
        assert url.startswith("https://")
        trusting, env = _trusting(client, ca, tmp_path)
        result = run_client(trusting, url, **env)
        assert result.returncode == 0, f"the {client.name} client over HTTPS:\n{result.stderr}{result.stdout}"
        assert "every step kept the contract" in result.stdout
        refused = run_client(client, url)
    assert refused.returncode != 0
    assert re.search(r"certif|PKIX|SSL", refused.stderr + refused.stdout, re.IGNORECASE), refused.stderr
