"""Replicas behind a real load balancer: three ``serve --state`` processes behind Debian's nginx, run
with the shipped deploy/nginx/aem-guides-mock.conf, which routes by a consistent hash of the session
(its path prefix or its header). 200 sessions spread over the replicas, each on exactly one; every
request of a session lands on its replica; a replica killed (SIGKILL) and restarted serves its
sessions again from its ``--state`` file, while the other replicas' sessions never see an error.

Marked ``replicas``: left out unless ``-m replicas`` names it (tests/conftest.py); .ci/run installs
nginx-light and sets ``AEM_MOCK_REQUIRE_REPLICAS=1``, so that a missing nginx fails there instead
of skipping.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.constants import AUTH, BASE, START_22858
from tests.support.nginx import Replica, answers, cluster, nginx_binary
from tests.support.waiting import wait_until

_REASON = "nginx is not installed: apt-get install nginx-light (.ci/run does)"
if nginx_binary() is None and os.environ.get("AEM_MOCK_REQUIRE_REPLICAS") == "1":
    raise RuntimeError(_REASON)  # CI asked for the replica tests: never skip them silently
pytestmark = [pytest.mark.replicas, pytest.mark.skipif(nginx_binary() is None, reason=_REASON)]

SESSIONS = 200
HEADER = "X-Aem-Mock-Session"
#: Reads of each session's job through nginx (every one must land on the session's replica).
READS = 5


def _call(url: str, session: str | None = None, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    headers = {**AUTH, **({HEADER: session} if session else {})}
    data = json.dumps(body).encode() if body is not None else None
    if data is not None:
        headers["Content-Type"] = "application/json"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _base(url: str, name: str) -> tuple[str, str | None]:
    """Half the sessions are named by the path prefix, half by the header."""
    return (f"{url}/sessions/{name}", None) if int(name[-3:]) % 2 else (url, name)


def _status(url: str, name: str, job: str) -> tuple[int, Any]:
    base, header = _base(url, name)
    return _call(f"{base}{BASE}/status?processingId={job}", header)


def _held(replica: Replica) -> set[str]:
    status, listed = _call(f"{replica.url}/__admin/sessions")
    assert status == 200, listed
    return {s["name"] for s in listed["sessions"] if not s["default"]}


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Replica], dict[str, str]]]:
    """nginx's URL, the replicas, and a job started through nginx in each of 200 sessions (name: id)."""
    with cluster(tmp_path_factory.mktemp("replicas"), args=("--clock", "manual")) as (url, replicas):

        def start(n: int) -> tuple[str, str]:
            name = f"team-{n:03d}"
            base, header = _base(url, name)
            status, job = _call(f"{base}{BASE}", header, START_22858)
            assert status == 200, (name, status, job)
            return name, str(job["processingId"])

        with ThreadPoolExecutor(4) as pool:
            jobs = dict(pool.map(start, range(SESSIONS)))
        yield url, replicas, jobs


def test_each_session_lives_on_exactly_one_replica_and_the_spread_is_even(
    farm: tuple[str, list[Replica], dict[str, str]],
) -> None:
    _, replicas, jobs = farm
    held = [_held(r) for r in replicas]
    by_path = {name for name in jobs if _base("", name)[1] is None}
    where = Counter(name for names in held for name in names)
    missing, unknown = set(jobs) - set(where), set(where) - set(jobs)
    assert not missing and not unknown, f"sessions missing: {missing}, unknown: {unknown}"
    twice = sorted(name for name, count in where.items() if count > 1)
    assert not twice, f"sessions held by more than one replica (a request went astray): {twice}"
    counts = [(len(names & by_path), len(names - by_path)) for names in held]
    assert min(min(c) for c in counts) >= 10, (
        f"the sessions per replica (named by the path prefix, by the header), {counts}: the hash does not "
        "spread them"
    )


def test_every_request_of_a_session_lands_on_its_replica(
    farm: tuple[str, list[Replica], dict[str, str]],
) -> None:
    """Each job read back through nginx READS times finds it (a read on another replica would be a
    404 there, and make the session there); then each session is still on one replica, the one
    holding its job (read on it directly). The default session (no prefix, no header) too."""
    url, replicas, jobs = farm
    status, job = _call(f"{url}{BASE}", None, START_22858)
    default = [_call(f"{url}{BASE}/status?processingId={job['processingId']}")[0] for _ in range(10)]
    assert default == [200] * 10, f"the default session's job, read through nginx: {default}"

    def read(name: str) -> list[str]:
        wrong = []
        for _ in range(READS):
            status, found = _status(url, name, jobs[name])
            if status != 200 or found["processingId"] != jobs[name]:
                wrong.append(f"{name}: {status} {found!r:.120}")
        return wrong

    with ThreadPoolExecutor(4) as pool:
        wrong = [line for lines in pool.map(read, sorted(jobs)) for line in lines]
    assert not wrong, f"{len(wrong)} of {READS * len(jobs)} reads missed the session's job: {wrong[:5]}"
    owners = {name: [r for r in replicas if name in _held(r)] for name in jobs}
    strays = {name: [r.port for r in rs] for name, rs in owners.items() if len(rs) != 1}
    assert not strays, f"sessions on more than one replica after the reads: {strays}"
    for name, [owner] in sorted(owners.items())[::20]:
        status, found = _call(f"{owner.url}/sessions/{name}{BASE}/status?processingId={jobs[name]}")
        assert (status, found["processingId"]) == (200, jobs[name]), (name, owner.port)


def test_a_killed_replica_comes_back_with_its_sessions_and_the_others_never_notice(
    farm: tuple[str, list[Replica], dict[str, str]],
) -> None:
    url, replicas, jobs = farm
    victim = replicas[0]
    theirs = sorted(_held(victim))
    others = sorted(set(jobs) - set(theirs))
    assert theirs and others
    errors: list[str] = []
    reads = Counter[str]()
    stop = threading.Event()

    def poll_the_others(offset: int) -> None:
        n = offset
        while not stop.is_set():
            name = others[n % len(others)]
            status, found = _status(url, name, jobs[name])
            reads["others"] += 1
            if status != 200 or found["processingId"] != jobs[name]:
                errors.append(f"{name}: {status} {found!r:.120}")
            n += 7

    pollers = [threading.Thread(target=poll_the_others, args=(k,)) for k in range(2)]
    for poller in pollers:
        poller.start()
    try:
        wait_until(lambda: reads["others"] >= 20, "the others' polls under way")
        victim.kill()
        before = reads["others"]
        down, _ = _status(url, theirs[0], jobs[theirs[0]])
        assert down == 502, f"a session of the killed replica answered {down} (nginx must not move it)"
        wait_until(lambda: reads["others"] >= before + 50, "the others' polls while the replica is down")
        victim.start()  # the same port, the same --state file
        wait_until(lambda: answers(victim.url), "the restarted replica")
        after = reads["others"]
        wait_until(lambda: reads["others"] >= after + 20, "the others' polls after the restart")
    finally:
        stop.set()
        for poller in pollers:
            poller.join(timeout=15)
    failed = f"{len(errors)} of {reads['others']} polls of the other replicas' sessions failed"
    assert not errors, f"{failed}: {errors[:5]}"
    back = {name: _status(url, name, jobs[name]) for name in theirs}
    lost = {name: got for name, got in back.items() if got[0] != 200 or got[1]["processingId"] != jobs[name]}
    assert not lost, f"{len(lost)} of {len(theirs)} sessions of the restarted replica lost their job: {lost}"
    assert _held(victim) == set(theirs)


def test_a_session_made_through_nginx_with_its_header_is_made_on_its_replica(
    farm: tuple[str, list[Replica], dict[str, str]],
) -> None:
    """``POST /__admin/sessions`` is the server's route (the mock ignores the header there), so nginx
    sends it where the header says: the session made with its TTL is the one its requests find."""
    url, replicas, _ = farm
    for n in range(6):
        name = f"made-{n}"
        status, made = _call(f"{url}/__admin/sessions", name, {"name": name, "ttl": "2h"})
        assert status == 201, made
        status, job = _call(f"{url}/sessions/{name}{BASE}", None, START_22858)
        assert status == 200, job
        [(owner, shown)] = [
            (r, s)
            for r in replicas
            for s in _call(f"{r.url}/__admin/sessions")[1]["sessions"]
            if s["name"] == name
        ]
        assert shown["ttlSeconds"] == 7200, f"{name} on {owner.port} is not the one made: {shown}"
