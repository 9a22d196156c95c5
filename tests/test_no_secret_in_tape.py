"""No secret in a tape, ever: a generated secret in each place a request or an answer can carry one,
and after ``close()`` it is nowhere in the tape's directory, raw or escaped.

Each placement says which way it is kept out: ``REDACTED`` (where it was; the tape passes its audit)
or ``DELETED`` (an answer echoes a credential where no name says it is one: the audit finds it and
deletes the tape).
"""

from __future__ import annotations

import base64
import gzip
import html
import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.recording.secrets import needle_forms
from mock_server.recording.tape import Recorder, SecretLeaked, TapeRequest, TapeResponse

UPSTREAM = "http://author.example:4502"
JSON = ("Content-Type", "application/json")
REDACTED, DELETED = "redacted where it was", "the audit deletes the tape"
#: The documented names, as clients spell them.
NAMES = ["password", "passwd", "pwd", "pass", "token", "secret", "j_password", "sessionid", "sig", "key",
         "apikey", "access_token", "userPassword", "client_secret", "x-api-key", "JSESSIONID"]  # fmt: skip
#: Keys on the way down to a secret: the API's own names, which carry none.
PUBLIC = ["processingId", "path", "excludedPaths", "filter", "items", "status", "createdBy", "data"]

#: A secret: a mark no tape holds by chance, then any text but control characters (what headers,
#: cookies and URLs cannot carry raw is encoded by the placement, as a client would).
secret_values = st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=6, max_size=24).map(
    lambda text: "Qz" + text
)
nesting = st.lists(st.sampled_from(PUBLIC) | st.integers(0, 2), max_size=4)

Exchange = tuple[TapeRequest, TapeResponse]
Place = Callable[[str, str, list[Any]], Exchange]


def nest(path: list[Any], leaf: Any) -> Any:
    """``leaf`` under the keys (and list positions) of ``path``."""
    for step in reversed(path):
        leaf = [None] * step + [leaf] if isinstance(step, int) else {step: leaf}
    return leaf


def request(path: str = "/bin/guides/v1/assets/process", query: str = "", headers: Any = (),
            body: bytes = b"") -> TapeRequest:  # fmt: skip
    return TapeRequest("POST", path, query, [JSON, *headers], body)


def answer(body: bytes = b"{}", headers: Any = (JSON,)) -> TapeResponse:
    return TapeResponse(200, list(headers), body, len(body))


def basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"editor:{password}".encode()).decode()


def multipart(name: str, content: bytes) -> tuple[tuple[str, str], bytes]:
    body = (b"--Bq7x\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\neditor\r\n--Bq7x\r\n"
            + f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + content
            + b"\r\n--Bq7x--\r\n")  # fmt: skip
    return ("Content-Type", "multipart/form-data; boundary=Bq7x"), body


def zipped_log(text: str) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("p1.log", f"INFO: started\n{text}\n" * 5)
    return archive.getvalue()


PLACEMENTS: dict[str, tuple[str, Place]] = {}


def placement(what: str, expected: str = REDACTED) -> Callable[[Place], Place]:
    def register(place: Place) -> Place:
        PLACEMENTS[what] = (expected, place)
        return place

    return register


TEXT, HTML, XML = [("Content-Type", kind) for kind in ("text/plain", "text/html", "text/xml")]
FORM = ("Content-Type", "application/x-www-form-urlencoded")


@placement("Authorization: Basic (its password)")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(headers=[("Authorization", basic(s))]), answer()


@placement("Authorization: Bearer")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(headers=[("Authorization", "Bearer " + quote(s))]), answer()


@placement("Cookie")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(headers=[("Cookie", f"a=1; {quote(n)}={quote(s)}")]), answer()


@placement("Set-Cookie")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(headers=[JSON, ("Set-Cookie", f"login-token={quote(s)}; Path=/")])


@placement("CSRF-Token and X-CSRF-Token")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(headers=[("CSRF-Token", s), ("X-CSRF-Token", s)]), answer()


@placement("a secret-named request and response header")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(headers=[(f"X-{n}", s)]), answer(headers=[JSON, (f"X-{n}", s)])


@placement("a query parameter")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(query=f"processingId=p1&{quote_plus(n)}={quote_plus(s)}"), answer()


@placement("a path parameter (the proxy hands the path decoded)")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(path=f"/bin/guides/v1/assets/process;{n}={s}"), answer()


@placement("a request's JSON body, at depth")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(body=json.dumps(nest(p, {n: s})).encode()), answer()


@placement("an answer's JSON body, at depth, not ASCII-escaped")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(json.dumps(nest(p, {n: [s]}), ensure_ascii=False).encode())


@placement("an answer that is JSON but for a NaN (kept as text), at depth")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(json.dumps(nest(p, {n: {"value": [s]}, "eta": float("nan")})).encode())


@placement("a gzipped answer's JSON body")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(gzip.compress(json.dumps({n: s}).encode()), [JSON, ("Content-Encoding", "gzip")])


@placement("a form body")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(headers=[FORM], body=f"user=editor&{quote_plus(n)}={quote_plus(s)}".encode()), answer()


@placement("a multipart part")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    content_type, body = multipart(n, s.encode())
    return request(headers=[content_type], body=body), answer()


@placement("a text body, name=value")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(f"error: {n}={quote_plus(s)} refused".encode(), [TEXT])


@placement("a text body, name: raw value")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(f"error; {n}: {s}".encode(), [TEXT])


@placement("a text body in colour (a side file), name=value")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(f"\x1b[31merror: {n}={quote_plus(s)}\x1b[0m".encode(), [TEXT])


@placement("a binary body (a side file) with a name=value in it")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    body = b"\x00\xff\xfe" + f"{n}={quote_plus(s)}".encode() + b"\x00\x81"
    return request(), answer(body, [("Content-Type", "application/octet-stream")])


@placement('a text body, "name": "value"')
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(f'<pre>{{"{n}": {json.dumps(s)}}}</pre>'.encode(), [HTML])


@placement("a text body, <name>value</name>")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(f"<r><{n}>{html.escape(s)}</{n}></r>".encode(), [XML])


@placement("a Location with user info")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(headers=[JSON, ("Location", f"https://editor:{quote(s, safe='')}@author/x")])


@placement("a Location with a secret query and fragment")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    pair = f"{quote_plus(n)}={quote_plus(s)}"
    return request(), answer(headers=[JSON, ("Location", f"/x?a=1&{pair}#{pair}")])


@placement("an answer echoing the Basic password in an unrelated field", DELETED)
def _(s: str, n: str, p: list[Any]) -> Exchange:
    echoed = json.dumps(nest(p, {"comments": f"by {s}"})).encode()
    return request(headers=[("Authorization", basic(s))]), answer(echoed)


@placement("an answer echoing the Bearer token in a text body", DELETED)
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(headers=[("Authorization", "Bearer " + quote(s))]), answer(
        f"hi {quote(s)}".encode(), [TEXT]
    )


@placement("a Location echoing the Basic password URL-encoded", DELETED)
def _(s: str, n: str, p: list[Any]) -> Exchange:
    location = ("Location", f"/x?u={quote(s)}")
    return request(headers=[("Authorization", basic(s))]), answer(headers=[JSON, location])


@placement("an error page echoing the CSRF token HTML-escaped", DELETED)
def _(s: str, n: str, p: list[Any]) -> Exchange:
    page = f"<html><body>Bad token {html.escape(s)} was sent</body></html>"
    return request(headers=[("CSRF-Token", s)]), answer(page.encode(), [HTML])


@placement("a redirect whose next URL carries the secret, encoded")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    inner = f"/x?a=1&{quote_plus(n)}={quote_plus(s)}"
    return request(), answer(headers=[JSON, ("Location", f"/login?next={quote_plus(inner)}")])


@placement("a log ZIP echoing the cookie", DELETED)
def _(s: str, n: str, p: list[Any]) -> Exchange:
    log = zipped_log(f"cookie {quote(s)}")
    return request(headers=[("Cookie", f"{quote(n)}={quote(s)}")]), answer(
        log, [("Content-Type", "application/zip")]
    )


def tape_bytes(directory: Path) -> bytes:
    """Every byte under ``directory``, ZIP members inflated."""
    if not directory.exists():
        return b""
    data = b""
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            data += path.read_bytes()
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    data += b"".join(archive.read(member) for member in archive.namelist())
    return data


@pytest.mark.parametrize("placement", list(PLACEMENTS))
@settings(max_examples=25, deadline=None)
@given(secret=secret_values, name=st.sampled_from(NAMES), path=nesting)
def test_no_secret_is_left_in_a_tape(placement: str, secret: str, name: str, path: list[Any]) -> None:
    expected, place = PLACEMENTS[placement]
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary) / "tape"
        recorder = Recorder(directory, UPSTREAM)
        sent, answered = place(secret, name, path)
        recorder.record("start", sent, answered, 0)
        assert recorder.stopped is None
        try:
            recorder.close()
            outcome = REDACTED
        except SecretLeaked:
            outcome = DELETED
        assert outcome == expected, placement
        assert (outcome == DELETED) == (not directory.exists())
        written = tape_bytes(directory)
        for form in needle_forms(secret):
            assert written.count(form) == 0, (placement, form)
