"""HTTPS for the dev server and :class:`~..server.MockServer`, as AEM as a Cloud Service speaks it.

Two ways: a certificate issued at start by a local test CA made then (``trustme``, the ``tls`` extra),
whose certificate is written to a file a client trusts the usual way (``curl --cacert``, an
``SSLContext``'s ``cafile``, ``NODE_EXTRA_CA_CERTS``, a Java truststore); or the user's own
certificate and key. The admin API and the dashboard are served on the same port.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TLS_HOSTS", "Tls", "TlsError", "local_ca", "own_certificate", "write_ca"]

#: The names a test CA's certificate is issued for, besides the address served on.
TLS_HOSTS = ("localhost", "127.0.0.1", "::1")


class TlsError(Exception):
    """HTTPS cannot be set up: the message names the file or the package, and the fix."""


@dataclass(frozen=True)
class Tls:
    """What the server serves HTTPS with, and the test CA's certificate (PEM) a client trusts
    (empty: the user's own certificate)."""

    context: ssl.SSLContext
    ca_pem: bytes = b""


def _server_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # as Adobe's CDN: TLS 1.2 and 1.3
    return context


def local_ca(hosts: Sequence[str] = ()) -> Tls:
    """A CA made now, and a context serving a certificate it issued for :data:`TLS_HOSTS` and
    ``hosts`` (an address served on; a wildcard one is left out). :func:`write_ca` writes its
    certificate where a client reads it."""
    try:
        import trustme
    except ImportError:
        raise TlsError(
            "--tls needs the package trustme, which makes the test CA: pip install 'aem-guides-mock[tls]' "
            "(or give your own certificate with --tls-cert and --tls-key)"
        ) from None
    names = list(TLS_HOSTS)
    for host in hosts:
        if host and host not in names and not _wildcard(host):
            names.append(host)
    authority = trustme.CA(organization_name="aem-guides-mock test CA")
    context = _server_context()
    authority.issue_cert(*names).configure_cert(context)
    return Tls(context, authority.cert_pem.bytes())


def write_ca(tls: Tls, path: Path) -> Path:
    """Write the test CA's certificate of ``tls`` to ``path`` (TlsError naming it if it cannot be)."""
    try:
        path.write_bytes(tls.ca_pem)
    except OSError as error:
        raise TlsError(f"cannot write the test CA's certificate to {path}: {error.strerror or error}; "
                       "give --tls-ca-out a path you can write") from None  # fmt: skip
    return path


def own_certificate(cert: Path, key: Path) -> Tls:
    """A context serving the certificate chain in ``cert`` with the private key in ``key`` (PEM)."""
    for path, flag in ((cert, "--tls-cert"), (key, "--tls-key")):
        if not path.is_file():
            raise TlsError(f"cannot read {path}: no such file; give {flag} a PEM file")
    context = _server_context()
    try:
        context.load_cert_chain(cert, key, password=lambda: b"")  # an encrypted key fails, never prompts
    except (ssl.SSLError, OSError) as error:
        raise TlsError(f"cannot serve the certificate {cert} with the key {key}: {error}; give a PEM "
                       "certificate chain and its unencrypted PEM private key") from None  # fmt: skip
    return Tls(context)


def _wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False
