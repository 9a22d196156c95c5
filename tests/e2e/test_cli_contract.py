"""One CLI contract: every command exits 0 ok, 1 findings, 2 usage, 3 setup or I/O error, says an error
as ``aem-guides-mock: <message>`` (argparse's own for usage), and never ends in a traceback.

Run as a user runs it (a real process) where the exit code is what is checked. Codes covered elsewhere:
serve 0 (test_cli: a signal stops it), check 0 and 1 (test_cli), verify 0 / 1 / 3 from the plan
(test_verify), proxy 0 and 1 (test_proxy_stop, test_no_secret_in_tape), scenario-from 0 and 1
(test_to_scenario, test_round_trip).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mock_server.console import MAX_LINE, MAX_PER_SECOND, ViolationPrinter, violation_line
from mock_server.core.errors import Violation
from mock_server.core.journal import Exchange
from mock_server.exits import check_url
from tests.support.constants import BASE
from tests.support.dev_server import MODULE, read_line, serving, stop

OK, FINDINGS, USAGE, SETUP = 0, 1, 2, 3


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MODULE, *args], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def said(result: subprocess.CompletedProcess[str], code: int, phrase: str) -> None:
    """The process exited ``code`` and said ``phrase`` on stderr, without a traceback."""
    assert result.returncode == code, result.stderr[-2000:]
    assert phrase in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr


# --- URLs: one rule for verify --target and proxy --upstream ----------------------------------------

BAD_URLS = [
    ("ftp://author", "is not an http or https URL"),
    ("author.example.com", "is not an http or https URL"),
    ("http://", "names no host"),
    ("http://author:99999", "is not a URL"),
    ("http://author:0", "port 0"),
    ("http://admin:s3cr3t@author", "holds credentials"),
    ("http://author/?debug=1", "a query or fragment"),
    ("http://author/#top", "a query or fragment"),
]


@pytest.mark.parametrize(("command", "option"), [("verify", "--target"), ("proxy", "--upstream")])
@pytest.mark.parametrize(("url", "phrase"), BAD_URLS)
def test_a_bad_url_is_a_usage_error_naming_the_option(
    command: str, option: str, url: str, phrase: str
) -> None:
    result = cli(command, option, url, *(["--dry-run"] if command == "verify" else []))
    said(result, USAGE, f"argument {option}: ")
    assert phrase in result.stderr and "s3cr3t" not in result.stderr


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://localhost:4502", "http://localhost:4502"),
        ("https://author.example.com/", "https://author.example.com"),
        ("https://author.example.com/aem/", "https://author.example.com/aem"),  # a path: a prefix, kept
        ("http://[::1]:4502", "http://[::1]:4502"),
    ],
)
def test_a_good_url_is_kept_as_the_base(url: str, base: str) -> None:
    assert check_url(url) == base


# --- each command's usage (2) and setup or I/O (3) codes ------------------------------------------


def test_serve_a_scenario_file_that_cannot_be_read_is_3_and_an_unknown_name_2(tmp_path: Path) -> None:
    said(cli("serve", "--port", "0", "--scenario", str(tmp_path / "gone.yaml")), SETUP, "cannot read it")
    said(cli("serve", "--port", "0", "--scenario", str(tmp_path)), SETUP, "cannot read it")  # a folder
    said(cli("serve", "--scenario", "no-such-one"), USAGE, "no such scenario file or shipped scenario")
    bad = tmp_path / "bad.yaml"
    bad.write_text("description: d\nclock: never\n")
    said(cli("serve", "--port", "0", "--scenario", str(bad)), USAGE, "clock: expected")


def test_serve_a_ready_file_that_cannot_be_written_is_3(tmp_path: Path) -> None:
    result = cli("serve", "--port", "0", "--ready-file", str(tmp_path / "no" / "such" / "ready"))
    said(result, SETUP, f"aem-guides-mock: cannot write {tmp_path / 'no' / 'such' / 'ready'}")


def test_check_a_file_that_cannot_be_read_is_3_and_no_file_is_2(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("description: fine\n")
    said(cli("check", str(good), str(tmp_path / "gone.yaml")), SETUP, "1 file(s) could not be read")
    said(cli("check"), USAGE, "the following arguments are required: FILE")


def test_scenarios_a_stray_argument_is_2_and_a_broken_shipped_one_is_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    said(cli("scenarios", "extra"), USAGE, "unrecognized arguments: extra")
    from mock_server import cli as module

    (tmp_path / "broken.yaml").write_text("description: d\nclock: never\n")
    monkeypatch.setattr(module, "shipped_scenarios", lambda: {"broken": tmp_path / "broken.yaml"})
    assert module.main(["scenarios"]) == FINDINGS
    assert "broken  BROKEN:" in capsys.readouterr().out


def test_verify_an_unwritable_report_or_an_unreachable_target_is_3(tmp_path: Path) -> None:
    result = cli("verify", "--target", "http://127.0.0.1:9", "--report", "json=/nonexistent/x.json")
    said(result, SETUP, "aem-guides-mock: verify: cannot write a report to /nonexistent/x.json")
    said(cli("verify", "--target", "http://127.0.0.1:9", "--report", "xml=x"), USAGE, "give json=FILE")
    report = tmp_path / "r.json"
    readonly = ("--profile", "readonly", "--report", f"json={report}")
    result = cli("verify", "--target", "http://127.0.0.1:9", *readonly)
    assert result.returncode == SETUP and '"exitCode": 3' in report.read_text(), result.stderr
    unset = cli("verify", "--target", "http://x", "--user", "u", "--password-env", "I22_UNSET")
    said(unset, SETUP, "is not set")


def test_proxy_a_recording_folder_in_use_or_a_busy_port_is_3(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep")
    said(cli("proxy", "--upstream", "http://127.0.0.1:9", "--record", str(tmp_path)), SETUP, "not an empty")
    said(cli("proxy", "--upstream", "http://127.0.0.1:9", "--port", "x"), USAGE, "expected a port")
    with serving() as (process, url, _):
        port = url.rsplit(":", 1)[1]
        said(cli("proxy", "--upstream", "http://127.0.0.1:9", "--port", port), SETUP, "cannot listen on")
        stop(process)


def test_scenario_from_an_existing_file_is_2_and_an_unreadable_tape_3(tmp_path: Path) -> None:
    output = tmp_path / "s.yaml"
    output.write_text("kept\n")
    said(cli("scenario-from", str(tmp_path / "tape"), "-o", str(output)), USAGE, "pass --force")
    target = str(tmp_path / "t.yaml")
    said(cli("scenario-from", str(tmp_path / "gone"), "-o", target), SETUP, "aem-guides-mock: ")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "tape.jsonl").write_text("[]\n")
    said(cli("scenario-from", str(tmp_path / "bad"), "-o", target), SETUP, "not a tape header")
    said(cli("scenario-from", str(tmp_path / "bad")), USAGE, "-o/--output")


# --- serve: one console line per violation --------------------------------------------------------


def test_serve_prints_one_line_per_violation_and_quiet_prints_none() -> None:
    import urllib.error
    import urllib.request

    from tests.support.constants import AUTH

    def send_bad(url: str) -> None:
        request = urllib.request.Request(f"{url}{BASE}", data=b'{"paht": "/x"}', headers=AUTH)
        request.add_header("Content-Type", "application/json")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 400
        refused.value.close()

    with serving() as (process, url, _):
        send_bad(url)
        line = read_line(process)
        assert line.startswith(f"violation: start POST {BASE} -> 400: body:/path: `path` is required"), line
        assert line.rstrip().endswith("more)") and len(line) <= MAX_LINE + 1
        stop(process)
    with serving("--quiet") as (process, url, _):
        send_bad(url)
        stop(process)
        rest = [read_line(process)]
        while not rest[-1].startswith("stopping"):  # what came after the banner, to the stop
            rest.append(read_line(process))
        assert not any("violation" in line for line in rest), rest


def _exchange(message: str = "m", listed: int = 1, more: int = 0) -> Exchange:
    found = tuple(Violation(f"body:/f{n}", message, "x") for n in range(listed))
    return Exchange(0, "POST", BASE, "", 400, "admin", "start", found, (), None, more)


def test_a_violation_line_is_one_line_bounded_and_counts_the_rest() -> None:
    line = violation_line(_exchange("a\nlong\tmessage " * 500, listed=3, more=4))
    assert "\n" not in line and "\t" not in line and len(line) <= MAX_LINE
    assert line.startswith(f"violation: start POST {BASE} -> 400: body:/f0: a long message")
    assert line.endswith("… (and 6 more)")
    assert violation_line(_exchange()) == f"violation: start POST {BASE} -> 400: body:/f0: m"


def test_the_printer_prints_at_most_its_rate_and_says_how_many_it_left_out() -> None:
    now = [0.0]
    out = io.StringIO()
    printer = ViolationPrinter(out, clock=lambda: now[0])
    for _ in range(MAX_PER_SECOND + 5):
        printer(_exchange())
    assert out.getvalue().count("\n") == MAX_PER_SECOND
    now[0] = 1.0
    printer(_exchange())
    lines = out.getvalue().splitlines()
    assert lines[-2].startswith("… 5 more violation(s) not printed") and lines[-1].startswith("violation:")


def test_a_console_that_fails_never_fails_the_request() -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    ViolationPrinter(Closed())(_exchange())  # no error


def test_the_readme_has_one_exit_code_table() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert readme.count("| Exit | Meaning |") == 1
    for row in ("| 0 | ok", "| 1 | findings", "| 2 | usage", "| 3 | setup or I/O error"):
        assert row in readme, row


if sys.platform == "win32":  # pragma: no cover
    pytest.skip("POSIX paths and signals", allow_module_level=True)
