"""Where an admin request comes from: a loopback address, a loopback host, and a page of this origin.

Without ``admin.token`` the admin API answers loopback only, which a web page open in a browser on
the same machine could still reach. :func:`foreign_request` refuses any request that names a host
other than a loopback one (``Host``, an absolute-form target) or comes from a page whose ``Origin``
is not on this machine: a DNS-rebinding page names its own host. :func:`cross_site_request` refuses
a request that changes something unless a browser could not have sent it for a page of another
origin, ``http://localhost:3000`` and ``http://foo.localhost`` included.

The same-origin proof, for every method but GET, HEAD and OPTIONS, in this order:

1. ``Sec-Fetch-Site`` (every browser since 2023 sends it; a page cannot set or change it) decides
   alone: ``same-origin`` and ``none`` (the user's own action) pass, ``same-site`` and
   ``cross-site`` are refused. ``Origin`` is not compared then: a reverse proxy that serves the
   mock under its own address (and rewrites ``Host``) sees the browser's ``same-origin`` with the
   proxy's origin, and must keep working. A DNS-rebinding page is ``same-origin`` too, and is
   refused already by its ``Host``.
2. Else ``Origin`` (browsers since 2020 send it on every POST; older Safari and Firefox send no
   ``Sec-Fetch-Site``) must be this server's own origin: the request's scheme and its ``Host``,
   default ports ignored. ``null`` (a sandboxed frame, a ``data:`` page, a redirect) is no page of
   this machine: :func:`foreign_request` refuses it first, on every method.
3. A request with neither is accepted, as Go's ``net/http.CrossOriginProtection`` accepts it: no
   browser still supported omits both on a cross-origin request, while curl, Python's urllib,
   Java's ``HttpURLConnection`` and the test fixtures send neither, and the first three label a
   body ``application/x-www-form-urlencoded`` unless told otherwise. Refusing a form-able POST
   without them would break ``curl -d '{"seconds": 5}'`` to guard against browsers out of support
   for years (Firefox before 70, Internet Explorer), which a page would also have to reach on the
   same machine as the mock. An admin request with the valid ``X-Admin-Token`` needs no proof: a
   page cannot send a header of its own to another origin without the mock's consent (CORS), and
   the mock gives none.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse

from aiohttp import web

__all__ = ["cross_site_request", "foreign_request", "from_loopback", "loopback_host", "loopback_origin"]

#: A Host header or an origin's authority: a name or a bracketed IPv6 address, then a port.
_AUTHORITY = re.compile(r"(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::(?P<port>[0-9]{1,5}))?")
#: The methods that only read: no same-origin proof is asked of them.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_SITES = ("same-origin", "same-site", "cross-site", "none")


def from_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%")[0]) if address else None
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # an IPv4 client of a server bound to "::"
    return ip is not None and ip.is_loopback


def loopback_host(value: str) -> bool:
    """True for exactly ``localhost`` (or ``*.localhost``), a 127.x.x.x address or ``[::1]``,
    with or without a port; anything else, ``[::1]evil.com`` included, is not."""
    match = _AUTHORITY.fullmatch(value.strip())
    if match is None:
        return False
    if match["ip6"] is not None:
        return from_loopback(match["ip6"])
    host = match["name"].lower().rstrip(".")  # "localhost." is the same name, fully qualified
    return host == "localhost" or host.endswith(".localhost") or from_loopback(host)


def loopback_origin(origin: str) -> bool:
    """An ``Origin`` of a page served from this machine: http(s), no user part, no path."""
    parts = urllib.parse.urlsplit(origin.strip())
    return (
        parts.scheme in ("http", "https")
        and "@" not in parts.netloc
        and not (parts.path or parts.query or parts.fragment)
        and loopback_host(parts.netloc)
    )


def foreign_request(request: web.Request) -> str | None:
    """Why a loopback-only admin request looks like it came from elsewhere, if it does."""
    host = request.headers.get("Host", "")
    if not loopback_host(host):
        return f"the header Host {host[:100]!r} is not a loopback name (a DNS-rebinding page?)"
    target = request.host  # the authority of an absolute-form target, when there is one
    if not loopback_host(target):
        return f"the request target names the host {target[:100]!r}, not a loopback one"
    origin = request.headers.get("Origin")
    if origin is not None and not loopback_origin(origin):
        return f"the header Origin {origin[:100]!r} is not a page served from this machine"
    return None


def cross_site_request(request: web.Request) -> str | None:
    """Why a request that changes something may come from a page of another origin, if it may
    (the module's docstring gives the order of the checks, and why)."""
    if request.method in _SAFE_METHODS:
        return None
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        site = site.strip().lower()
        if site in ("same-origin", "none"):
            return None
        if site in _SITES:
            return (f"the header Sec-Fetch-Site is {site!r}: a page of another origin sent it, and only "
                    "the mock's own pages (or a client that is not a browser) may change it")  # fmt: skip
        return f"the header Sec-Fetch-Site {site[:40]!r} is not one of {', '.join(_SITES)}"
    origin = request.headers.get("Origin")
    if origin is None:
        return None  # not a browser, or one out of support for years: see the module's docstring
    own = _origin_of(request.scheme, request.headers.get("Host", ""))
    parts = urllib.parse.urlsplit(origin.strip())
    given = _origin_of(parts.scheme, parts.netloc) if not (parts.path or parts.query) else None
    if given is None or given != own:
        return (f"the header Origin {origin[:100]!r} is not this server's own origin {own!r}: a page of "
                "another origin (another port or name counts) may not change the mock")  # fmt: skip
    return None


def _origin_of(scheme: str, authority: str) -> str | None:
    """``scheme://host:port``, lowercase with the port always written, or None if malformed."""
    scheme = scheme.lower()
    match = _AUTHORITY.fullmatch(authority.strip())
    if scheme not in _DEFAULT_PORTS or match is None:
        return None
    host = f"[{match['ip6'].lower()}]" if match["ip6"] is not None else match["name"].lower()
    return f"{scheme}://{host}:{match['port'] or _DEFAULT_PORTS[scheme]}"
