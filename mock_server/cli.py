"""The command line (also ``python -m mock_server``)::

aem-guides-mock serve [--host H] [--port P] [--speed F] [--clock real|manual|per-poll[:STEP]] [--vary SEED]
                      [--scenario NAME|PATH [--watch]] [--ready-file PATH] [--verbose] [--quiet]
                      [--max-sessions N] [--session-ttl DURATION] [--sessions-bytes BYTES] [--state FILE]
aem-guides-mock check [--strict] FILE...
aem-guides-mock scenarios
aem-guides-mock proxy --upstream URL [--host H] [--port P] [--record DIR [--redact POINTER|NAME]...]
                      [--ready-file PATH] [--verbose]
aem-guides-mock scenario-from TAPE -o FILE [--force]

Every command exits 0 ok, 1 findings, 2 usage, 3 setup or I/O error (:mod:`.exits`).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .console import ViolationPrinter
from .core.errors import ScenarioError, ScenarioUnreadable, SettingError
from .core.sessions import SessionLimits, ttl_seconds
from .core.settings import add_flags, flag_changes
from .core.state import StateError
from .devserver import run
from .exits import CliError, Exit, fail, url_option
from .http.app import app_for
from .http.connections import raise_file_limit
from .http.options import build_mock
from .http.persist import keep_state
from .http.runtime import MOCK, Mock
from .http.tls import Tls, TlsError, local_ca, own_certificate, write_ca
from .scenarios.reading import load_scenario, parse_scenario, read_file, shipped_scenarios
from .verify import command as verify_command

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["main"]

#: ``serve --state FILE``'s variable (a container's CMD need not be repeated to add it).
STATE_VARIABLE = "AEM_GUIDES_MOCK_STATE"


def _mebibytes(text: str) -> int:
    """``--max-tape``: at most what ``scenario-from`` reads (256 MiB), which is also what the audit
    was measured to finish within its deadline at stop (bench/bench_audit.py)."""
    from .recording.tape import MAX_TAPE_BYTES

    most = MAX_TAPE_BYTES // 2**20
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of MiB from 1 to {most} (what scenario-from reads), got {text!r}"
        )
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _ttl(text: str) -> float:
    try:
        return ttl_seconds(text)
    except SettingError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="aem-guides-mock",
        description="A contract-validating mock of AEM Guides' bulk asset processing API.",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the dev server (default scenario: the embedded default)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    serve.add_argument("--port", type=_port, default=4502, help="port (default 4502; 0 picks one)")
    add_flags(serve)  # --speed, --clock, --vary: from the settings' metadata
    serve.add_argument("--scenario", metavar="NAME|PATH", help="a shipped scenario or a scenario file")
    serve.add_argument("--watch", action="store_true", help="reload the scenario file when it changes")
    serve.add_argument(
        "--ready-file", type=Path, metavar="PATH",
        help="write the base URL to PATH once the server accepts connections (for harnesses)",
    )  # fmt: skip
    serve.add_argument(
        "--max-sessions", type=_count, metavar="N",
        help="sessions at most besides the default one (default 1000; AEM_GUIDES_MOCK_MAX_SESSIONS)",
    )  # fmt: skip
    serve.add_argument(
        "--session-ttl", type=_ttl, metavar="DURATION",
        help="drop a session no request used for this long, such as 30m (the default) or 2h "
        "(AEM_GUIDES_MOCK_SESSION_TTL)",
    )  # fmt: skip
    serve.add_argument(
        "--sessions-bytes", type=_count, metavar="BYTES",
        help="bytes of jobs and journal all sessions keep at most, shared evenly (default 1 GiB; "
        "AEM_GUIDES_MOCK_SESSIONS_BYTES)",
    )  # fmt: skip
    serve.add_argument(
        "--state", type=Path, metavar="FILE",
        help="keep sessions, jobs, clocks, fault counters and the journal in FILE (SQLite) across restarts; "
        "without it (or AEM_GUIDES_MOCK_STATE) nothing is written",
    )  # fmt: skip
    serve.add_argument(
        "--tls", action="store_true",
        help="serve HTTPS with a certificate from a test CA made at start (needs aem-guides-mock[tls]); "
        "the CA is written to --tls-ca-out and named in the banner",
    )  # fmt: skip
    serve.add_argument(
        "--tls-ca-out", type=Path, metavar="PATH",
        help="with --tls, write the test CA's certificate (PEM) here (default: a file in the temp folder)",
    )  # fmt: skip
    serve.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve HTTPS with this certificate chain")
    serve.add_argument("--tls-key", type=Path, metavar="PEM", help="the private key of --tls-cert")
    serve.add_argument("--verbose", action="store_true", help="log every request")
    serve.add_argument(
        "--quiet", action="store_true",
        help="print no line per contract violation (by default each is one line, 20 a second at most)",
    )  # fmt: skip
    check = commands.add_parser(
        "check", help="check scenario files: exit 1 listing every problem; warnings too (exit 0)"
    )
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument("files", nargs="+", metavar="FILE")
    commands.add_parser("scenarios", help="list the shipped scenarios")
    verify_command.add_parser(commands)
    _add_proxy_parser(commands)
    taped = commands.add_parser("scenario-from", help="write a scenario from a recorded tape, then check it")
    taped.add_argument("tape", metavar="TAPE", help="the tape's directory or its tape.jsonl")
    taped.add_argument(
        "-o", "--output", required=True, type=Path, metavar="FILE",
        help="where to write it: whole or not at all (a link's file is written, the link kept); a FIFO or "
        "a device such as /dev/stdout is written as it comes, and may be left partial on an error",
    )  # fmt: skip
    taped.add_argument("--force", action="store_true", help="overwrite FILE if it exists (a FIFO needs none)")
    return top


def _serve(args: argparse.Namespace) -> int:
    if args.ready_file is not None:  # stale from an earlier run: never left behind, not even on an error
        args.ready_file.unlink(missing_ok=True)
    raise_file_limit()  # a shell's low default (256 on macOS) would cap the connections served at once
    try:
        scenario = load_scenario(args.scenario) if args.scenario else None
    except ScenarioUnreadable as error:
        return fail(error, Exit.SETUP)
    except ScenarioError as error:
        return fail(error, Exit.USAGE)
    watch = None
    if args.watch:
        if scenario is None or args.scenario in shipped_scenarios():
            return fail("--watch needs --scenario PATH (a file of yours)", Exit.USAGE)
        watch = Path(args.scenario)
    try:
        limits = SessionLimits.from_environment(
            os.environ,
            max_sessions=args.max_sessions,
            ttl_s=args.session_ttl,
            total_bytes=args.sessions_bytes,
        )
        mock = build_mock(scenario, clock="real", environ=os.environ, overrides=flag_changes(args))
        app = app_for(mock, sessions=limits)
        if not args.quiet:
            app[MOCK].journal.on_violation = ViolationPrinter(sys.stdout)
    except (SettingError, ScenarioError) as error:
        return fail(error, Exit.USAGE)
    try:  # before the state file: flags that cannot serve must not migrate it first
        tls, ca_path, made_ca = _tls(args)
    except TlsError as error:
        return fail(error, Exit.SETUP)
    except ValueError as error:
        return fail(error, Exit.USAGE)
    try:
        return _serve_app(app, args, watch, tls, ca_path)
    finally:
        if made_ca is not None:  # a CA folder of ours in the temp folder: gone with the server
            shutil.rmtree(made_ca, ignore_errors=True)


def _serve_app(
    app: web.Application, args: argparse.Namespace, watch: Path | None, tls: Tls | None, ca_path: Path | None
) -> int:
    state = args.state or (Path(os.environ[STATE_VARIABLE]) if os.environ.get(STATE_VARIABLE) else None)
    if state is not None:
        gc.disable()  # a restore makes objects by the 100,000 and frees none: collections would cost 40 %
        try:
            keep_state(app, state)
        except StateError as error:
            return fail(error, Exit.SETUP)
        finally:
            gc.enable()
    # The process is the mock's here, and only here: the garbage collector is tuned for it (never
    # at import, in MockServer or in the pytest plugin, which run inside a user's process).
    # What startup built (schemas, validators, the repository) lives as long as the server: frozen,
    # no collection walks it again, which keeps each full collection, and so each poll, cheap.
    # Reference counting still frees it; only a cycle among it (none is made) would stay.
    app[MOCK].pause_collector = True
    gc.collect()
    gc.freeze()
    return run(app, args.host, args.port, access_log=args.verbose, watch=watch,
               ready_file=args.ready_file, tls=tls, ca_path=ca_path)  # fmt: skip


def _tls(args: argparse.Namespace) -> tuple[Tls | None, Path | None, Path | None]:
    """HTTPS as the flags ask (None: plain HTTP), the test CA's file, and the folder of its own made
    for it in the temp folder when no path was given (removed at exit). ValueError for flags that
    do not go together; TlsError for a file or package."""
    own = args.tls_cert is not None or args.tls_key is not None
    if own and (args.tls_cert is None or args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together: give the certificate chain and its key")
    if own and (args.tls or args.tls_ca_out is not None):
        raise ValueError("--tls (a test CA) or --tls-cert/--tls-key (your certificate): one of them")
    if own:
        return own_certificate(args.tls_cert, args.tls_key), None, None
    if args.tls_ca_out is not None and not args.tls:
        raise ValueError("--tls-ca-out needs --tls")
    if not args.tls:
        return None, None, None
    tls = local_ca([args.host])
    if args.tls_ca_out is not None:
        return tls, write_ca(tls, args.tls_ca_out), None
    folder = Path(tempfile.mkdtemp(prefix="aem-guides-mock-tls-"))  # private (0700), never a guessed name
    try:
        return tls, write_ca(tls, folder / "ca.pem"), folder
    except TlsError:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _check(files: Sequence[str], strict: bool) -> int:
    """Every problem of every file (exit 1; 3 if a file could not be read at all), then what ``serve``
    would warn about (exit 0, or 1 with ``--strict``), with the settings ``serve`` would use (the
    environment's included)."""
    unreadable = 0
    problems: list[str] = []
    warnings: list[str] = []
    loaded = []
    for name in files:
        try:
            scenario = read_file(Path(name))
            warnings += Mock(scenario, environ=os.environ).warnings
        except ScenarioError as error:
            problems += error.problems
            unreadable += isinstance(error, ScenarioUnreadable)
        except SettingError as error:
            problems.append(f"{name}: {error}")
        else:
            loaded.append((name, scenario))
    for line in (*problems, *warnings):
        print(line)
    if problems:
        said = f"{len(problems)} problem(s) in {len(files)} file(s)"
        if unreadable:
            return fail(f"{said}; {unreadable} file(s) could not be read", Exit.SETUP)
        print(said, file=sys.stderr)
        return Exit.FINDINGS
    for name, scenario in loaded:
        print(f"ok: {name} ({scenario.name}): {scenario.description}")
    if warnings:
        print(f"{len(warnings)} warning(s)" + (" (--strict: failing)" if strict else ""), file=sys.stderr)
    return Exit.FINDINGS if warnings and strict else Exit.OK


def _scenario_from(tape: str, output: Path, force: bool, **caps: Any) -> int:
    """Write the scenario the tape shows (exit 2 for an existing FILE without ``--force``, 3 for a
    tape that cannot be read or a FILE that cannot be written), then run ``check`` on it: exit 1
    with its report if the result does not load.

    The file is written whole or not at all (a temporary file beside it, renamed at the end): a tape
    that fails, whatever the failure, leaves no file and an existing FILE (``--force``) untouched. A
    symbolic link's file is the one written. A stream (a FIFO, ``/dev/stdout``) is written directly,
    without ``--force``, and checked from the text written; the summary then goes to stderr.
    ``caps``: what :func:`~.recording.tape_reader.open_tape` takes (``max_bytes``…) and ``caps``
    (a :class:`~.recording.tape_jobs.Caps`), for tests that need small ones.
    """
    from .recording.scenario_yaml import is_stream, write_whole
    from .recording.tape_reader import TapeError, open_tape
    from .recording.to_scenario import scenario_from_tape

    def shown(text: object) -> str:  # a file name that is not UTF-8 (lone surrogates) printed as escapes
        encoding = sys.stdout.encoding or "utf-8"
        return str(text).encode(encoding, "backslashreplace").decode(encoding)

    if output.exists() and not force and not is_stream(output):
        return fail(f"{output} exists; pass --force to overwrite it", Exit.USAGE)
    jobs_caps = {"caps": caps.pop("caps")} if "caps" in caps else {}
    try:
        with open_tape(tape, **caps) as opened:
            generated = scenario_from_tape(opened, **jobs_caps)
        whole = write_whole(output, generated.text)
    except TapeError as error:
        return fail(error, Exit.SETUP)
    except OSError as error:
        return fail(f"cannot write {output}: {error.strerror or error}", Exit.SETUP)
    except Exception as error:  # a bug of ours, not a traceback: said, and nothing written
        return fail(f"scenario-from failed on {tape} ({type(error).__name__}: {error}); nothing was "
                    "written. Please report it with the tape", Exit.SETUP)  # fmt: skip
    try:  # what `check` does: load it as `serve` would, and say what would never happen
        scenario = read_file(output) if whole else parse_scenario(generated.text, str(output), output.stem)
        warnings = Mock(scenario, environ=os.environ).warnings
    except (ScenarioError, SettingError) as error:
        print(error, file=sys.stderr)
        return fail(f"{output} was written but fails the check", Exit.FINDINGS)
    for warning in warnings:
        print(warning, file=sys.stderr)
    said = shown(f"wrote {output} from {tape}: {generated.summary()}")
    print(said, file=sys.stdout if whole else sys.stderr)  # a stream may be stdout: not into the scenario
    return Exit.OK


def _add_proxy_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .recording.tape import DEFAULT_POINTERS, MAX_TAPE_BYTES

    proxy = commands.add_parser(
        "proxy", help="forward to a real author, check both directions against the contract, record a tape"
    )
    proxy.add_argument(
        "--upstream",
        required=True,
        type=url_option,
        metavar="URL",
        help="the author to forward to, such as http://localhost:4502 (no credentials)",
    )
    proxy.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    proxy.add_argument("--port", type=_port, default=4503, help="port (default 4503; 0 picks one)")
    proxy.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help="write a tape to DIR (new or empty); audited for secrets on stop, and deleted if one leaked",
    )
    proxy.add_argument(
        "--redact",
        action="append",
        default=[],
        type=_redacted,
        metavar="POINTER|NAME",
        help="also redact the JSON value at POINTER (/a/b) in every body, or every value of a field, "
        "parameter or header called NAME, as the documented secret names are (repeatable; always: "
        f"{', '.join(DEFAULT_POINTERS)} and those names)",
    )
    proxy.add_argument(
        "--max-tape", type=_mebibytes, default=MAX_TAPE_BYTES // 2**20, metavar="MIB",
        help="stop recording once the tape takes MIB mebibytes (default 256: what scenario-from reads); "
        "the proxy goes on forwarding",
    )  # fmt: skip
    proxy.add_argument("--ready-file", type=Path, metavar="PATH",
                       help="write the base URL to PATH once the proxy accepts connections")  # fmt: skip
    proxy.add_argument("--verbose", action="store_true",
                       help="log more, such as where the recorder failed on an exchange")  # fmt: skip


def _redacted(text: str) -> str:
    """A JSON pointer (``/auth/password``) or a field name (``x-my-secret``), as ``--redact`` takes."""
    from .recording.tape import parse_pointer

    try:
        if text.startswith("/"):
            parse_pointer(text)
        elif not (text.strip() and len(text) <= 200 and text.isprintable()) or set(text) & set('=&;,"\\'):
            raise ValueError(
                f"{text[:100]!r} is no JSON pointer (such as /auth/password) nor a field name (such as "
                "x-my-secret: printable, at most 200 characters, without = & ; , or quotes)"
            )
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


#: A stop of the proxy is over within this many seconds of the signal, whatever is in flight.
PROXY_STOP_S = 5.0
#: What the stop leaves of :data:`PROXY_STOP_S` for the process's own end (the loop's and the
#: interpreter's): the recorder's audit must be over this long before.
_EXIT_MARGIN_S = 0.5


def _recording_notice(pointers: list[str], names: list[str]) -> str:
    """What ``proxy --record`` says once at its start: what it will redact, and the one login a
    tape cannot hold (docs/tools.md, "Tapes without secrets")."""
    added = [*names, *(p for p in pointers if p != "/token")]
    return (
        "aem-guides-mock: recording redacts the Basic password (and user:password), Bearer tokens, "
        "cookies, CSRF tokens, the values of secret-named fields, parameters and headers (password, "
        "token, key, pwd, sig, session…)"
        + (f", and what --redact added: {', '.join(added)}" if added else "")
        + ". A Basic user name is kept (an author echoes it in createdBy), unless it is its own password "
        "(admin:admin): then it is written as [user:1] wherever it stands alone, and found anywhere else "
        "(inside a path such as /content/dam/admin) the audit deletes the tape: record with a login whose "
        "password is no word of the author's content."
    )


def _proxy(args: argparse.Namespace) -> int:
    """Serve the proxy until SIGINT, SIGTERM or SIGHUP; then close the recording and audit it.

    The stop keeps within :data:`PROXY_STOP_S` of the signal: the exchanges in flight have 2 s to
    end, the rest are cut (one warning line says how many); the worker has 1 s to write the tape's
    last line; the audit has what is left, less a margin for the exit. Exit 0 after a stop; 1 when
    a secret leaked into the recording (which is deleted); 2 for a bad flag; 3 when it cannot start
    (a recording directory in use, a port taken) or the recording could not be audited."""
    import asyncio
    import signal
    import time

    from .http.proxy import PROXY, Proxy, proxy_app
    from .http.serving import start_site
    from .recording.tape import DEFAULT_POINTERS, Recorder, RecordingError, SecretLeaked

    ready: Path | None = args.ready_file
    if ready is not None:  # stale from an earlier run: never left behind
        ready.unlink(missing_ok=True)
    try:
        pointers = [*DEFAULT_POINTERS, *(given for given in args.redact if given.startswith("/"))]
        names = [given for given in args.redact if not given.startswith("/")]
        recorder = (
            Recorder(args.record, args.upstream, pointers, names=names, max_tape_bytes=args.max_tape * 2**20)
            if args.record
            else None
        )
    except (RecordingError, OSError) as error:
        return fail(error, Exit.SETUP)
    if recorder is not None:
        print(_recording_notice(pointers, names), file=sys.stderr, flush=True)

    signalled: list[float] = []  # when the first stop signal came (time.monotonic())
    proxy: Proxy | None = None

    def on_signal(stop: asyncio.Event) -> None:
        if not signalled:  # a second signal does not move the deadline
            signalled.append(time.monotonic())
        stop.set()

    async def serve() -> None:
        nonlocal proxy
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            asyncio.get_running_loop().add_signal_handler(signum, on_signal, stop)
        app = proxy_app(args.upstream, recorder=recorder)
        proxy = app[PROXY]
        runner, url = await start_site(app, args.host, args.port)
        try:
            taped = f", recording to {args.record}" if args.record else ""
            journal = f"{url}/__admin/journal and {url}/__admin/violations"
            print(f"aem-guides-mock proxy at {url} -> {args.upstream}{taped}", flush=True)
            print(f"  journal: {journal}\nPress Ctrl-C to stop.", flush=True)
            if ready is not None:  # written whole, then renamed: a reader never sees half a URL
                ready.with_name(ready.name + ".partial").write_text(url + "\n", encoding="utf-8")
                ready.with_name(ready.name + ".partial").replace(ready)
            await stop.wait()
        finally:
            await runner.cleanup()

    status = 0
    try:
        asyncio.run(serve())
    except OSError as error:
        status = fail(f"cannot listen on {args.host}:{args.port}: {error.strerror}", Exit.SETUP)
    finally:
        if ready is not None:
            ready.unlink(missing_ok=True)
    if recorder is not None:
        if proxy is not None and proxy.worker is not None and not proxy.worker.idle:
            return fail(f"the stop's time was up while a line was still being written to the tape: the "
                        f"recording in {args.record} is left unaudited, as its .partial file; do not share "
                        "it", Exit.SETUP)  # fmt: skip
        stop_by = (signalled[0] if signalled else time.monotonic()) + PROXY_STOP_S - _EXIT_MARGIN_S
        try:
            audit = recorder.close(deadline=max(0.0, stop_by - time.monotonic()))
            print(f"recording closed: {audit.summary()}", flush=True)
        except SecretLeaked as error:
            return fail(error, Exit.FINDINGS)
    return status


def _list() -> int:
    shipped = shipped_scenarios()
    width = max(map(len, shipped), default=0)
    status = 0
    for name, path in shipped.items():
        try:
            print(f"{name:<{width}}  {read_file(path).description}")
        except ScenarioError as error:
            print(f"{name:<{width}}  BROKEN: {error}")
            status = Exit.FINDINGS
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code is one of :class:`~.exits.Exit` (argparse's usage errors exit 2)."""
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "check":
            return _check(args.files, args.strict)
        if args.command == "scenarios":
            return _list()
        if args.command == "verify":
            return verify_command.run(args)
        if args.command == "proxy":
            return _proxy(args)
        if args.command == "scenario-from":
            return _scenario_from(args.tape, args.output, args.force)
        return _serve(args)
    except BrokenPipeError:  # `aem-guides-mock scenarios | head -2`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return Exit.OK
    except CliError as error:
        return fail(error, error.code)
    except OSError as error:  # a file no command expected to fail on (a --ready-file…): said, not a traceback
        where = f" ({error.filename})" if error.filename else ""
        return fail(f"{error.strerror or error}{where}", Exit.SETUP)
