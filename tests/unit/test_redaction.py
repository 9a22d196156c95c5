"""Redaction by name: the rule, each place a named value can be (JSON, query, path, form, multipart,
text, Location), and that the API's own messages come through a recorder unchanged."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server import create_app
from mock_server.contract.schemas import load_schemas
from mock_server.http.proxy import proxy_app
from mock_server.recording.redaction import (
    redact_document,
    redact_location,
    redact_multipart,
    redact_path,
    redact_query,
    redact_text,
)
from mock_server.recording.secrets import REDACTED, SecretNames, Secrets, looks_secret, needle_forms
from mock_server.recording.tape import Recorder, TapeRequest, TapeResponse
from mock_server.scenarios.reading import parse_scenario
from mock_server.strategies import from_schema
from tests.e2e.test_round_trip import PATIENCE, RECORDED, drive
from tests.support.client import MakeClient, MakeServer
from tests.support.hypothesis_profiles import examples

R = REDACTED
#: The documented list, in the spellings clients use.
SECRET = ["password", "passwd", "pwd", "pass", "token", "secret", "j_password", "sessionid", "sig", "key",
          "apikey", "x-api-key", "access_token", "userPassword", "client_secret", "JSESSIONID", "PHPSESSID",
          "X-CSRF-Token", "x-key", "db_pass", "X-Functions-Key", "Authorization", "api_key", "sid", "auth",
          "PASS", "Api-Key", "refresh-token", "passphrase", "session", "dbPass", "userPwd", "adminPwd",
          "adminPWD", "passcode", "XAPIKey", "sess_id", "x" * 300 + "_password",
          "x" * 300 + "Key"]  # fmt: skip
#: The API's own names, and words that only look like a short name.
PUBLIC = ["processingId", "path", "excludedPaths", "filter", "type", "createdBy", "status", "keywords",
          "fileTypes", "offset", "limit", "tail", "hasLogs", "hasMore", "lines", "migrationSet", "eta",
          "comments", "bypass", "passed", "author", "design", "signal", "keyId", "monkey", "passage",
          "www-authenticate", "startTime", "triggeredCount", "filterProcessedAssets", "md5sig",
          "x" * 300]  # fmt: skip
RESPONSES = [name for name in load_schemas() if name.endswith(".response") or name in ("job", "error")]


@pytest.mark.parametrize("name", SECRET)
def test_the_documented_names_carry_secrets(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize("name", PUBLIC)
def test_the_apis_names_and_look_alikes_do_not(name: str) -> None:
    assert not looks_secret(name)


def test_extra_names_are_compared_as_short_names() -> None:
    names = SecretNames(["Login-Code"])
    assert names("login_code") and names("x-logincode") and names("LOGINCODE")
    assert not names("login_codes") and not SecretNames()("login_code")


def test_json_bodies_are_redacted_by_name_at_any_depth() -> None:
    seen = Secrets()
    document = {"path": "/p", "auth": {"user": "user-1", "password": "pw-1"},
                "items": [{"deep": [{"Access_Token": {"value": "tok-1", "also": ["tok-2", 7]}}]}],
                "key": 123456, "sig": None, "token": False,
                "note": "login with pwd=pw-2-long failed"}  # fmt: skip
    assert redact_document(document, seen) == {
        "path": "/p", "auth": R, "items": [{"deep": [{"Access_Token": R}]}], "key": R, "sig": None,
        "token": False, "note": f"login with pwd={R} failed",
    }  # fmt: skip
    assert {"pw-1", "tok-1", "tok-2", "pw-2-long", "user-1"} <= set(seen._kinds)
    assert "123456" not in seen  # a number is redacted but not looked for: digits turn up everywhere


def test_a_document_nested_deeper_than_recursion_goes_is_redacted() -> None:
    document: Any = {"token": "tok-deep"}
    for _ in range(5000):
        document = [document]
    seen = Secrets()
    redact_document(document, seen)
    assert "tok-deep" in seen


def test_query_strings_and_forms_redact_secret_named_parameters() -> None:
    seen = Secrets()
    query = "processingId=p1&pass=a+b1&pwd=c%2Fd1&passwd=e1ee&sessionid=s1ss&sig=g1gg&keywords=kw&key=&x"
    assert redact_query(query, seen) == (
        f"processingId=p1&pass={R}&pwd={R}&passwd={R}&sessionid={R}&sig={R}&keywords=kw&key=&x"
    )
    assert {"a+b1", "a b1", "c%2Fd1", "c/d1", "e1ee", "s1ss", "g1gg"} <= set(seen._kinds)
    assert redact_query("a=1;token=t0k3n-one;b=2", seen) == f"a=1;token={R};b=2"  # ; between them too
    nested = "next=%2Fbin%2Fx%3Fa%3D1%26access_token%3Dtok-in-next-1&lang=en"
    assert redact_query(nested, seen) == f"next=/bin/x?a=1&access_token={R}&lang=en"
    assert "tok-in-next-1" in seen
    assert redact_query("path=%2Fcontent%2Fdam%3Ax", seen) == "path=%2Fcontent%2Fdam%3Ax"  # as sent


def test_path_parameters_are_redacted() -> None:
    seen = Secrets()
    path = "/bin/guides/v1/assets/process;lang=en;jsessionid=ABC1234/x;key=k%2B1y"
    assert redact_path(path, seen) == f"/bin/guides/v1/assets/process;lang=en;jsessionid={R}"
    assert {"ABC1234/x;key=k%2B1y", "ABC1234/x;key=k+1y", "ABC1234"} <= set(seen._kinds)
    assert redact_path("/x;key=a/b;c", seen) == f"/x;key={R}"  # a decoded value: its / and ; are its own
    assert "a/b;c" in seen
    for public in ("/content/dam/a;b", "/a;lang=en/b", "/a;keywords=x"):
        assert redact_path(public, seen) == public


@pytest.mark.parametrize(
    ("text", "redacted", "secret"),
    [
        ("user=bob&password=hunter2x&x=1", f"user=bob&password={R}&x=1", "hunter2x"),
        ('{"token": "t\\"ok1-long", "n": 1}', f'{{"token": "{R}", "n": 1}}', 't"ok1-long'),
        ("pwd: s3cr3t-pw\nnext: 1", f"pwd: {R}\nnext: 1", "s3cr3t-pw"),
        ("'api_key' = 'k-999999'", f"'api_key' = '{R}'", "k-999999"),
        ("failed: password=pw-77777 for bob", f"failed: password={R} for bob", "pw-77777"),
        ("Authorization: Basic dXNlcjpwdw==", f"Authorization: {R}", "dXNlcjpwdw=="),
        (
            "<login><password>xml-pw11</password></login>",
            f"<login><password>{R}</password></login>",
            "xml-pw11",
        ),
        ("see http://h/x?a=1&sig=abcd1234 or", f"see http://h/x?a=1&sig={R} or", "abcd1234"),
        ('{"token": {"v": ["tok-12345", "]"]}, "n": NaN}', f'{{"token": {R}, "n": NaN}}', "tok-12345"),
        ('{:password => "ruby-pw-1", :u => 1}', f'{{:password => "{R}", :u => 1}}', "ruby-pw-1"),
    ],
)
def test_text_bodies_redact_secret_named_pairs(text: str, redacted: str, secret: str) -> None:
    seen = Secrets()
    assert redact_text(text, seen) == redacted
    assert secret in seen


@pytest.mark.parametrize(
    ("text", "redacted", "secret"),
    [
        (f'{{"token": "{"j" * 5000}-tail"}}', f'{{"token": "{R}"}}', "j" * 256),  # 4,096 and more
        (f"<token>{'k' * 5000}-tail</token>", f"<token>{R}</token>", "k" * 256),
        (f"token={'b' * 5000}-tail and", f"token={R} and", "b" * 256),
        (
            'error {\\"password\\":\\"hunter\\\\\\"22\\", \\"n\\": 1}',
            'error {\\"password\\":\\"[redacted]\\", \\"n\\": 1}',
            'hunter"22',
        ),  # JSON-escaped JSON, a quote in the value
        ("next=/x%3Fa%3D1%26token%3Dtok-in-next-1", "next=/x?a=1&token=[redacted]", "tok-in-next-1"),
        ("next=%252Fx%253Ftoken%253Dtok-in-next-2", "next=/x?token=[redacted]", "tok-in-next-2"),
        ("password:\n  line-one-1\n  line-two-2\nnext: 1", f"password:\n  {R}\nnext: 1", "line-one-1"),
        ("key: |\n  -----BEGIN KEY-----\n  abcdefgh\n", f"key: |\n  {R}\n", "-----BEGIN KEY-----"),
        (
            "passphrase: correct horse battery staple\nnext",
            f"passphrase: {R}\nnext",
            "correct horse battery staple",
        ),
        ("password = two words-1\nx", f"password = {R}\nx", "two words-1"),
        ('<password type="x">pw-in-xml-1</password>', f'<password type="x">{R}</password>', "pw-in-xml-1"),
        ('token: "never-closed-1\nnext', f"token: {R}\nnext", '"never-closed-1'),
        ("Authorization=Basic dXNlcjpwdw== x", f"Authorization={R} x", "dXNlcjpwdw=="),
    ],
)
def test_text_values_are_redacted_whole_however_they_are_written(
    text: str, redacted: str, secret: str
) -> None:
    seen = Secrets()
    assert redact_text(text, seen) == redacted
    assert secret in seen


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "password",
                "token",
                "key: ",
                "=",
                ":",
                " ",
                "\n",
                "  ",
                '"',
                "'",
                "\\",
                "{",
                "}",
                "[",
                "]",
                "<",
                ">",
                "</password>",
                "%3D",
                "%253D",
                "x",
                "abc-123_",
                "&",
                "|",
                "/",
                "é",
            ]
        ),
        max_size=60,
    )
)
def test_redacting_in_small_windows_gives_what_redacting_whole_does(pieces: list[str]) -> None:
    """The text is read in windows so that no call holds the GIL long: where they fall changes nothing."""
    from mock_server.recording import text_scan

    text = "".join(pieces)
    whole = redact_text(text, Secrets())
    original = text_scan.WINDOW
    try:
        for window in (1, 2, 3, 7):
            text_scan.WINDOW = window
            assert redact_text(text, Secrets()) == whole, window
    finally:
        text_scan.WINDOW = original


def test_a_word_in_prose_is_redacted_to_the_end_of_its_line_but_not_looked_for() -> None:
    seen = Secrets()
    prose = "press any key: Continue, or Stop\ntoken: Processing"
    assert redact_text(prose, seen) == f"press any key: {R}\ntoken: {R}"
    assert len(seen) == 0  # "Continue" remembered would fail every tape that says it elsewhere


def test_log_lines_and_paths_are_no_pairs() -> None:
    text = "2026-02-26 08:59:10:755: INFO: [ASSET_PROCESSING] processed /content/dam/a:b.dita, type: DITA"
    assert redact_text(text, Secrets()) == text


MULTIPART = (
    b"preamble\r\n--XyZ\r\n"
    b'Content-Disposition: form-data; name="user"\r\n\r\nbob\r\n--XyZ\r\n'
    b'Content-Disposition: form-data; name="j_password"\r\n\r\nhunter22\r\n--XyZ\r\n'
    b'Content-Disposition: form-data; name="file"; filename="password.bin"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n\x00\xffsig=zz99zz99\r\n--XyZ--\r\n"
)


def test_multipart_parts_named_secret_are_redacted_and_the_structure_kept() -> None:
    seen = Secrets()
    redacted = redact_multipart(MULTIPART, "multipart/form-data; boundary=XyZ", seen)
    assert redacted == MULTIPART.replace(b"hunter22", R.encode()).replace(b"zz99zz99", R.encode())
    assert "hunter22" in seen and "zz99zz99" in seen


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", MULTIPART),  # no boundary
        ("multipart/form-data; boundary=Other", MULTIPART),
        ("multipart/form-data; boundary=XyZ", MULTIPART.replace(b"--XyZ--", b"--XyZ")),  # not closed
        ("multipart/form-data; boundary=XyZ", b"--XyZ\r\nno blank line\r\n--XyZ--\r\n"),
    ],
)
def test_a_multipart_body_that_does_not_parse_is_none(content_type: str, body: bytes) -> None:
    assert redact_multipart(body, content_type, Secrets()) is None


def test_a_location_loses_its_user_info_and_secret_parameters() -> None:
    seen = Secrets()
    location = "https://bob:pa%40ss1@author.example/p;sid=sid-1234?a=1&token=tok-5678#access_token=frag-999&x"
    assert redact_location(location, seen) == (
        f"https://author.example/p;sid={R}?a=1&token={R}#access_token={R}&x"
    )
    assert {"pa@ss1", "pa%40ss1", "sid-1234", "tok-5678", "frag-999"} <= set(seen._kinds)
    assert redact_location("/content/dam/x", seen) == "/content/dam/x"


def test_each_secret_is_looked_for_in_every_form() -> None:
    forms = needle_forms('pä ss/"w')
    assert forms >= {  # Python's spellings
        'pä ss/"w'.encode(), b'p\\u00e4 ss/\\"w', 'pä ss/\\"w'.encode(), b"p%C3%A4%20ss%2F%22w",
        b"p%C3%A4+ss%2F%22w", b"p%C3%A4%20ss/%22w", "pä ss/&quot;w".encode(), b"p\\u00e4 ss/&quot;w",
    }  # fmt: skip
    assert forms >= {  # PHP and org.json (\/), Jackson (upper-case hex), lower-case hex, &#34;
        b'p\\u00e4 ss\\/\\"w', b'p\\u00E4 ss/\\"w', b'p\\u00E4 ss\\/\\"w', b"p%c3%a4%20ss%2f%22w",
        'pä ss/&#34;w'.encode(),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("value", "spelled"),
    [
        ("k=1<2>&'x", "k\\u003d1\\u003c2\\u003e\\u0026\\u0027x"),  # Gson
        ("k=1<2>&'x", "k\\u003D1\\u003C2\\u003E\\u0026\\u0027x"),
        ("a*b c~d", "a*b+c%7Ed"),  # java.net.URLEncoder
        ("a*b c~d", "a%2ab%20c~d"),  # lower-case hex
        ("a*b(c)!", "a*b(c)!"),  # encodeURIComponent
        ("it's", "it&#39;s"),
        ("it's", "it&#039;s"),
        ("it's", "it&apos;s"),
    ],
)
def test_the_spellings_of_other_encoders_are_looked_for(value: str, spelled: str) -> None:
    assert spelled.encode() in needle_forms(value)


@pytest.mark.parametrize("token", ["abcDEF123._-xyz", "dXNlcjpwdw", "8c1d5e0a-3f7b-4d2e-9a61-0b2c4d6e8f10"])
def test_a_token_of_plain_characters_is_one_needle(token: str) -> None:
    """The other encoders' spellings are added only when the secret holds a character they change:
    the cap of 2,048 needles still holds 2,048 such tokens."""
    assert needle_forms(token) == {token.encode()}


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(RESPONSES).flatmap(lambda name: from_schema(load_schemas()[name])))
def test_any_answer_the_contract_allows_is_unchanged(answer: Any) -> None:
    seen = Secrets()
    assert redact_document(json.loads(json.dumps(answer)), seen) == answer
    assert len(seen) == 0


class Capturing(Recorder):
    """A recorder that keeps what it was handed, to compare with what it wrote."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handed: list[tuple[TapeRequest, TapeResponse]] = []

    def record(self, operation: str | None, request: TapeRequest, response: TapeResponse, at_ms: int) -> None:
        self.handed.append((request, response))
        super().record(operation, request, response, at_ms)


async def test_a_realistic_tape_of_the_apis_answers_is_unchanged(
    aiohttp_server: MakeServer, aiohttp_client: MakeClient, tmp_path: Path
) -> None:
    """Every operation, a job to SUCCESS and one to FAILED and resumed, logs and their ZIP, errors:
    redaction changes nothing the API says, and the audit finds only the Basic credentials to look for."""
    app = create_app(scenario=parse_scenario(RECORDED), overrides={"users": {"admin": "rt-secret-8d1f"}})
    mock = await aiohttp_server(app)
    upstream = str(mock.make_url("")).rstrip("/")
    recorder = Capturing(tmp_path / "tape", upstream)
    proxy = await aiohttp_client(proxy_app(upstream, recorder=recorder), timeout=PATIENCE)
    await drive(mock, proxy)
    await proxy.close()
    audit = recorder.close()
    lines = [json.loads(line) for line in (tmp_path / "tape" / "tape.jsonl").read_text().splitlines()[1:]]
    assert len(lines) == len(recorder.handed) == audit.exchanges > 20
    for line, (request, response) in zip(lines, recorder.handed, strict=True):
        assert (line["request"]["path"], line["request"]["query"]) == (request.path, request.query)
        assert line["request"]["body"] == (json.loads(request.body) if request.body else None)
        if "body_file" in line["response"]:
            assert (tmp_path / "tape" / line["response"]["body_file"]).read_bytes() == response.body
            assert zipfile.is_zipfile(tmp_path / "tape" / line["response"]["body_file"])
        else:
            assert line["response"]["body"] == json.loads(response.body), line["operation"]
    kinds = set(recorder.secrets.needles().values())  # the Basic credentials, as sent and decoded
    assert {kind.partition(" (")[0] for kind in kinds} == {
        "the value of the request header authorization",
        "the credentials of the request header authorization",
        "the user:password pair of the HTTP Basic credentials",
        "the password of the HTTP Basic credentials",
    }


@pytest.mark.parametrize(
    "text", ['token: "abc\\\ndef" and', 'token: "abc\\', 'password:"\\\n}', "token: '\\\n'"]
)
def test_a_backslash_before_a_line_break_in_a_quoted_value_ends(text: str) -> None:
    """The regression: an escape the regular expression did not take (a backslash, then a line break)
    left the reading of the value where it was, forever."""
    import signal

    def stuck(*args: object) -> None:
        raise TimeoutError("redact_text did not end")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.setitimer(signal.ITIMER_REAL, 1.0)
    try:
        redacted = redact_text(text, Secrets())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert redacted.startswith(("token: ", "password:")) and "abc" not in redacted
