"""Replicas of ``serve --state`` behind Debian's nginx, run as deploy/nginx/aem-guides-mock.conf says:
the template rendered into a folder of its own (its ports changed, nothing else) and nginx run there
(``nginx -p DIR -c nginx.conf``: pid, logs and temporary files inside DIR, no root needed).

Used by tests/e2e/test_replicas.py and bench/bench_replicas.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.constants import ROOT
from tests.support.dev_server import MODULE, ready_url
from tests.support.waiting import wait_until

#: The shipped template.
TEMPLATE = ROOT / "deploy" / "nginx" / "aem-guides-mock.conf"
_LISTEN = re.compile(r"^(\s*listen\s+)127\.0\.0\.1:\d+;", re.MULTILINE)
_SERVER = re.compile(r"^(\s*server\s+)127\.0\.0\.1:\d+([^;\n]*;)", re.MULTILINE)
#: The nginx.conf around the template: everything a standalone nginx needs, every path relative to -p.
_MAIN = """\
worker_processes 1;
pid nginx.pid;
error_log logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    include aem-guides-mock.conf;
}
"""


def nginx_binary() -> str | None:
    """Debian's nginx (in /usr/sbin, which a user's PATH may lack), or None."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def render(folder: Path, listen: int, replicas: Sequence[int]) -> Path:
    """Write ``folder/nginx.conf`` and the template with its ports set; return the folder."""
    text = TEMPLATE.read_text()
    text, listens = _LISTEN.subn(rf"\g<1>127.0.0.1:{listen};", text)
    ports = iter(replicas)
    text, servers = _SERVER.subn(lambda m: f"{m[1]}127.0.0.1:{next(ports)}{m[2]}", text)
    assert (listens, servers) == (1, len(replicas)), (
        f"{TEMPLATE} has {listens} listen and {servers} server lines; the test renders 1 and {len(replicas)}"
    )
    for sub in ("logs", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "aem-guides-mock.conf").write_text(text)
    (folder / "nginx.conf").write_text(_MAIN)
    return folder


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/__admin/health", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


@dataclass
class Replica:
    """One ``serve --state`` process on a port it keeps across restarts."""

    state: Path
    args: Sequence[str] = ()
    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        ready = self.state.with_suffix(".url")
        ready.unlink(missing_ok=True)
        argv = [*MODULE, "serve", "--port", str(self.port), "--state", str(self.state)]
        self.process = subprocess.Popen(  # its output to nothing: nobody reads a pipe of it
            [*argv, "--ready-file", str(ready), "--quiet", *self.args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.port = int(ready_url(ready, self.process).rsplit(":", 1)[1])

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@contextlib.contextmanager
def cluster(folder: Path, count: int = 3, args: Sequence[str] = ()) -> Iterator[tuple[str, list[Replica]]]:
    """``count`` replicas and nginx in front; yield nginx's URL and the replicas; stop them all."""
    binary = nginx_binary()
    assert binary is not None, "nginx is not installed: apt-get install nginx-light"
    replicas = [Replica(folder / f"replica-{n}.db", args) for n in range(count)]
    nginx: subprocess.Popen[bytes] | None = None
    try:
        for replica in replicas:
            replica.start()
        port = free_port()
        render(folder / "nginx", port, [r.port for r in replicas])
        log = folder / "nginx" / "logs" / "stderr.log"
        with log.open("wb") as stderr:
            nginx = subprocess.Popen(
                [binary, "-e", "logs/error.log", "-p", f"{folder / 'nginx'}{os.sep}", "-c", "nginx.conf",
                 "-g", "daemon off;"],
                stdout=subprocess.DEVNULL, stderr=stderr,
            )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(url) or nginx.poll() is not None, "nginx in front of the replicas")
        assert nginx.poll() is None, f"nginx exited {nginx.returncode}: {log.read_text()}"
        yield url, replicas
    finally:
        if nginx is not None and nginx.poll() is None:
            nginx.send_signal(signal.SIGQUIT)  # nginx's graceful stop
            try:
                nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                nginx.kill()
        for replica in replicas:
            replica.kill()
