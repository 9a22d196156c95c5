"""The ``verify`` subcommand's flags, and how they become a run (kept out of cli.py's way).

The run always ends in its report: the text summary on stdout and every ``--report`` file, whatever
went wrong, with exit 3 for a plan that could not run. A report that cannot be written is said on
stderr and makes the exit 3; its folder is checked before anything is sent.

SIGTERM (a CI job cancelled) and SIGINT (Ctrl-C) stop the plan, once: it is cancelled, the jobs it
started are cancelled within :attr:`~.Options.cleanup_s` (or named), and the report says it was
stopped (exit 3). The plan's event loop waits for no thread when it closes (:class:`_DaemonThreads`):
a name lookup stuck on an unresponsive DNS server cannot hold the exit past ``--timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from ..exits import Exit, fail, url_option
from . import Credentials, Options, Report, describe_plan, pace_scenario, verify
from .ims import fetch_token
from .target import SetupError

__all__ = ["add_parser", "run"]

_P = ParamSpec("_P")
_T = TypeVar("_T")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(text: str) -> float:
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: give such as 90s, 10m or 500ms")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def _rate(text: str) -> float:
    number = text.strip().removesuffix("/s")
    try:
        rate = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate: give such as 5/s") from None
    if not 0 < rate <= 1000:
        raise argparse.ArgumentTypeError(f"the rate must be above 0 and at most 1000/s, got {text!r}")
    return rate


def _report(text: str) -> str:
    kind, _, path = text.partition("=")
    if kind not in ("json", "junit") or not path:
        raise argparse.ArgumentTypeError(f"{text!r}: give json=FILE or junit=FILE")
    return text


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser(
        "verify",
        help="check a real AEM Guides author against the contract (exit 0 / 1 violation / 2 usage / "
        "3 setup error)",
    )
    cmd.add_argument(
        "--target", required=True, type=url_option, metavar="URL",
        help="the author, such as https://author.example.com (no credentials, query or fragment; a path "
        "is a prefix the API's paths are joined to)",
    )  # fmt: skip
    cmd.add_argument("--user", help="HTTP Basic user (the password comes from --password-env)")
    cmd.add_argument(
        "--password-env",
        default="AEM_PASSWORD",
        metavar="VAR",
        help="the environment variable holding the password (default AEM_PASSWORD)",
    )
    cmd.add_argument("--token-env", metavar="VAR", help="the environment variable holding a Bearer token")
    cmd.add_argument(
        "--ims-url", type=url_option, metavar="URL",
        help="get a Bearer token from this Adobe IMS first (POST URL/ims/token/v3, client_credentials), as "
        "a Cloud Service client does: https://ims-na1.adobelogin.com, or the mock's URL",
    )  # fmt: skip
    cmd.add_argument("--client-id", metavar="ID", help="with --ims-url: the OAuth server-to-server client id")
    cmd.add_argument(
        "--client-secret-env", default="IMS_CLIENT_SECRET", metavar="VAR",
        help="with --ims-url: the environment variable holding the client secret (default IMS_CLIENT_SECRET)",
    )  # fmt: skip
    cmd.add_argument(
        "--ims-scope", default="openid,AdobeID", metavar="SCOPES",
        help="with --ims-url: the scopes asked for, comma-separated (default openid,AdobeID)",
    )  # fmt: skip
    cmd.add_argument(
        "--sandbox",
        metavar="PATH",
        help="the only folder verify may start jobs on; without it verify starts none (the readonly plan)",
    )
    cmd.add_argument(
        "--profile",
        choices=("readonly", "safe"),
        default="safe",
        help="readonly sends GETs only; safe also starts, cancels and resumes jobs on the --sandbox",
    )
    cmd.add_argument(
        "--rate", type=_rate, default=5.0, metavar="N/s", help="requests per second at most (default 5/s)"
    )
    cmd.add_argument(
        "--timeout",
        type=_duration,
        default=600.0,
        metavar="DURATION",
        help="a hard limit on the whole command from its start, every request included (default 10m): "
        "the steps stop a tenth of it (5 s at most) before, which goes to cancelling the jobs they started",
    )
    cmd.add_argument(
        "--poll", type=_duration, default=1.0, metavar="DURATION", help="status poll interval (default 1s)"
    )
    cmd.add_argument("--report", type=_report, action="append", default=[], metavar="json=FILE|junit=FILE")
    cmd.add_argument(
        "--emit-settings", type=Path, metavar="FILE", help="write the observed pace as a scenario"
    )
    cmd.add_argument("--strict", action="store_true", help="exit 1 on undocumented findings too")
    cmd.add_argument("--dry-run", action="store_true", help="print the plan; send nothing")


def run(args: argparse.Namespace) -> int:
    options = Options(args.sandbox, args.profile, args.poll, timeout_s=args.timeout)
    if args.dry_run:
        print(describe_plan(args.target, options))
        return 0
    if args.ims_url:
        if args.token_env or args.user or not args.client_id:
            return fail("verify: --ims-url takes --client-id (and the secret in --client-secret-env), not "
                        "--user or --token-env", Exit.USAGE)  # fmt: skip
        secret = os.environ.get(args.client_secret_env)
        if not secret:
            return fail(
                f"verify: ${args.client_secret_env} is empty: export the client secret in it", Exit.SETUP
            )
        try:
            issued = fetch_token(args.ims_url, args.client_id, secret, args.ims_scope)
        except SetupError as error:
            return fail(f"verify: {error}", Exit.SETUP)
        credentials = Credentials(token=issued, token_env="IMS_ACCESS_TOKEN")
    elif args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            return fail(f"verify: ${args.token_env} is empty: export the Bearer token in it", Exit.SETUP)
        credentials = Credentials(token=token, token_env=args.token_env)
    elif args.user:
        password = os.environ.get(args.password_env)
        if password is None:
            say = f"${args.password_env} is not set: export {args.user}'s password in it"
            return fail(f"verify: {say}", Exit.SETUP)
        credentials = Credentials(args.user, password, args.password_env)
    else:
        credentials = Credentials()
    unwritable = [why for spec in args.report if (why := _unwritable(spec.partition("=")[2]))]
    if args.emit_settings is not None and (why := _unwritable(str(args.emit_settings))):
        unwritable.append(why)
    if unwritable:
        for why in unwritable:
            fail(f"verify: {why}; nothing was sent")
        return Exit.SETUP
    report, began = Report(args.target, options.profile, args.strict), time.monotonic() - _process_age()
    try:
        _run(
            report,
            verify(args.target, credentials, options, args.rate, args.strict, report=report, began=began),
        )
    except KeyboardInterrupt:  # Ctrl-C before the plan's signal handlers were in place
        report.stopped = report.stopped or "SIGINT"
    if report.stopped and "setup error" not in report.kinds():  # stopped before the plan ran, or after
        report.add("setup error", "plan", f"the run was stopped ({report.stopped}) before its end")
    print(report.summary())
    status = report.exit_code
    for spec in args.report:
        try:
            report.write(spec)
        except OSError as error:
            kind, _, path = spec.partition("=")
            status = fail(
                f"verify: cannot write the {kind} report {path}: {error.strerror or error}", Exit.SETUP
            )
    if args.emit_settings is not None and report.pace:
        try:
            args.emit_settings.write_text(pace_scenario(report), encoding="utf-8")
        except OSError as error:
            status = fail(f"verify: cannot write {args.emit_settings}: {error.strerror or error}", Exit.SETUP)
    return status


def _run(report: Report, plan: Coroutine[Any, Any, Report]) -> None:
    """Run ``plan`` on an event loop of its own whose default executor is :class:`_DaemonThreads`
    (asyncio.run on 3.11 waits without limit for the default executor's threads), until it ends or
    a signal stops it (:func:`_stoppable`)."""
    with asyncio.Runner() as runner:
        runner.get_loop().set_default_executor(_DaemonThreads())
        runner.run(_stoppable(report, plan))


async def _stoppable(report: Report, plan: Coroutine[Any, Any, Report]) -> None:
    """Await ``plan``; the first SIGTERM or SIGINT cancels it and is kept as :attr:`Report.stopped`.
    A later one does nothing: the clean-up the first one started is bounded (and a second Ctrl-C
    would only leave jobs running). In a thread other than the main one (a test calling ``main``) no
    handler can be set: a signal there is the process's."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None

    def stop(name: str) -> None:
        if not report.stopped:
            report.stopped = name
            task.cancel()

    handled = []
    for number in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(number, stop, number.name)
            handled.append(number)
        except (ValueError, RuntimeError, NotImplementedError):  # not the main thread; Windows
            pass
    try:
        await plan
    except asyncio.CancelledError:
        if not report.stopped:  # not ours: the loop is closing
            raise
    finally:
        for number in handled:
            loop.remove_signal_handler(number)


class _DaemonThreads(concurrent.futures.ThreadPoolExecutor):
    """An executor that runs each call in a daemon thread of its own and whose shutdown waits for none
    (the loop's default executor: aiohttp resolves names there, with ``getaddrinfo``). A lookup stuck on
    an unresponsive DNS server then holds neither the loop's close (asyncio.run on 3.11 waits for the
    default executor without limit) nor the interpreter's exit (which joins a pool's threads): the
    report is written and the process exits within ``--timeout``, the lookup's thread abandoned."""

    def submit(
        self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> concurrent.futures.Future[_T]:
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()

        def call() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as error:  # the caller's to see, as a pool's thread gives it
                future.set_exception(error)
            else:
                future.set_result(result)

        threading.Thread(target=call, name="verify-executor", daemon=True).start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to wait for, nothing queued: a call still running is abandoned with its thread."""


def _process_age() -> float:
    """Seconds since this process started, when it was started as ``aem-guides-mock verify`` (from
    /proc): then --timeout counts from the command's start, the interpreter's and the imports' time
    included. 0 in a process started for something else (a test run calling ``main``), or where /proc
    does not say."""
    if sys.argv[1:2] != ["verify"]:
        return 0.0
    try:
        ticks = int(Path("/proc/self/stat").read_text().rpartition(")")[2].split()[19])  # starttime
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return min(max(0.0, uptime - ticks / os.sysconf("SC_CLK_TCK")), 10.0)  # a sane age, whatever /proc says


def _unwritable(path: str) -> str | None:
    """Why a report cannot be written at ``path`` (checked before the run: not after ten minutes)."""
    file = Path(path)
    folder = file.parent
    if file.is_dir():
        return f"cannot write a report to {path}: it is a folder"
    if not folder.is_dir():
        return f"cannot write a report to {path}: the folder {folder} does not exist"
    if not os.access(folder, os.W_OK | os.X_OK) or (file.exists() and not os.access(file, os.W_OK)):
        return f"cannot write a report to {path}: permission denied"
    return None
