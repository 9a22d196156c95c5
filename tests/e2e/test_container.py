"""The image (Containerfile) built with podman and run as a team runs it: the client journey from the
host through the port mapping, the admin API with and without ``AEM_GUIDES_MOCK_ADMIN_TOKEN``, the
health probe and the image's ``HEALTHCHECK``, a read-only root, and a stop within 2 s of SIGTERM.

Marked ``container``: left out unless ``-m container`` names it (tests/conftest.py); .ci/run installs
podman, buildah, debootstrap and runc and sets ``AEM_MOCK_REQUIRE_CONTAINER=1``, so that a missing
podman fails there instead of skipping. The image is built by tools/container/build.sh (the base is
kept between runs), unless ``AEM_MOCK_CONTAINER_IMAGE`` names one already built.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.constants import AUTH, BASE, ROOT, START_22858
from tests.support.waiting import wait_until

_REASON = "podman is not installed: apt-get install podman buildah debootstrap runc (.ci/run does)"
if shutil.which("podman") is None and os.environ.get("AEM_MOCK_REQUIRE_CONTAINER") == "1":
    raise RuntimeError(_REASON)  # CI asked for the container tests: never skip them silently
pytestmark = [pytest.mark.container, pytest.mark.skipif(shutil.which("podman") is None, reason=_REASON)]

#: Podman as this project's CI machine allows it (crun and the default limits are refused there).
PODMAN = [
    "podman",
    *shlex.split(os.environ.get("AEM_MOCK_PODMAN_FLAGS", "--runtime runc --cgroup-manager cgroupfs")),
]
LIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
TOKEN = "container-admin-token"


def podman(*args: str, timeout: float = 60) -> str:
    result = subprocess.run([*PODMAN, *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"podman {' '.join(args)}: exit {result.returncode}\n{result.stderr}"
    return result.stdout.strip()


@pytest.fixture(scope="module")
def image() -> str:
    """The image under test: built now from this checkout, or the one AEM_MOCK_CONTAINER_IMAGE names."""
    given = os.environ.get("AEM_MOCK_CONTAINER_IMAGE")
    if given:
        return given
    tag = "aem-guides-mock:test"
    environment = {**os.environ, "AEM_MOCK_IMAGE": tag, "PYTHON": os.environ.get("PYTHON", "python3")}
    build = subprocess.run([str(ROOT / "tools" / "container" / "build.sh")], capture_output=True, text=True,
                           env=environment, timeout=900)  # fmt: skip
    assert build.returncode == 0, f"tools/container/build.sh failed:\n{build.stdout}\n{build.stderr[-4000:]}"
    print(build.stdout.strip().splitlines()[-1])  # the sizes, in the CI log (-s, or -rP)
    return tag


class Container:
    """A container of the image, its port 4502 mapped to a free port of the host's loopback."""

    def __init__(self, name: str, url: str, started_s: float) -> None:
        self.name, self.url, self.started_s = name, url, started_s

    def call(self, path: str, data: Any = None, headers: dict[str, str] | None = None,
             method: str | None = None) -> tuple[int, Any, bytes]:  # fmt: skip
        body = json.dumps(data).encode() if data is not None else None
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        if body is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                raw = response.read()
                status = response.status
                kind = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            raw, status, kind = error.read(), error.code, error.headers.get("Content-Type", "")
        return status, json.loads(raw) if kind.startswith("application/json") else None, raw

    def api(self, path: str, data: Any = None, session: str = "") -> Any:
        """The API's answer at ``path`` (after its base), in ``session`` if given; asserts a 200."""
        status, body, _ = self.call((f"/sessions/{session}" if session else "") + BASE + path, data, AUTH)
        assert status == 200, (path, status, body)
        return body


@contextlib.contextmanager
def running(image: str, *options: str, command: tuple[str, ...] = ()) -> Iterator[Container]:
    """Run ``image`` detached (``options`` before it, ``command`` after); yield it once its health
    probe answers through the port mapping; remove it at the end, whatever happened."""
    name = f"aem-mock-test-{uuid.uuid4().hex[:8]}"
    began = time.monotonic()
    podman("run", "--detach", "--name", name, *LIMITS, "--publish", "127.0.0.1::4502",
           "--health-interval", "disable", *options, image, *command)  # fmt: skip
    try:
        port = podman("port", name, "4502").rsplit(":", 1)[1]
        container = Container(name, f"http://127.0.0.1:{port}", 0.0)

        def healthy() -> bool:
            try:
                return container.call("/__admin/health")[0] == 200
            except OSError:  # not listening yet (or the mapping not forwarding yet)
                return False

        try:
            wait_until(healthy, "the container's health probe through the port mapping", 30, every_s=0.05)
        except AssertionError as error:
            raise AssertionError(f"{error}; the container said:\n{podman('logs', name)}") from None
        container.started_s = time.monotonic() - began
        yield container
    finally:
        subprocess.run([*PODMAN, "rm", "--force", "--time", "0", name], capture_output=True, timeout=60)


def test_the_client_journey_through_the_port_mapping_and_the_admin_api_with_the_token(image: str) -> None:
    manual = ("serve", "--host", "0.0.0.0", "--port", "4502", "--clock", "manual")
    with running(image, "--env", f"AEM_GUIDES_MOCK_ADMIN_TOKEN={TOKEN}", command=manual) as box:
        print(f"container start to first answer: {box.started_s:.2f} s")
        assert box.call("/__admin/health")[1] == {"status": "ok"}
        assert box.call("/__admin/clock")[0] == 401  # the token is set: without it, nothing
        admin = {"X-Admin-Token": TOKEN}
        job = box.api("", START_22858)["processingId"]
        for _ in range(50):  # the manual clock moved from the host, a change at a time
            status = box.api(f"/status?processingId={job}")
            if status["status"] in ("SUCCESS", "FAILED", "CANCELLED"):
                break
            moved, body, _ = box.call("/__admin/clock/advance", {"to": "next"}, admin)
            assert moved == 200, body
        assert (status["status"], status["triggeredCount"]) == ("SUCCESS", 6), status
        lines = box.api(f"/logs?processingId={job}&offset=0&limit=1000")["lines"]
        assert lines, "the job's log is empty"
        code, _, raw = box.call(f"{BASE}/logs/download?processingId={job}", headers=AUTH)
        assert code == 200
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            assert archive.namelist() == [f"{job}.log"]
            assert archive.read(f"{job}.log").decode().splitlines() == lines
        # The image's own HEALTHCHECK (podman runs it on demand here: no systemd timer in CI).
        podman("healthcheck", "run", box.name)


def test_loopback_only_admin_is_refused_through_the_mapping_and_the_root_is_read_only(image: str) -> None:
    with running(image, "--read-only") as box:
        assert box.call("/__admin/health")[1] == {"status": "ok"}
        status, body, _ = box.call("/__admin/journal")  # the host is not loopback to the container
        assert status == 403 and "AEM_GUIDES_MOCK_ADMIN_TOKEN" in body["message"], body
        box.api("", START_22858)  # serving needs no write outside /tmp
        assert podman("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", box.name) == "true"
        assert podman("exec", box.name, "id", "-u") == "10001"
        wrote = subprocess.run([*PODMAN, "exec", box.name, "touch", "/opt/aem-guides-mock/x"],
                               capture_output=True, text=True, timeout=30)  # fmt: skip
        assert wrote.returncode != 0 and "Read-only file system" in wrote.stderr, wrote
        logs = podman("logs", box.name)
        assert "from a host: http://localhost:4502 " in logs, logs
        assert "only with AEM_GUIDES_MOCK_ADMIN_TOKEN set" in logs, logs


def test_it_stops_within_2_s_of_sigterm_as_pid_1(image: str) -> None:
    with running(image) as box:
        assert podman("exec", box.name, "cat", "/proc/1/comm").startswith(("aem-guides-mock", "python"))
        began = time.monotonic()
        podman("stop", "--time", "10", box.name)  # SIGTERM, then SIGKILL after 10 s
        took = time.monotonic() - began
        print(f"stopped {took:.2f} s after SIGTERM")
        code = podman("inspect", "--format", "{{.State.ExitCode}}", box.name)
        assert took <= 2 and code == "0", f"stopped after {took:.2f} s with exit {code} (137: killed)"


def test_the_state_on_a_volume_survives_a_restart(image: str) -> None:
    """Jobs and a session kept by ``--state`` on a named volume, read back by a new container: the
    first is given the file by AEM_GUIDES_MOCK_STATE, the second by ``--state`` (both ways work)."""
    volume = f"aem-mock-state-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", volume)
    admin = {"X-Admin-Token": TOKEN}
    on_volume = (
        "--read-only",
        "--volume",
        f"{volume}:/state",
        "--env",
        f"AEM_GUIDES_MOCK_ADMIN_TOKEN={TOKEN}",
    )
    manual = ("serve", "--host", "0.0.0.0", "--port", "4502", "--clock", "manual")
    try:
        with running(
            image, *on_volume, "--env", "AEM_GUIDES_MOCK_STATE=/state/mock.db", command=manual
        ) as box:
            done = box.api("", START_22858)["processingId"]
            assert box.call("/__admin/clock/advance", {"seconds": 60}, admin)[0] == 200
            cancelled = box.api("", {"path": "/content/dam/demo", "type": "ASSET_PROCESSING"})["processingId"]
            box.api("/cancel", {"processingId": cancelled})
            waiting = box.api("", {"path": "/content/dam/demo1", "type": "ASSET_PROCESSING"})["processingId"]
            made, body, _ = box.call("/__admin/sessions", {"name": "team-a", "ttl": "2h"}, admin)
            assert made in (200, 201), body
            in_session = box.api("", START_22858, "team-a")["processingId"]
            before = {
                "history": box.api("/history"),
                "session": box.api(f"/status?processingId={in_session}", session="team-a"),
            }
            statuses = {job["processingId"]: job["status"] for job in before["history"]["executionHistory"]}
            assert statuses[done] == "SUCCESS" and statuses[cancelled] == "CANCELLED", statuses
            assert statuses[waiting] in ("WAITING", "IN_PROGRESS"), statuses
            podman("stop", "--time", "10", box.name)  # SIGTERM: a clean stop
        with running(image, *on_volume, command=(*manual, "--state", "/state/mock.db")) as box:
            assert box.api("/history") == before["history"]
            assert box.api(f"/status?processingId={in_session}", session="team-a") == before["session"]
            status, body, _ = box.call("/__admin/sessions", headers=admin)
            assert status == 200 and "team-a" in {s["name"] for s in body["sessions"]}, body
    finally:
        subprocess.run([*PODMAN, "volume", "rm", "--force", volume], capture_output=True, timeout=60)


#: Testcontainers for Node (examples/clients/testcontainers-node): the image started through podman's
#: Docker-compatible API, as a team's suite starts it, and the journey against it.
TESTCONTAINERS_NODE = ROOT / "examples" / "clients" / "testcontainers-node"
#: What ``podman run`` is given on the command line here, for the containers the API starts: without
#: default_ulimits runc cannot set the limits ("error setting rlimit type 7: operation not permitted").
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
"""
_NPM_TIMEOUT_S = 300


def _node_or_why_not() -> str:
    """Why the Node example cannot run here, with the fix; empty when node (20+) and npm are here and
    the example's packages are installed (``npm ci`` when the lock file is newer than them)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node or npm missing: apt-get install nodejs npm to run the Testcontainers for Node client"
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=30).stdout
    if int(version.lstrip("v").split(".")[0] or 0) < 20:
        return f"node {version.strip()} is older than 20 (testcontainers 11 needs 20.18.1+)"
    installed = TESTCONTAINERS_NODE / "node_modules" / ".package-lock.json"
    lock = TESTCONTAINERS_NODE / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return ""
    install = ["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline"]
    npm = subprocess.run(
        install, cwd=TESTCONTAINERS_NODE, capture_output=True, text=True, timeout=_NPM_TIMEOUT_S
    )
    return "" if npm.returncode == 0 else f"`npm ci` in {TESTCONTAINERS_NODE} failed:\n{npm.stderr[-2000:]}"


@contextlib.contextmanager
def podman_service(folder: Path) -> Iterator[str]:
    """``podman system service`` on a socket in ``folder``, configured by a containers.conf of its
    own (CONTAINERS_CONF); yields its ``unix://`` address, stops the service at the end."""
    conf, socket = folder / "containers.conf", folder / "podman.sock"
    conf.write_text(CONTAINERS_CONF)
    log = (folder / "service.log").open("w")
    environment = {**os.environ, "CONTAINERS_CONF": str(conf)}
    service = subprocess.Popen([*PODMAN, "system", "service", "--time=0", f"unix://{socket}"],
                               env=environment, stdout=log, stderr=log)  # fmt: skip
    try:
        wait_until(socket.exists, f"podman's API socket {socket}", 30, every_s=0.05)
        yield f"unix://{socket}"
    finally:
        service.terminate()
        try:
            service.wait(10)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait(10)
        log.close()


def test_testcontainers_for_node_starts_the_image_and_runs_the_journey(image: str, tmp_path: Path) -> None:
    why_not = _node_or_why_not()
    if why_not:
        if os.environ.get("AEM_MOCK_REQUIRE_CONTAINER") == "1":
            pytest.fail(f"AEM_MOCK_REQUIRE_CONTAINER=1 but {why_not}")  # CI: never skip silently
        pytest.skip(why_not)
    label = f"aem-guides-mock.run={uuid.uuid4().hex[:12]}"
    with podman_service(tmp_path) as socket:
        # Ryuk, Testcontainers' reaper, is an image from Docker Hub, which cannot be reached here: a
        # container left by a crash is removed by its label instead.
        environment = {**os.environ, "DOCKER_HOST": socket, "TESTCONTAINERS_RYUK_DISABLED": "true",
                       "AEM_MOCK_IMAGE": image, "AEM_MOCK_RUN": label.split("=")[1]}  # fmt: skip
        began = time.monotonic()
        try:
            run = subprocess.run(["node", "--test"], cwd=TESTCONTAINERS_NODE, env=environment,
                                 capture_output=True, text=True, timeout=180)  # fmt: skip
        finally:
            left = podman("ps", "--all", "--quiet", "--filter", f"label={label}").split()
            if left:
                subprocess.run(
                    [*PODMAN, "rm", "--force", "--time", "0", *left], capture_output=True, timeout=60
                )
        print(f"node --test (Testcontainers: start, journey, stop): {time.monotonic() - began:.2f} s")
        print("\n".join(line for line in run.stdout.splitlines() if line.startswith("# ")))
        service_log = (tmp_path / "service.log").read_text()
        assert run.returncode == 0, (
            f"node --test failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}\n{service_log[-2000:]}"
        )
        assert "# pass 2" in run.stdout and "# fail 0" in run.stdout, run.stdout
        assert not left, f"the Node test left its container behind: {left}"
