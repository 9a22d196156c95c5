"""HTTPS (``serve --tls``, ``--tls-cert``/``--tls-key``, ``MockServer(tls=True)``) over real sockets:
a client that trusts the test CA is served, one that does not is refused by its own TLS check, and
plain HTTP or garbage on the TLS port is a closed connection that stalls nobody else."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import trustme

from mock_server import MockServer
from mock_server.api.operations import BASE_PATH
from tests.support.constants import BASIC_ADMIN
from tests.support.dev_server import MODULE, serving

HISTORY = f"{BASE_PATH}/history"


def _get(url: str, context: ssl.SSLContext | None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers={"Authorization": BASIC_ADMIN})
    with urllib.request.urlopen(request, timeout=10, context=context) as answer:
        return answer.status, json.load(answer)


def test_a_client_trusting_the_test_ca_is_served_and_one_that_does_not_is_refused() -> None:
    with MockServer(tls=True) as server:
        assert server.url.startswith("https://127.0.0.1:") and server.ca_path is not None
        assert server.ca_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert _get(server.url + HISTORY, server.client_ssl_context()) == (200, {"executionHistory": []})
        context = server.client_ssl_context()
        with urllib.request.urlopen(server.url + "/__admin/health", context=context, timeout=10) as health:
            assert json.load(health) == {"status": "ok"}  # the admin API on the same port
        with urllib.request.urlopen(server.url + "/__admin/ui/", context=context, timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read(4096).lower()  # and the dashboard
        localhost = server.url.replace("127.0.0.1", "localhost")  # the certificate names it too
        assert _get(localhost + HISTORY, server.client_ssl_context())[0] == 200
        with pytest.raises(urllib.error.URLError) as refused:
            _get(server.url + HISTORY, ssl.create_default_context())  # the system's CAs only
        assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)
        folder = server.ca_path.parent
    assert not folder.exists() and server.ca_path is None, "the CA's folder goes when it stops"


def test_plain_http_or_garbage_on_the_tls_port_is_closed_and_stalls_nobody() -> None:
    with MockServer(tls=True) as server:
        host, port = server.url.removeprefix("https://").rsplit(":", 1)
        for sent in (
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            bytes(range(256)) * 8,
            b"\x16\x03\x01\xff\xff" + b"\0" * 64,
        ):
            with socket.create_connection((host, int(port)), timeout=10) as raw:
                raw.sendall(sent)
                try:
                    answer = raw.recv(4096)
                except ConnectionResetError:
                    answer = b""
                assert b"HTTP/1." not in answer, answer  # no plain HTTP answer, no 500: closed or a TLS alert
            assert _get(server.url + HISTORY, server.client_ssl_context())[0] == 200


def test_serve_tls_names_its_ca_which_curl_and_python_trust(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    with serving("--tls", "--tls-ca-out", str(ca)) as (_, url, banner):
        assert url.startswith("https://127.0.0.1:")
        assert any(f"test CA made at start: {ca}" in line for line in banner), banner
        assert any(f"curl --cacert {ca} -u admin:admin" in line for line in banner), banner
        assert _get(url + HISTORY, ssl.create_default_context(cafile=str(ca)))[0] == 200
        if shutil.which("curl") is None:
            pytest.skip("curl missing: apt-get install curl to check `curl --cacert`")
        done = subprocess.run(["curl", "-sS", "--cacert", str(ca), "-u", "admin:admin", url + HISTORY],
                              capture_output=True, text=True, timeout=30)  # fmt: skip
        assert done.returncode == 0 and json.loads(done.stdout) == {"executionHistory": []}, done
        refused = subprocess.run(["curl", "-sS", url + HISTORY], capture_output=True, text=True, timeout=30)
        assert refused.returncode == 60, refused  # curl's "peer certificate cannot be authenticated"


def test_serve_tls_without_a_path_writes_its_ca_to_a_private_temp_folder_and_removes_it() -> None:
    with serving("--tls") as (process, url, banner):
        [line] = [line for line in banner if "test CA made at start:" in line]
        ca = Path(line.rsplit(": ", 1)[1].strip())
        assert ca.parent.name.startswith("aem-guides-mock-tls-") and ca.parent.stat().st_mode & 0o077 == 0
        assert _get(url + HISTORY, ssl.create_default_context(cafile=str(ca)))[0] == 200
        process.terminate()
        process.wait(timeout=15)
    assert not ca.parent.exists()


def test_serve_with_your_own_certificate(tmp_path: Path) -> None:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    cert, key, ca = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    with serving("--tls-cert", str(cert), "--tls-key", str(key)) as (_, url, banner):
        assert any("HTTPS with the certificate given" in line for line in banner), banner
        assert _get(url + HISTORY, ssl.create_default_context(cafile=str(ca)))[0] == 200


@pytest.mark.parametrize(
    ("flags", "code", "said"),
    [
        (["--tls-cert", "c.pem"], 2, "--tls-cert and --tls-key go together"),
        (["--tls-ca-out", "ca.pem"], 2, "--tls-ca-out needs --tls"),
        (["--tls", "--tls-cert", "c.pem", "--tls-key", "k.pem"], 2, "one of them"),
        (["--tls-cert", "nowhere.pem", "--tls-key", "nowhere.key"], 3, "cannot read nowhere.pem"),
        (
            ["--tls", "--tls-ca-out", "no/such/dir/ca.pem"],
            3,
            "cannot write the test CA's certificate to no/such",
        ),
    ],
)
def test_tls_flags_that_cannot_serve_exit_naming_the_fix(
    tmp_path: Path, flags: list[str], code: int, said: str
) -> None:
    argv = [*MODULE, "serve", "--port", "0", *flags]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == code and said in done.stderr, done


def test_a_connection_that_never_finishes_its_handshake_is_closed_within_the_header_timeout() -> None:
    """Silence after connecting holds a socket no longer than the header timeout (asyncio's own bound
    is 60 s, and the connection guard counts a connection only once its handshake is done)."""
    with MockServer(tls=True, overrides={"header_timeout_ms": 500}) as server:
        host, port = server.url.removeprefix("https://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as silent:
            began = time.monotonic()
            with contextlib.suppress(ConnectionResetError):
                assert silent.recv(1024) == b""  # closed by the server, nothing sent
            assert time.monotonic() - began < 5
        assert _get(server.url + HISTORY, server.client_ssl_context())[0] == 200


def test_tls_flags_are_checked_before_the_state_file_is_opened(tmp_path: Path) -> None:
    """Flags that cannot serve exit before ``--state`` opens (and would migrate) a file."""
    state = tmp_path / "state.db"
    argv = [*MODULE, "serve", "--port", "0", "--state", str(state), "--tls-cert", "c.pem"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2 and not state.exists(), done


def test_an_encrypted_key_is_refused_at_once_never_prompted_for(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    issued = trustme.CA().issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    plain = serialization.load_pem_private_key(issued.private_key_pem.bytes(), password=None)
    key.write_bytes(plain.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.BestAvailableEncryption(b"secret")))  # fmt: skip
    argv = [*MODULE, "serve", "--port", "0", "--tls-cert", str(cert), "--tls-key", str(key)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 3 and "unencrypted PEM private key" in done.stderr, done


def test_a_mock_server_that_cannot_listen_leaves_no_ca_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with MockServer() as taken:
        port = int(taken.url.rsplit(":", 1)[1])
        server = MockServer(tls=True, port=port)
        with pytest.raises(OSError, match="address already in use"):
            server.start()
    assert server.ca_path is None and list(tmp_path.iterdir()) == []
