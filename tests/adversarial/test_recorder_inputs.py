"""Whatever an exchange holds, ``Recorder.record`` does not raise, and what it writes is a line the
tape reader (``scenario-from``) reads back."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server.recording.tape import Recorder, SecretLeaked, TapeRequest, TapeResponse
from mock_server.recording.tape_reader import open_tape
from tests.support.hypothesis_profiles import examples

UPSTREAM = "http://author.example:4502"
HEADER_NAMES = ["Content-Type", "Content-Encoding", "Location", "Authorization", "Cookie", "Set-Cookie",
                "CSRF-Token", "X-Api-Key", "Accept", "Content-Disposition"]  # fmt: skip
CONTENT_TYPES = ["application/json", "application/json; charset=utf-16", "text/plain; charset=latin-1",
                 "text/plain; charset=nonsense", "multipart/form-data; boundary=☃", "multipart/form-data",
                 "application/x-www-form-urlencoded", "application/zip", "application/gzip",
                 "text/html"]  # fmt: skip

texts = st.text(max_size=40)
ODD_VALUES = ["http://[::1/x?token=abc", "Basic ☃", "Bearer x y", "Basic dXM6cA==", "gzip", "deflate", "br"]
header_values = st.one_of(texts, st.sampled_from(CONTENT_TYPES), st.sampled_from(ODD_VALUES))
headers = st.lists(st.tuples(st.sampled_from(HEADER_NAMES) | texts, header_values), max_size=5)
bodies = st.one_of(
    st.binary(max_size=200),
    texts.map(str.encode),
    st.sampled_from(['{"password": "x\\ud800"}', '{"a": NaN}', "password:\n  x\n", "<token>", "%3D%25"]).map(
        str.encode
    ),
    st.binary(max_size=100).map(gzip.compress),
    texts.map(lambda text: text.encode("utf-16")),
)
paths = st.one_of(texts.map(lambda text: "/" + text), st.just("/x;jsessionid=\ud800/y"))


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    request_headers=headers, response_headers=headers, path=paths, query=texts,
    request_body=bodies, response_body=bodies, status=st.integers(100, 599),
)  # fmt: skip
def test_no_input_makes_the_recorder_raise(
    request_headers: list[tuple[str, str]], response_headers: list[tuple[str, str]], path: str, query: str,
    request_body: bytes, response_body: bytes, status: int,
) -> None:  # fmt: skip
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary) / "tape"
        recorder = Recorder(directory, UPSTREAM)
        request = TapeRequest("POST", path, query, request_headers, request_body)
        recorder.record("start", request, TapeResponse(status, response_headers, response_body), 0)
        assert recorder.exchanges + recorder.skipped == 1
        try:
            recorder.close()
        except SecretLeaked:  # a header's value echoed in a body: the audit's to find
            return
        with open_tape(directory) as tape:
            taped = list(tape.exchanges())
        assert len(taped) == recorder.exchanges
