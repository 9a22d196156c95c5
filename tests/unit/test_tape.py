"""The tape: its format, what it keeps of a message, redaction, and the audit that deletes a leak."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import secrets
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from mock_server.recording.audit import _Matcher
from mock_server.recording.redaction import redact_query
from mock_server.recording.secrets import Secrets
from mock_server.recording.tape import (
    REDACTED,
    Recorder,
    RecordingError,
    SecretLeaked,
    TapeRequest,
    TapeResponse,
    parse_pointer,
    public_origin,
)

UPSTREAM = "http://author.example:4502"
JSON = ("Content-Type", "application/json")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def exchange(
    recorder: Recorder,
    body: bytes = b"",
    answer: bytes = b"{}",
    *,
    headers: list[tuple[str, str]] | None = None,
    answer_headers: list[tuple[str, str]] | None = None,
    query: str = "",
    size: int | None = None,
    at_ms: int = 0,
) -> None:
    request = TapeRequest("POST", "/bin/guides/v1/assets/process", query, headers or [JSON], body)
    response = TapeResponse(200, answer_headers or [JSON], answer, len(answer) if size is None else size, 3)
    recorder.record("start", request, response, at_ms)


def lines(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (directory / "tape.jsonl").read_text("utf-8").splitlines()]


def test_a_tape_is_a_header_then_one_line_per_exchange(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "t", "http://author.example/", clock=iter([10.0, 10.25]).__next__)
    headers = [JSON, ("Authorization", basic("me", "pw-long")), ("X-Custom", "dropped"), ("Accept", "*/*")]
    exchange(recorder, b'{"path": "/content/dam/a"}', b'{"processingId": "p1"}', headers=headers,
             at_ms=recorder.stamp())  # fmt: skip
    exchange(recorder, answer_headers=[JSON, ("Retry-After", "1"), ("Server", "x")], at_ms=recorder.stamp())
    assert not (tmp_path / "t" / "tape.jsonl").exists()  # unaudited: still .partial
    audit = recorder.close()
    assert recorder.close() == audit and audit.exchanges == 2
    header, first, second = lines(tmp_path / "t")
    assert header == {"tape": "aem-guides-mock", "version": 1, "upstream": "http://author.example:80"}
    assert first == {
        "at_ms": 0,
        "operation": "start",
        "request": {"method": "POST", "path": "/bin/guides/v1/assets/process", "query": "", "user": "me",
                    "headers": {"content-type": "application/json", "authorization": REDACTED,
                                "accept": "*/*"},
                    "body": {"path": "/content/dam/a"}},
        "response": {"status": 200, "headers": {"content-type": "application/json"},
                     "body": {"processingId": "p1"}, "elapsed_ms": 3},
    }  # fmt: skip
    assert second["at_ms"] == 250 and second["response"]["headers"]["retry-after"] == "1"
    assert "server" not in second["response"]["headers"] and second["request"]["body"] is None
    with pytest.raises(RecordingError, match="closed"):
        exchange(recorder)


def test_bodies_that_are_not_json_are_text_or_side_files(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    exchange(recorder, answer=b"<html>busy</html>", answer_headers=[("Content-Type", "text/html")])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("p1.log", "2026-02-26 08:59:10:755: INFO: [ASSET_PROCESSING] done\n" * 50)
    exchange(recorder, answer=archive.getvalue(), answer_headers=[("Content-Type", "application/zip")])
    exchange(recorder, b"\x00\x01binary", headers=[("Content-Type", "application/octet-stream")])
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    exchange(recorder, b"processingId=p1&csrf_token=abcdef1", headers=form)
    recorder.close()
    _, html, zipped_log, binary, formed = lines(tmp_path / "t")
    assert html["response"]["body_text"] == "<html>busy</html>" and html["response"]["body"] is None
    assert zipped_log["response"]["body_file"] == "bodies/0002-response.zip"
    with zipfile.ZipFile(tmp_path / "t" / zipped_log["response"]["body_file"]) as zipped:
        assert zipped.namelist() == ["p1.log"]
    assert binary["request"]["body_file"] == "bodies/0003-request.bin"
    assert (tmp_path / "t/bodies/0003-request.bin").read_bytes() == b"\x00\x01binary"
    assert formed["request"]["body_text"] == f"processingId=p1&csrf_token={REDACTED}"


def test_bodies_cut_short_are_notes_but_binary_side_files(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "t", UPSTREAM, max_body_bytes=16)
    exchange(recorder, answer=b"x" * 40, answer_headers=[("Content-Type", "text/plain")])
    exchange(recorder, answer=b'{"lines": ["' + b"a" * 40 + b'"]}')
    exchange(recorder, answer=b"\x00" * 10, size=5000, answer_headers=[("Content-Type", "application/zip")])
    recorder.close()
    _, text, document, binary = lines(tmp_path / "t")
    assert text["response"]["body"] is None and "text body larger" in text["response"]["note"]
    assert document["response"]["body"] is None and "JSON body larger" in document["response"]["note"]
    assert "body_text" not in text["response"] and "body_text" not in document["response"]
    assert (
        binary["response"]["body_file"] == "bodies/0003-response.zip"
        and "truncated" in binary["response"]["note"]
    )


def test_a_body_kept_in_a_line_is_at_most_a_mebibyte_and_json_is_measured_first(tmp_path: Path) -> None:
    """An 8 MiB ``[{},{},…]`` parsed whole took 220 MB and held the GIL 189 ms: a JSON or text body
    is kept in its line up to 1 MiB, JSON of more values than the recorder parses is a note, and a
    binary side file may still take 8 MiB."""
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    many = b"[" + b",".join([b"{}"] * 60_000) + b"]"  # 180 KB, but 60,000 values
    exchange(recorder, answer=many)
    exchange(recorder, answer=b'{"lines": ["' + b"a" * (1024 * 1024) + b'"]}')
    exchange(recorder, answer=b"b" * (1024 * 1024 + 1), answer_headers=[("Content-Type", "text/plain")])
    exchange(recorder, answer=b"c" * (1024 * 1024), answer_headers=[("Content-Type", "text/plain")])
    big = b"\x00\x01" * (4 * 1024 * 1024)
    exchange(recorder, answer=big, answer_headers=[("Content-Type", "application/octet-stream")])
    recorder.close()
    _, values, json_big, text_big, text_fits, binary = lines(tmp_path / "t")
    assert values["response"]["body"] is None and "60001 JSON values" in values["response"]["note"]
    assert json_big["response"]["body"] is None and "JSON body larger" in json_big["response"]["note"]
    assert text_big["response"]["body"] is None and "text body larger" in text_big["response"]["note"]
    assert text_fits["response"]["body_text"] == "c" * (1024 * 1024)
    assert (tmp_path / "t" / binary["response"]["body_file"]).read_bytes() == big


def test_compressed_bodies_are_inflated_then_redacted(tmp_path: Path) -> None:
    secret = secrets.token_hex(12)
    recorder = Recorder(tmp_path / "t", UPSTREAM, ["/token", "/login/password"])
    gzip_body = gzip.compress(json.dumps({"path": "/p", "login": {"password": secret}}).encode())
    exchange(recorder, gzip_body, headers=[JSON, ("Content-Encoding", "gzip")])
    exchange(recorder, answer=zlib.compress(b'{"token": "' + secret.encode() + b'"}'),
             answer_headers=[JSON, ("Content-Encoding", "deflate")])  # fmt: skip
    exchange(recorder, b"not gzip at all", headers=[JSON, ("Content-Encoding", "gzip")])
    exchange(recorder, b"whatever", headers=[JSON, ("Content-Encoding", "br")])
    recorder.close()
    _, gzipped, deflated, broken, brotli = lines(tmp_path / "t")
    assert gzipped["request"]["body"] == {"path": "/p", "login": {"password": REDACTED}}
    assert deflated["response"]["body"] == {"token": REDACTED}
    for line in (broken, brotli):
        assert line["request"]["body"] is None and "does not decode" in line["request"]["note"]
    assert secret.encode() not in (tmp_path / "t" / "tape.jsonl").read_bytes()


def test_pointers_reach_into_arrays_and_wildcards(tmp_path: Path) -> None:
    assert parse_pointer("/a~1b/~0c/0") == ("a/b", "~c", "0")
    with pytest.raises(ValueError, match="starts with '/'"):
        parse_pointer("token")
    recorder = Recorder(tmp_path / "t", UPSTREAM, ["/items/*/key", "/list/1", "/missing/deep"])
    answer = {"items": [{"key": "k-one", "keep": 1}, {"key": "k-two"}], "list": ["a", "bbbb"], "missing": 3}
    exchange(recorder, answer=json.dumps(answer).encode())
    recorder.close()
    body = lines(tmp_path / "t")[1]["response"]["body"]
    assert body == {"items": [{"key": REDACTED, "keep": 1}, {"key": REDACTED}], "list": ["a", REDACTED],
                    "missing": 3}  # fmt: skip


def test_secret_looking_query_parameters_are_redacted_and_remembered() -> None:
    seen = Secrets()
    query = "processingId=p1&Api_KEY=k%2B1234&x_auth=&password=pw+4567&offset=10&token"
    redacted = f"processingId=p1&Api_KEY={REDACTED}&x_auth=&password={REDACTED}&offset=10&token"
    assert redact_query(query, seen) == redacted
    assert set(seen.needles()) >= {b"k%2B1234", b"k+1234", b"pw+4567", b"pw 4567"}
    assert b"p1" not in seen.needles() and b"10" not in seen.needles()


def test_secrets_short_ones_are_ignored_and_the_count_is_capped() -> None:
    seen = Secrets(limit=2)
    for value in ("abc", "first", "second", "third", "first"):
        seen.add(value, "kind")
    assert len(seen) == 2 and seen.dropped == 1
    assert set(seen.needles()) == {b"first", b"second"}


def test_the_audit_deletes_a_recording_that_leaks_and_never_shows_the_secret(tmp_path: Path) -> None:
    password = secrets.token_hex(10)
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    headers = [JSON, ("Authorization", basic("editor", password))]
    exchange(recorder, headers=headers, answer=json.dumps({"createdBy": "editor", "note": password}).encode())
    with pytest.raises(SecretLeaked) as leaked:
        recorder.close()
    assert not (tmp_path / "t").exists()
    message = str(leaked.value)
    assert "the password of the HTTP Basic credentials" in message and "tape.jsonl" in message
    assert password not in message and "--redact" in message
    with pytest.raises(SecretLeaked):  # closing again says it again
        recorder.close()


def test_the_audit_finds_a_secret_split_between_two_chunks() -> None:
    needles = {b"secret-1": "a kind", b"other-22": "another"}
    assert _Matcher(needles).scan(iter([b"....sec", b"ret-1...."])) == ["a kind"]


def test_the_audit_finds_json_escaped_secrets_and_secrets_inside_zips(tmp_path: Path) -> None:
    escaped = 'pässwörd"' + secrets.token_hex(4)
    token = secrets.token_hex(16)
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    exchange(recorder, headers=[JSON, ("CSRF-Token", escaped)], answer=json.dumps({"echo": escaped}).encode())
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("job.log", f"INFO: called with token {token}\n" * 20)
    assert token.encode() not in archive.getvalue()  # deflated: only the members show it
    exchange(recorder, headers=[JSON, ("Authorization", f"Bearer {token}")], answer=archive.getvalue(),
             answer_headers=[("Content-Type", "application/zip")])  # fmt: skip
    with pytest.raises(SecretLeaked) as leaked:
        recorder.close()
    assert set(leaked.value.leaks) == {
        "the value of the request header csrf-token in tape.jsonl",
        "the Bearer token of the request header authorization in bodies/0002-response.zip (job.log)",
    }


def test_a_user_name_that_is_its_password_is_written_as_a_placeholder_where_it_stands_alone(
    tmp_path: Path,
) -> None:
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    answer = {"createdBy": "admin", "lines": ["cancelled by admin [processed=1]", "[user=admin]"]}
    exchange(
        recorder, headers=[("Authorization", basic("admin", "admin"))], answer=json.dumps(answer).encode()
    )
    exchange(
        recorder, headers=[("Authorization", basic("editor", "editor-pw"))], answer=b'{"createdBy": "editor"}'
    )
    recorder.close()  # kept: the audit finds no "admin"
    _, first, second = lines(tmp_path / "t")
    assert first["request"]["user"] == "[user:1]" and second["request"]["user"] == "editor"
    assert first["response"]["body"] == {
        "createdBy": "[user:1]", "lines": ["cancelled by [user:1] [processed=1]", "[user=[user:1]]"],
    }  # fmt: skip
    seen = Secrets()  # only where it stands alone: inside a word, a path or a file name it is left
    seen.mask_user("admin")
    kept = ["administrator", "/content/dam/admin", "admin.dita", "admin2", "sysadmin", "a@admin", "admin-x"]
    assert [seen.masked(text) for text in kept] == kept
    assert seen.masked("admin, admin. (admin)") == "[user:1], [user:1]. ([user:1])"


def test_a_user_name_that_is_its_password_inside_a_path_deletes_the_tape_naming_the_login(
    tmp_path: Path,
) -> None:
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    answer = b'{"createdBy": "admin", "path": "/content/dam/admin/a.dita"}'
    exchange(recorder, headers=[("Authorization", basic("admin", "admin"))], answer=answer)
    with pytest.raises(SecretLeaked, match="it is the user name, written as a placeholder") as leaked:
        recorder.close()
    assert "record with a login whose password is not a word of the author's content" in str(leaked.value)
    assert not (tmp_path / "t").exists()


def test_cookies_set_cookies_and_secret_looking_headers(tmp_path: Path) -> None:
    cookie, session, key = (secrets.token_hex(8) for _ in range(3))
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    headers = [("Cookie", f"a=1; login-token={cookie}"), ("X-Api-Key", key)]
    exchange(
        recorder, headers=headers, answer_headers=[JSON, ("Set-Cookie", f"s={session}; Path=/; HttpOnly")]
    )
    recorder.close()
    line = lines(tmp_path / "t")[1]
    assert line["request"]["headers"] == {"cookie": REDACTED, "x-api-key": REDACTED}
    assert line["response"]["headers"]["set-cookie"] == REDACTED
    kinds = set(recorder.secrets.needles().values())
    assert "the value of cookie 'login-token' (the request header cookie)" in kinds
    assert "the value of cookie 's' (the response header set-cookie)" in kinds


def test_only_a_new_or_empty_directory_is_recorded_into(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(RecordingError, match="not an empty directory"):
        Recorder(tmp_path / "full", UPSTREAM)
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    Recorder(tmp_path / "empty", UPSTREAM).close()
    assert (tmp_path / "empty" / "tape.jsonl").exists()


@pytest.mark.parametrize(
    ("url", "origin"),
    [("https://author.example", "https://author.example:443"), ("http://[::1]:4502/x", "http://[::1]:4502")],
)
def test_the_upstream_is_named_by_its_origin(url: str, origin: str) -> None:
    assert public_origin(url) == origin


@pytest.mark.parametrize(
    ("url", "phrase"), [("http://u:p@host", "credentials"), ("ftp://host", "http(s) URL")]
)
def test_an_upstream_with_credentials_or_another_scheme_is_refused(url: str, phrase: str) -> None:
    with pytest.raises(ValueError, match=re.escape(phrase)):
        public_origin(url)


def test_the_tape_stops_at_its_cap_with_whole_exchanges_and_says_why(tmp_path: Path) -> None:
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("job.log", "x" * 2600)
    recorder = Recorder(tmp_path / "t", UPSTREAM, max_tape_bytes=3100)
    exchange(recorder, answer=b'{"n": 1}')
    assert recorder.stopped is None
    binary = [("Content-Type", "application/zip")]
    exchange(recorder, answer=zipped.getvalue(), answer_headers=binary)  # its side file fits, its line not
    exchange(recorder, answer=b'{"n": 3}')  # would fit, but the tape has stopped: no hole in the middle
    assert recorder.stopped is not None and "after 1 exchange(s)" in recorder.stopped
    audit = recorder.close()
    written = lines(tmp_path / "t")
    assert [line["response"]["body"] for line in written[1:]] == [{"n": 1}]
    assert not (tmp_path / "t" / "bodies").exists() or not any((tmp_path / "t" / "bodies").iterdir())
    assert sum(f.stat().st_size for f in (tmp_path / "t").rglob("*") if f.is_file()) <= 3100
    assert audit.exchanges == 1 and "--max-tape" in audit.summary()


def test_a_gzip_body_of_several_members_is_decoded_whole() -> None:
    from mock_server.recording.tape import decode_body

    two = gzip.compress(b'{"a": 1, ', mtime=0) + gzip.compress(b'"b": 2}', mtime=0)
    assert decode_body(two, "gzip") == (b'{"a": 1, "b": 2}', False)
    assert decode_body(two, "GZIP", limit=5) == (b'{"a":', True)
    assert decode_body(b"not gzip", "gzip") == (None, False)


@pytest.mark.parametrize(
    ("headers", "path"),
    [
        ([("Content-Type", "multipart/form-data; boundary=☃"), ("X", "y")], "/x"),  # .encode("latin-1")
        ([JSON, ("Location", "http://[::1/x?token=a-long-token")], "/x"),  # urlsplit's ValueError
        ([("Content-Type", "multipart/form-data; boundary=\udc80")], "/x;key=\ud800"),  # lone surrogates
    ],
)
def test_inputs_that_raised_in_the_recorder_are_taped(
    tmp_path: Path, headers: list[tuple[str, str]], path: str
) -> None:
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    body = '--☃\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter-22\r\n--☃--\r\n'.encode()
    body = body if "multipart" in headers[0][1] else b""
    recorder.record(None, TapeRequest("POST", path, "", headers, body), TapeResponse(302, headers, b""), 0)
    assert recorder.exchanges == 1 and recorder.skipped == 0
    recorder.close()
    line = lines(tmp_path / "t")[1]
    assert "hunter-22" not in json.dumps(line) and "a-long-token" not in json.dumps(line)


def test_an_exchange_the_recorder_fails_on_is_not_written_and_not_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mock_server.recording import tape

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug of the recorder's own")

    recorder = Recorder(tmp_path / "t", UPSTREAM)
    exchange(recorder, answer=b'{"n": 1}')
    monkeypatch.setattr(tape, "message_body", broken)
    exchange(recorder, headers=[JSON, ("Authorization", basic("me", "pw-long-1"))])
    monkeypatch.undo()
    exchange(recorder, answer=b'{"n": 3}')
    audit = recorder.close()
    assert (recorder.exchanges, recorder.skipped) == (
        2,
        1,
    ) and "1 exchange(s) the recorder" in audit.summary()
    assert [line["response"]["body"] for line in lines(tmp_path / "t")[1:]] == [{"n": 1}, {"n": 3}]
    assert "pw-long-1" in recorder.secrets  # what it saw is looked for all the same


def test_a_write_that_fails_leaves_no_part_of_its_exchange(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    binary = [("Content-Type", "application/octet-stream")]
    exchange(recorder, answer=b"\x00\x01" * 500, answer_headers=binary)  # a side file: the cap counts it
    exchange(recorder, answer=b'{"n": 1}')

    class Full:
        """A disk that takes 10 bytes, then is full."""

        def __init__(self, file: Any) -> None:
            self.file, self.taken = file, 0

        def write(self, data: Any) -> int:
            if self.taken >= 10:
                raise OSError(28, "No space left on device")
            self.taken += 10
            return int(self.file.write(data[:10]))

        def __getattr__(self, name: str) -> Any:
            return getattr(self.file, name)

    real = recorder._file
    recorder._file = Full(real)  # type: ignore[assignment]  # a stand-in with the calls the recorder makes
    with pytest.raises(OSError, match="No space"):
        exchange(recorder, answer=b"\x00\x02" * 500, answer_headers=binary)
    recorder._file = real
    exchange(recorder, answer=b'{"n": 3}')
    recorder.close()
    assert [line["response"]["body"] for line in lines(tmp_path / "t")[2:]] == [{"n": 1}, {"n": 3}]
    assert recorder.exchanges == 3
    assert sorted(path.name for path in (tmp_path / "t" / "bodies").iterdir()) == ["0001-response.bin"]


def test_max_tape_is_at_most_what_scenario_from_reads(capsys: pytest.CaptureFixture[str]) -> None:
    from mock_server.cli import parser

    upstream = ["proxy", "--upstream", UPSTREAM, "--max-tape"]
    assert parser().parse_args([*upstream, "256"]).max_tape == 256
    with pytest.raises(SystemExit):
        parser().parse_args([*upstream, "257"])
    assert "from 1 to 256 (what scenario-from reads)" in capsys.readouterr().err
