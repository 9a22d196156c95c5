"""The smoke test of the built wheel, run by .ci/run with the python of a fresh virtual environment
that holds the wheel (and pytest and mypy), from a folder outside the source tree.

It checks what a user gets from the package index: the version, defined once; `serve` on port 0 with
a ready file taking one job to SUCCESS; every shipped scenario listed and loadable; the pytest plugin
registered; and a user's `mypy --strict` passing against the installed package's types. Exits 1 with
what failed.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib import metadata
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BASIC = "Basic " + base64.b64encode(b"admin:admin").decode()
AUTH = {"Authorization": BASIC, "Content-Type": "application/json"}
USER_CODE = """\
from collections.abc import Iterator

import pytest

from mock_server import MockServer, Settings, __version__
from mock_server.pytest_plugin import AemMock


def start(mock: AemMock) -> str:
    return mock.base_url + "/history"


def served() -> Iterator[str]:
    with MockServer(settings=Settings(speed=10.0)) as server:
        yield server.url


def test_uses_the_fixture(aem_mock: AemMock) -> None:
    url: str = start(aem_mock)
    version: str = __version__
    assert url and version


@pytest.fixture
def my_server() -> Iterator[str]:
    yield from served()
"""


def check(ok: bool, what: str) -> None:
    print(("ok:   " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        sys.exit(1)


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)


def call(url: str, method: str = "GET", body: object = None) -> dict[str, object]:
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data, AUTH, method=method), timeout=10) as answer:
        return dict(json.loads(answer.read()))


def main() -> None:
    here = Path(tempfile.mkdtemp(prefix="aem-wheel-"))
    import mock_server

    installed = Path(mock_server.__file__).resolve()
    check(not installed.is_relative_to(SOURCE), f"mock_server comes from the wheel ({installed.parent})")
    version = metadata.version("aem-guides-mock")
    check(mock_server.__version__ == version, f"mock_server.__version__ is the distribution's {version}")
    shown = run(str(BIN / "aem-guides-mock"), "--version", cwd=here).stdout.strip()
    check(shown == f"aem-guides-mock {version}", f"aem-guides-mock --version says {shown!r}")
    check((installed.parent / "py.typed").exists(), "the wheel ships py.typed")

    ready = here / "ready"
    server = subprocess.Popen(
        [str(BIN / "aem-guides-mock"), "serve", "--port", "0", "--speed", "10", "--ready-file", str(ready)],
        cwd=here, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and server.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        check(ready.exists(), "serve --port 0 wrote its ready file")
        url = ready.read_text().strip()
        base = url + "/bin/guides/v1/assets/process"
        job = call(base, "POST", {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"})["processingId"]
        status = ""
        while time.monotonic() < deadline + 30 and status not in ("SUCCESS", "FAILED", "CANCELLED"):
            status = str(call(f"{base}/status?processingId={job}")["status"])
            time.sleep(0.1)
        check(status == "SUCCESS", f"a job on /content/dam/22858 reached {status}")
        info = call(url + "/openapi.json")["info"]
        check(
            isinstance(info, dict) and info["version"] == version, f"openapi.json's info.version is {version}"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            out, _ = server.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            out, _ = server.communicate()
            check(False, "serve stops within 10 s of SIGTERM")
    check(f"aem-guides-mock {version} serving" in out, "the banner shows the version")

    listed = run(str(BIN / "aem-guides-mock"), "scenarios", cwd=here).stdout
    from mock_server.scenarios.reading import load_scenario, shipped_scenarios

    names = sorted(shipped_scenarios())
    check(len(names) >= 15 and all(name in listed for name in names), f"`scenarios` lists all {len(names)}")
    for name in names:
        load_scenario(name)
    check(True, f"every shipped scenario loads ({', '.join(names)})")

    fixtures = run(sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider", cwd=here).stdout
    check("aem_mock" in fixtures, "the pytest plugin is registered: `pytest --fixtures` lists aem_mock")

    (here / "test_user_code.py").write_text(USER_CODE, encoding="utf-8")
    typed = run(sys.executable, "-m", "mypy", "--strict", "--no-incremental", "test_user_code.py", cwd=here)
    check(typed.returncode == 0, "a user's mypy --strict passes on the installed package\n" + typed.stdout)
    ran = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user_code.py", cwd=here)
    passed = ran.returncode == 0 and "1 passed" in ran.stdout
    check(passed, "the user's test passes on the fixture\n" + ran.stdout)
    print(f"the wheel of aem-guides-mock {version} passed its smoke test (Python {sys.version.split()[0]})")


if __name__ == "__main__":
    os.environ.pop("PYTHONPATH", None)
    main()
