"""The pytest plugin, tested as a user meets it: through pytester, failure text included."""

from __future__ import annotations

import pytest

CLIENT = """
import json, urllib.request, urllib.error

def call(mock, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(mock.base_url + path, data=data, headers=mock.headers)
    if data:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)

def system_status(mock):
    request = urllib.request.Request(mock.url + "/bin/guides/v1/system/status", headers=mock.headers)
    with urllib.request.urlopen(request) as response:
        return json.load(response)
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(client=CLIENT)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


def test_a_client_that_keeps_the_contract_passes(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        from client import call

        def test_start_and_poll(aem_mock):
            status, body = call(aem_mock, "", {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"})
            assert status == 200
            aem_mock.advance(2)
            status, job = call(aem_mock, "/status?processingId=" + body["processingId"])
            assert job["status"] == "SUCCESS" and job["triggeredCount"] == 6
            assert [j["status"] for j in aem_mock.jobs] == ["SUCCESS"]
            assert len(aem_mock.journal) == 2 and aem_mock.violations == []
        """
    )
    suite.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_strict_mode_fails_the_test_naming_request_field_schema_and_opt_out(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        from client import call

        def test_typo(aem_mock):
            status, body = call(aem_mock, "", {"path": "/content/dam", "type": "ASSET_PROCESSING",
                                               "excludePaths": ["/content/dam/demo"]})
            assert status == 400   # the test itself passes: the mock answered as the contract says
        """
    )
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_typo*",
            "*aem-guides-mock: the client under test broke the API contract (1 violation in 1 request):",
            "*1. POST /bin/guides/v1/assets/process -> 400",
            "*body:/excludePaths: `excludePaths` is not a field of the start request "
            "(did you mean `excludedPaths`?)",
            '*the schema wants: one of path, excludedPaths, type, filter  {"properties":*',
            '*the request had:  ?"/content/dam/demo"?',  # fnmatch reads [ ] as a class
            "*@pytest.mark.aem_strict(False)*aem_mock.strict = False*--aem-no-strict*",
        ]
    )


def test_strict_warnings_fails_a_test_on_what_the_contract_does_not_promise(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest
        from client import call

        def test_default(aem_mock):   # warnings do not fail a test by default
            assert call(aem_mock, "/history?size=5")[0] == 200

        @pytest.mark.aem_strict("warnings")
        def test_marker(aem_mock):
            assert call(aem_mock, "/history?size=5")[0] == 200

        def test_option(aem_mock):
            aem_mock.strict = "warnings"
            assert call(aem_mock, "/history")[0] == 200   # no warning: passes
            assert len(aem_mock.warnings) == 0
        """
    )
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_marker*",
            "*sent what the documented contract does not promise (1 warning in 1 request):",
            "*1. GET /bin/guides/v1/assets/process/history?size=5 -> 200",
            "*query:size: `size` is not a parameter of *: an author ignores it",
            "*the contract has: no parameters",
            "*@pytest.mark.aem_strict(True)*",
        ]
    )


def test_a_strictness_that_is_no_strictness_is_refused(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest

        @pytest.mark.aem_strict("warning")
        def test_typo(aem_mock):
            pass
        """
    )
    result = suite.runpytest("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*aem_strict('warning'): give True, False or \"warnings\"*"])


@pytest.mark.parametrize(
    ("how", "args"),
    [
        ("@pytest.mark.aem_strict(False)", ()),
        ("", ("--aem-no-strict",)),
    ],
)
def test_strict_mode_can_be_switched_off(suite: pytest.Pytester, how: str, args: tuple[str, ...]) -> None:
    suite.makepyfile(
        f"""
        import pytest
        from client import call

        {how}
        def test_error_handling(aem_mock):
            status, _ = call(aem_mock, "/logs?processingId=x&offset=-1")
            assert status == 400
            assert aem_mock.violations[0].request_violations[0].where == "query:offset"
        """
    )
    suite.runpytest("-p", "no:cacheprovider", *args).assert_outcomes(passed=1)


def test_strict_can_be_switched_off_inside_the_test(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        from client import call

        def test_error_handling(aem_mock):
            aem_mock.strict = False
            assert call(aem_mock, "/status")[0] == 400
        """
    )
    suite.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_each_test_starts_from_a_reset_server_with_its_own_scenario(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest
        from client import call, system_status

        def test_one(aem_mock):
            call(aem_mock, "", {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"})
            aem_mock.advance(60)
            assert len(aem_mock.jobs) == 1

        @pytest.mark.aem_scenario("database-backend")
        def test_two(aem_mock):
            assert aem_mock.jobs == [] and aem_mock.journal == []
            assert system_status(aem_mock)["isDatabase"] is True

        @pytest.mark.aem_scenario(history_size=1)
        def test_three(aem_mock):
            for path in ("/content/dam/22858", "/content/dam/demo1"):
                call(aem_mock, "", {"path": path, "type": "ASSET_PROCESSING"})
            assert len(call(aem_mock, "/history")[1]["executionHistory"]) == 1

        def test_four(aem_mock):
            assert system_status(aem_mock)["isDatabase"] is False
            assert aem_mock.server.mock.settings.history_size == 20
        """
    )
    suite.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=4)


def test_the_factory_starts_separate_servers(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        from client import call

        def test_two_servers(aem_mock_factory):
            slow = aem_mock_factory("cancel-and-resume")
            fast = aem_mock_factory(speed=10)
            assert slow.url != fast.url
            for mock in (slow, fast):
                call(mock, "", {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"})
                mock.advance(1.3)
            assert fast.jobs[0]["status"] == "SUCCESS" and slow.jobs[0]["status"] == "IN_PROGRESS"
        """
    )
    suite.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_session_scenario_comes_from_the_command_line(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        def test_scenario(aem_mock):
            assert aem_mock.server.mock.scenario.name == "fail-midway"
        """
    )
    suite.runpytest("-p", "no:cacheprovider", "--aem-scenario", "fail-midway").assert_outcomes(passed=1)


def test_the_options_are_documented_in_help(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--help")
    result.stdout.fnmatch_lines(["*--aem-scenario=NAME|PATH*", "*--aem-no-strict*"])


def test_a_misspelt_marker_keyword_is_named_with_a_fix(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        """
        import pytest

        @pytest.mark.aem_scenario("fail-midway", per_aset_ms=50)
        def test_typo(aem_mock):
            pass
        """
    )
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    named = "'per_aset_ms' is not a setting (the aem_scenario marker) (did you mean per_asset_ms?)"
    result.stdout.fnmatch_lines([f"*SettingError: {named}*"])


def test_a_marker_takes_a_settings_scenario_key_too(suite: pytest.Pytester) -> None:
    """``per_asset="50ms"`` as a scenario writes it, beside ``per_asset_ms=50``."""
    suite.makepyfile(
        """
        import pytest
        from client import call, system_status

        @pytest.mark.aem_scenario(backend="database", per_asset="50ms", counting="0s")
        def test_yaml_spelling(aem_mock):
            assert system_status(aem_mock)["isDatabase"] is True
            call(aem_mock, "", {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"})
            aem_mock.advance(0.049)
            assert aem_mock.jobs[0]["triggeredCount"] == 0
            aem_mock.advance(0.001)
            assert aem_mock.jobs[0]["triggeredCount"] == 1
        """
    )
    suite.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_environment_reaches_the_fixture(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEM_GUIDES_MOCK_HISTORY_SIZE", "1")
    suite.makepyfile(
        """
        from client import call

        def test_history_of_one(aem_mock):
            for path in ("/content/dam/22858", "/content/dam/demo1"):
                call(aem_mock, "", {"path": path, "type": "ASSET_PROCESSING"})
            status, body = call(aem_mock, "/history")
            assert len(body["executionHistory"]) == 1
        """
    )
    suite.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_test_that_fails_on_varied_answers_names_the_variations(suite: pytest.Pytester) -> None:
    """``aem_scenario(vary=SEED)``: a brittle client's failure report lists what was varied."""
    suite.makepyfile(
        """
        import uuid
        import pytest
        from client import call

        @pytest.mark.aem_scenario(vary=3)
        def test_brittle(aem_mock):
            status, body = call(aem_mock, "", {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"})
            assert aem_mock.vary == 3
            uuid.UUID(body["processingId"])  # the contract says a string, not a UUID

        def test_passing(aem_mock):
            call(aem_mock, "", {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"})
            assert aem_mock.vary is None
        """
    )
    result = suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- aem-guides-mock vary -*",
            "The mock varied its answers within the contract (vary=3); the last varied answers:",
            "  1. POST /bin/guides/v1/assets/process -> 200",
            "     a processingId that is no UUID: *",
            "*@pytest.mark.aem_scenario(vary=3) repeats them exactly.",
        ]
    )
    assert result.stdout.str().count("aem-guides-mock vary") == 1  # only the failing test has it


def test_the_fixture_speaks_https_with_aem_tls_and_the_factory_with_tls_true(suite: pytest.Pytester) -> None:
    """``--aem-tls``: ``aem_mock`` serves HTTPS and hands the CA a client trusts (one that does not is
    refused); ``aem_mock_factory(tls=True)`` does the same for one server; plain HTTP has no CA."""
    suite.makepyfile(
        """
        import json, ssl, urllib.error, urllib.request

        import pytest

        def history(mock, context):
            request = urllib.request.Request(mock.base_url + "/history", headers=mock.headers)
            with urllib.request.urlopen(request, context=context) as response:
                return response.status, json.load(response)

        def test_session_server(aem_mock):
            assert aem_mock.url.startswith("https://") and aem_mock.ca_path.is_file()
            trusting = ssl.create_default_context(cafile=str(aem_mock.ca_path))
            assert history(aem_mock, trusting) == (200, {"executionHistory": []})
            with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
                history(aem_mock, ssl.create_default_context())

        def test_factory(aem_mock_factory):
            secure, plain = aem_mock_factory(tls=True), aem_mock_factory()
            assert history(secure, ssl.create_default_context(cafile=str(secure.ca_path)))[0] == 200
            assert plain.url.startswith("http://") and plain.ca_path is None
        """
    )
    suite.runpytest("-p", "no:cacheprovider", "--aem-tls").assert_outcomes(passed=2)
