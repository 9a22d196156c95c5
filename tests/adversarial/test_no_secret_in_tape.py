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
import re
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
from tests.support.hypothesis_profiles import examples

UPSTREAM = "http://author.example:4502"
JSON = ("Content-Type", "application/json")
REDACTED, DELETED = "redacted where it was", "the audit deletes the tape"
#: The documented names, as clients spell them (camelCase ones and a name of 260 characters too).
NAMES = ["password", "passwd", "pwd", "pass", "token", "secret", "j_password", "sessionid", "sig", "key",
         "apikey", "access_token", "userPassword", "client_secret", "x-api-key", "JSESSIONID", "dbPass",
         "userPwd", "adminPwd", "passcode", "x" * 250 + "_password"]  # fmt: skip
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


def zipped_log(text: str, member: bytes | None = None) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("p1.log", f"INFO: started\n{text}\n" * 5)
        if member is not None:
            out.writestr("p1.log.gz", member)
    return archive.getvalue()


#: Past the 4,096 characters the old redaction read of a value.
LONG = "eyJhbGciOiJIUzI1NiJ9." * 300
ZIP = ("Content-Type", "application/zip")


def java_url(value: str) -> str:
    """``java.net.URLEncoder.encode(value, UTF_8)``: ``*`` kept, ``~`` encoded, a space as ``+``."""
    return quote_plus(value, safe="*").replace("~", "%7E")


def gson(value: str) -> str:
    """Gson's JSON string content: ``< > & = '`` as ``\\u003c``-style escapes."""
    return json.dumps(value)[1:-1].translate({ord(c): f"\\u{ord(c):04x}" for c in "<>&='"})


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


@placement("a text body, a quoted value longer than 4,096 characters")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(f'error: {{"{n}": {json.dumps(LONG + s)}}}'.encode(), [TEXT])


@placement("an answer that is JSON but for a NaN, its value longer than 4,096 characters")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(json.dumps({n: LONG + s, "eta": float("nan")}).encode())


@placement("a text body, <name>value</name> longer than 4,096 characters")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(f"<r><{n}>{LONG}{html.escape(s)}</{n}></r>".encode(), [XML])


@placement("a text body, a bare value longer than 4,096 characters")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(f"error: {n}={LONG}{quote_plus(s)} refused".encode(), [TEXT])


@placement("a JSON body in UTF-16 with a byte order mark")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(body=json.dumps(nest(p, {n: s})).encode("utf-16")), answer()


@placement("a JSON body in UTF-16-LE, without a mark")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(body=json.dumps(nest(p, {n: s})).encode("utf-16-le")), answer()


@placement("a JSON answer in UTF-16-BE, named by its charset")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    body = json.dumps({n: s}).encode("utf-16-be")
    return request(), answer(body, [("Content-Type", "application/json; charset=utf-16be")])


@placement("a text body, JSON-escaped JSON")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    inner = json.dumps({n: s, "n": 1})
    return request(), answer(f"error: {json.dumps(inner)}".encode(), [TEXT])


@placement("a JSON answer, a pair URL-encoded in a string")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    inner = f"/x?a=1&{quote_plus(n)}={quote_plus(s)}"
    return request(), answer(json.dumps(nest(p, {"next": quote(inner, safe="")})).encode())


@placement("a query value encoded twice (%253D)")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    inner = quote(f"/x?{quote_plus(n)}={quote_plus(s)}", safe="")
    return request(query=f"processingId=p1&next={quote(inner, safe='')}"), answer()


@placement("a text body, a YAML block value")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(f"user: editor\n{n}:\n  {s}\n  {s}\nnext: 1\n".encode(), [TEXT])


@placement("a text body, a pass phrase of several words")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(f"{n}: correct horse {s} staple\nnext: 1".encode(), [TEXT])


@placement("a log ZIP with name=value in a member")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    return request(), answer(zipped_log(f"INFO: login with {n}={quote_plus(s)}"), [ZIP])


@placement("a log ZIP with name=value in a gzip member")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    member = gzip.compress(f"INFO: login with {n}={quote_plus(s)}\n".encode(), mtime=0)
    return request(), answer(zipped_log("INFO: done", member), [ZIP])


@placement("a gzip download with name=value in it")
def _(s: str, n: str, p: list[Any]) -> Exchange:
    body = gzip.compress(f"INFO: login with {n}={quote_plus(s)}\n".encode(), mtime=0)
    return request(), answer(body, [("Content-Type", "application/gzip")])


@placement("an answer echoing the Basic password as PHP and org.json escape it (\\/)", DELETED)
def _(s: str, n: str, p: list[Any]) -> Exchange:
    password = s + "/x"
    echoed = json.dumps({"comments": f"by {password}"}).replace("/", "\\/").encode()
    return request(headers=[("Authorization", basic(password))]), answer(echoed)


@placement("an answer echoing the Basic password as Gson escapes it (\\u003d)", DELETED)
def _(s: str, n: str, p: list[Any]) -> Exchange:
    password = s + "=<&'"
    return request(headers=[("Authorization", basic(password))]), answer(
        f'{{"comments": "{gson(password)}"}}'.encode()
    )


@placement("an answer echoing the Basic password as Jackson escapes it (\\u00E4)", DELETED)
def _(s: str, n: str, p: list[Any]) -> Exchange:
    password = s + "ä"
    escaped = re.sub(r"\\u[0-9a-f]{4}", lambda m: m[0].upper().replace("\\U", "\\u"), json.dumps(password))
    return request(headers=[("Authorization", basic(password))]), answer(
        f'{{"comments": {escaped}}}'.encode()
    )


@placement("a Location echoing the CSRF token as java.net.URLEncoder encodes it", DELETED)
def _(s: str, n: str, p: list[Any]) -> Exchange:
    token = s + "*~ x"
    return request(headers=[("CSRF-Token", token)]), answer(
        headers=[JSON, ("Location", f"/x?u={java_url(token)}")]
    )


@placement("a text body echoing the CSRF token URL-encoded in lower-case hex", DELETED)
def _(s: str, n: str, p: list[Any]) -> Exchange:
    token = s + "*/:"
    lower = re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), quote(token, safe=""))
    return request(headers=[("CSRF-Token", token)]), answer(f"bad token {lower}".encode(), [TEXT])


@placement("a gzip member of a log ZIP echoing the cookie", DELETED)
def _(s: str, n: str, p: list[Any]) -> Exchange:
    member = gzip.compress(f"cookie {quote(s)}\n".encode(), mtime=0)
    return request(headers=[("Cookie", f"{quote(n)}={quote(s)}")]), answer(
        zipped_log("INFO: done", member), [ZIP]
    )


@placement("an answer echoing a password sent in ISO-8859-1 Basic credentials", DELETED)
def _(s: str, n: str, p: list[Any]) -> Exchange:
    password = "Qzä" + "".join(c for c in s if ord(c) < 256 and c != ":")
    credentials = "Basic " + base64.b64encode(f"editor:{password}".encode("latin-1")).decode()
    return request(headers=[("Authorization", credentials)]), answer(
        json.dumps({"comments": password}).encode()
    )


def tape_bytes(directory: Path) -> bytes:
    """Every byte under ``directory``, ZIP members and gzip data (side files and members) inflated."""
    if not directory.exists():
        return b""
    data = b""
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            data += inflated(path.read_bytes())
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    data += b"".join(inflated(archive.read(member)) for member in archive.namelist())
    return data


def inflated(data: bytes) -> bytes:
    """``data``, and what it inflates to when it is gzip."""
    return data + gzip.decompress(data) if data.startswith(b"\x1f\x8b") else data


@pytest.mark.parametrize("placement", list(PLACEMENTS))
@settings(max_examples=examples(25), deadline=None)
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
