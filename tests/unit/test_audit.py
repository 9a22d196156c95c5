"""The audit and the recorder's bounds: every secret looked for however many came before, the
recorder stops (never writes) past its cap, and compressed files are inflated within limits or
the tape fails closed."""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import secrets
import zipfile
import zlib
from pathlib import Path

import pytest

from mock_server.recording import audit
from mock_server.recording.audit import Allowance, leaks
from mock_server.recording.secrets import Secrets
from mock_server.recording.side_files import Kept, Refused, side_file
from mock_server.recording.tape import AuditUnfinished, Recorder, SecretLeaked, TapeRequest, TapeResponse

UPSTREAM = "http://author.example:4502"
JSON = ("Content-Type", "application/json")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def flood(recorder: Recorder, count: int, per_exchange: int = 100) -> None:
    """``count`` distinct secret-looking query values, ``per_exchange`` to an exchange."""
    for start in range(0, count, per_exchange):
        query = "&".join(f"token={secrets.token_hex(8)}" for _ in range(min(per_exchange, count - start)))
        recorder.record(
            "status", TapeRequest("GET", "/status", query, []), TapeResponse(200, [JSON], b"{}"), 0
        )


def echo(recorder: Recorder, password: str) -> None:
    """An exchange whose answer echoes the Basic password in an unrelated field."""
    request = TapeRequest("GET", "/status", "", [("Authorization", basic("editor", password))])
    answer = json.dumps({"status": "SUCCESS", "comments": f"by editor/{password}"}).encode()
    recorder.record("status", request, TapeResponse(200, [JSON], answer, len(answer)), 0)


def bytes_of(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file())


def test_the_audit_finds_a_secret_however_many_came_before(tmp_path: Path) -> None:
    """The regression: 10,001 secret-looking values filled the old audit's list, and a real Basic
    password an upstream echoed stayed in the tape with exit 0."""
    password = secrets.token_hex(10)
    recorder = Recorder(tmp_path / "t", UPSTREAM, secrets=Secrets(limit=20_000, max_needles=20_000))
    flood(recorder, 10_001)
    echo(recorder, password)
    assert recorder.stopped is None and len(recorder.secrets) > 10_001
    with pytest.raises(SecretLeaked) as leaked:
        recorder.close()
    assert leaked.value.leaks == ("the password of the HTTP Basic credentials (the request header "
                                  "authorization) in tape.jsonl",)  # fmt: skip
    assert not (tmp_path / "t").exists()


def test_past_its_cap_the_recorder_stops_before_it_writes_what_it_cannot_audit(tmp_path: Path) -> None:
    password = secrets.token_hex(10)
    recorder = Recorder(tmp_path / "t", UPSTREAM)  # the default cap, 2,048 secrets
    flood(recorder, 10_001)
    echo(recorder, password)
    assert (
        recorder.stopped is not None and "more distinct secrets than the recorder keeps" in recorder.stopped
    )
    audit = recorder.close()  # nothing unchecked was written: the audit passes
    assert audit.exchanges == 20 and audit.secrets == 2048 and audit.unchecked > 0
    assert "more distinct secrets" in audit.summary()
    assert password.encode() not in bytes_of(tmp_path / "t")
    assert len((tmp_path / "t" / "tape.jsonl").read_text().splitlines()) == 21  # the header, 20 whole lines


def test_the_exchange_that_passes_the_cap_leaves_no_side_file(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "t", UPSTREAM, secrets=Secrets(limit=2))
    binary = [("Content-Type", "application/octet-stream"), ("Set-Cookie", "s=cookie-value-1")]
    request = TapeRequest("GET", "/x", "token=first-secret", [])
    recorder.record(None, request, TapeResponse(200, binary, b"\x00\x01", 2), 0)
    assert recorder.stopped is not None and recorder.exchanges == 0
    assert not any((tmp_path / "t" / "bodies").glob("*"))
    assert recorder.close().exchanges == 0


def test_secrets_are_capped_by_count_and_by_the_bytes_looked_for() -> None:
    by_count = Secrets(limit=2)
    assert by_count.add("first", "k") and by_count.add("second", "k") and by_count.add("first", "k")
    assert not by_count.add("third", "k") and by_count.dropped == 1 and len(by_count) == 2
    by_needles = Secrets(max_needles=4)
    assert by_needles.add("plain", "k") and by_needles.add("ab cd", "k")  # 1 form, then 3 (%20 and +)
    assert not by_needles.add("more", "k") and by_needles.dropped == 1
    assert len(by_needles.needles()) == 4
    by_bytes = Secrets(max_bytes=40)
    assert by_bytes.add("a" * 20, "k") and not by_bytes.add("b" * 21, "k") and by_bytes.dropped == 1
    assert by_bytes.add("abc", "k") and by_bytes.add("[redacted]", "k") and len(by_bytes) == 1  # no needles


def zipped(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", method) as out:
        for name, data in members.items():
            out.writestr(name, data)
    return archive.getvalue()


def test_a_bomb_is_not_inflated_past_the_limits_and_fails_the_audit(tmp_path: Path) -> None:
    (tmp_path / "bomb.zip").write_bytes(zipped({"a.log": b"\x00" * (8 * 1024 * 1024)}))
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(b"\x00" * (8 * 1024 * 1024)))
    found = leaks(tmp_path, {b"needle-1": "a kind"})
    assert not found.leaks and len(found.unread) == 2
    assert (
        "bomb.gz could not be looked through: bomb.gz inflates more than 200 times its size"
        in found.unread[0]
    )
    assert "bomb.zip could not be looked through: member 'a.log' inflates" in found.unread[1]


def test_the_members_and_bytes_inflated_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "MAX_MEMBERS", 3)
    monkeypatch.setattr(audit, "MAX_INFLATED", 3000)
    (tmp_path / "many").mkdir()
    (tmp_path / "many" / "a.zip").write_bytes(zipped({f"{n}.log": b"x" for n in range(4)}))
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "a.zip").write_bytes(zipped({"a.log": b"x" * 2000, "b.log": b"y" * 2000}))
    assert leaks(tmp_path / "many", {b"needle-1": "a kind"}).unread == (
        "a.zip could not be looked through: the tape's ZIPs hold more than 3 members",
    )
    assert leaks(tmp_path / "big", {b"needle-1": "a kind"}).unread == (
        "a.zip could not be looked through: the tape's compressed files inflate past the audit's 3000 bytes",
    )


def test_a_zip_that_lies_about_its_size_fails_the_audit(tmp_path: Path) -> None:
    data = bytearray(zipped({"a.log": b"line with needle-1\n" * 100}))
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")  # the uncompressed size: 10 bytes
    (tmp_path / "lies.zip").write_bytes(bytes(data))
    found = leaks(tmp_path, {b"other-needle": "a kind"})
    assert len(found.unread) == 1 and "lies.zip could not be looked through: BadZipFile" in found.unread[0]


def test_gzip_side_files_are_inflated_and_looked_through(tmp_path: Path) -> None:
    token = secrets.token_hex(12)
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    body = gzip.compress(f"export of {token}\n".encode() * 20) + gzip.compress(b"second member\n")
    headers = [("Authorization", f"Bearer {token}")]
    answer = TapeResponse(200, [("Content-Type", "application/gzip")], body, len(body))
    recorder.record(None, TapeRequest("GET", "/x", "", headers), answer, 0)
    assert token.encode() not in bytes_of(tmp_path / "t")  # deflated: only inflating shows it
    with pytest.raises(SecretLeaked) as leaked:
        recorder.close()
    assert leaked.value.leaks == ("the Bearer token of the request header authorization in "
                                  "bodies/0001-response.gz (inflated)",)  # fmt: skip


@pytest.mark.parametrize(
    ("body", "size", "problem"),
    [
        (zipped({"a.log": b"\x00" * (4 * 1024 * 1024)}), None, "at most 200 to 1"),
        (zipped({"a.log": b"x" * 5000}), 10_000, "a ZIP cut short"),
        (b"PK\x03\x04" + b"\x00" * 60, None, "a ZIP that does not open"),
        (gzip.compress(b"\x00" * (4 * 1024 * 1024)), None, "gzip data that inflates past"),
        (b"\x1f\x8b\x08\x00" + b"\xff" * 40, None, "gzip data that does not inflate"),
    ],
)
def test_a_side_file_the_audit_could_not_look_through_is_not_kept(
    tmp_path: Path, body: bytes, size: int | None, problem: str
) -> None:
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    answer = TapeResponse(200, [("Content-Type", "application/zip")], body, size or len(body))
    recorder.record("download", TapeRequest("GET", "/x", "", []), answer, 0)
    recorder.close()
    line = json.loads((tmp_path / "t" / "tape.jsonl").read_text().splitlines()[1])
    assert "body_file" not in line["response"] and problem in line["response"]["note"]
    assert not (tmp_path / "t" / "bodies").exists()


def test_an_honest_log_zip_passes_and_is_charged_to_what_the_audit_inflates_in_all() -> None:
    data = zipped({"p1.log": b"2026-02-26 08:59:10:755: INFO: [ASSET_PROCESSING] done\n" * 500})
    assert side_file(data, False, str, Allowance(10**6, 5)) == Kept(
        data, (("p1.log", zipfile.ZipFile(io.BytesIO(data)).read("p1.log")),), Allowance(10**6 - 27_500, 4)
    )
    for left in (Allowance(1000, 5), Allowance(10**6, 0)):  # the bytes left, the members left
        refused = side_file(data, False, str, left)
        assert isinstance(refused, Refused) and "past" in refused.why
    gzipped = gzip.compress(b"line\n" * 100)
    kept = side_file(gzipped, False, str, Allowance(10**6, 5))
    assert isinstance(kept, Kept) and kept.left == Allowance(10**6 - 500, 5) and kept.data == gzipped


def test_a_needle_is_found_across_the_boundary_of_two_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "_CHUNK", 7)
    (tmp_path / "tape.jsonl").write_bytes(b"......secret-1......")
    assert leaks(tmp_path, {b"secret-1": "a kind", b"other-22": "another"}).leaks == ("a kind in tape.jsonl",)


def record(recorder: Recorder, query: str = "", headers: list[tuple[str, str]] | None = None,
           answer: bytes = b"{}", answer_headers: list[tuple[str, str]] | None = None) -> None:  # fmt: skip
    request = TapeRequest("GET", "/status", query, headers or [])
    recorder.record("status", request, TapeResponse(200, answer_headers or [JSON], answer, len(answer)), 0)


def test_a_secret_refused_past_the_cap_is_looked_for_in_what_was_written_before(tmp_path: Path) -> None:
    """The regression: a value echoed before it was sent as a credential, by the exchange that
    passed the cap, stayed in the tape, which passed its audit."""
    late = secrets.token_hex(10)
    recorder = Recorder(tmp_path / "t", UPSTREAM, secrets=Secrets(limit=2))
    record(recorder, answer=json.dumps({"comments": f"next is {late}"}).encode())
    record(recorder, f"token={secrets.token_hex(8)}&token={secrets.token_hex(8)}&token={late}")
    assert recorder.stopped is not None and recorder.exchanges == 1
    with pytest.raises(SecretLeaked) as leaked:
        recorder.close()
    assert leaked.value.leaks == ("the value of the query parameter 'token' in tape.jsonl",)


def test_more_refused_secrets_than_the_audit_keeps_fail_it(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "t", UPSTREAM, secrets=Secrets(limit=1, max_refused=3))
    record(recorder)
    record(recorder, "&".join(f"token={secrets.token_hex(8)}" for _ in range(5)))
    with pytest.raises(SecretLeaked, match="held more secrets than the audit keeps"):
        recorder.close()
    assert not (tmp_path / "t").exists()


def test_a_secret_seen_late_is_looked_for_in_what_came_before_as_recording_goes_on(tmp_path: Path) -> None:
    """The audit reads what is written as it is written; a needle that arrives later is owed by what
    came before, and paid back in steps after each exchange, not at close."""
    token = secrets.token_hex(12)
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    record(recorder, answer=json.dumps({"comments": f"your next token is {token}"}).encode())
    record(recorder, headers=[("Authorization", f"Bearer {token}")])
    assert not recorder._auditor.owed  # paid within the exchange's step: close() has nothing left
    assert recorder._auditor.findings().leaks == (
        "the Bearer token of the request header authorization in tape.jsonl",
    )
    with pytest.raises(SecretLeaked):
        recorder.close(deadline=0)  # nothing owed: no deadline can pass it


def test_what_is_owed_at_close_is_read_then_within_the_deadline(tmp_path: Path) -> None:
    token = secrets.token_hex(12)
    recorder = Recorder(tmp_path / "t", UPSTREAM, audit_step=0)
    record(recorder, answer=json.dumps({"comments": f"your next token is {token}"}).encode())
    record(recorder, headers=[("Authorization", f"Bearer {token}")])
    record(recorder)
    assert recorder._auditor.owed and not recorder._auditor.findings()
    with pytest.raises(SecretLeaked) as leaked:
        recorder.close(deadline=None)
    assert "the Bearer token" in leaked.value.leaks[0]


def test_an_audit_that_cannot_finish_in_time_fails_closed(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "t", UPSTREAM, audit_step=0)
    record(recorder, answer=b'{"comments": "nothing secret"}')
    record(recorder, headers=[("Authorization", f"Bearer {secrets.token_hex(12)}")])
    with pytest.raises(AuditUnfinished, match=r"could not finish within 0 s.*--max-tape") as unfinished:
        recorder.close(deadline=0)
    assert isinstance(unfinished.value, SecretLeaked) and not (tmp_path / "t").exists()


def test_with_nothing_owed_the_deadline_does_not_matter(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    record(recorder, headers=[("Authorization", f"Bearer {secrets.token_hex(12)}")])
    recorder.audit_step = 0  # from now on, all is left to close(); what is written is read as it is
    record(recorder, answer=b'{"comments": "nothing secret"}')
    assert recorder.close(deadline=0).exchanges == 2


def test_the_steps_read_no_more_than_their_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "_CHUNK", 1000)
    recorder = Recorder(tmp_path / "t", UPSTREAM, audit_step=0)
    for _ in range(10):  # some 10 lines of 2,000 bytes
        record(recorder, answer=json.dumps({"comments": "x" * 2000}).encode())
    record(recorder, headers=[("Authorization", f"Bearer {secrets.token_hex(12)}")])
    read = []
    pass_ = recorder._auditor._active
    assert pass_ is not None
    while (step := pass_.step(audit._Report())) is not None:
        read.append(step)
    assert max(read) <= 1000 and sum(read) >= 20_000
    recorder.close()


def stored(members: dict[str, bytes]) -> bytes:
    return zipped(members, zipfile.ZIP_STORED)


OPAQUE = {
    "bzip2": bz2.compress(b"password=hunter2-secret\n"),
    "xz": lzma.compress(b"password=hunter2-secret\n"),
    "zstd": b"\x28\xb5\x2f\xfd" + b"\x00" * 40,
    "7z": b"7z\xbc\xaf\x27\x1c" + b"\x00" * 40,
    "a nested ZIP": zipped({"inner.log": b"password=hunter2-secret\n"}),
    "a PDF with compressed streams": b"%PDF-1.7\n1 0 obj << /Filter /FlateDecode >> stream\n"
    + zlib.compress(b"password=hunter2-secret")
    + b"\nendstream",
}


@pytest.mark.parametrize("what", list(OPAQUE))
def test_a_side_file_or_member_the_audit_cannot_look_into_is_not_kept(tmp_path: Path, what: str) -> None:
    """The regression: the audit read these raw and passed them, whatever they hid."""
    data = OPAQUE[what]
    recorder = Recorder(tmp_path / "t", UPSTREAM)
    binary = [("Content-Type", "application/octet-stream")]
    if what != "a nested ZIP":  # a ZIP alone is read: only inside another it is not
        record(recorder, answer=data, answer_headers=binary)
    record(recorder, answer=zipped({"p1.log": b"INFO: done\n", "inner.bin": data}), answer_headers=binary)
    recorder.close()
    written = [json.loads(line) for line in (tmp_path / "t" / "tape.jsonl").read_text().splitlines()[1:]]
    assert all("body_file" not in line["response"] for line in written)
    assert all("the audit cannot look into" in line["response"]["note"] for line in written)
    assert not (tmp_path / "t" / "bodies").exists()


@pytest.mark.parametrize("what", ["bzip2", "a nested ZIP"])
def test_the_audit_does_not_pass_a_member_it_cannot_look_into(tmp_path: Path, what: str) -> None:
    (tmp_path / "log.zip").write_bytes(zipped({"p1.log": b"INFO: done\n", "inner.bin": OPAQUE[what]}))
    found = leaks(tmp_path, {b"hunter2-secret": "a kind"})
    assert (
        found.unread and "log.zip (inner.bin) is" in found.unread[0] and "cannot look into" in found.unread[0]
    )


def test_the_audit_inflates_the_gzip_members_of_a_zip(tmp_path: Path) -> None:
    (tmp_path / "log.zip").write_bytes(stored({"p1.log.gz": gzip.compress(b"login hunter2-secret\n")}))
    assert leaks(tmp_path, {b"hunter2-secret": "a kind"}).leaks == (
        "a kind in log.zip (p1.log.gz) (inflated)",
    )


def many_entries(count: int) -> bytes:
    """A ZIP whose directory lists ``count`` empty members."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:
        for number in range(count):
            out.writestr(f"{number}", b"")
    return archive.getvalue()


def test_a_zip_of_many_entries_is_refused_from_its_end_record_before_zipfile_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The regression: the audit built a ZipFile of 121,835 entries (+65 MB, 0.77 s) before it
    counted them; the one ZIP gate (limits.open_zip) reads the end record first."""
    (tmp_path / "many.zip").write_bytes(many_entries(300))

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("zipfile.ZipFile was built for a ZIP the gate refuses")

    monkeypatch.setattr(zipfile, "ZipFile", never)
    found = leaks(tmp_path, {b"needle-1": "a kind"})
    assert len(found.unread) == 1
    assert found.unread[0].startswith("many.zip could not be looked through: its directory lists 300 members")
